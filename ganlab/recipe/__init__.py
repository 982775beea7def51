"""Recipes: the schema of every ganlab-owned key, the YAML text with ``--set`` overrides,
and validation into a resolved ``Recipe`` with file and line in every message."""
