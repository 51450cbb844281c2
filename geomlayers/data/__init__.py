"""Loaders for the real data in ``../shared/data`` and synthetic / surrogate tasks."""
