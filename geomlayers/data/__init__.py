"""Data sets: loaders for the real data in ``../shared/data`` and synthetic tasks."""
