"""Experiment configs: the typed schema, strict reading, validation (see schema.py)."""
