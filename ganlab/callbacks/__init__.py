"""Keras callbacks, one concern per module; ``defaults.default_callbacks`` builds a run's list
in its one order."""
