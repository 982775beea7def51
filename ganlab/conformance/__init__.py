"""Conformance: the contract checks of ``ganlab check-plugin``, per kind, their runner, and the
pytest plugin that runs them in a plugin author's own suite."""
