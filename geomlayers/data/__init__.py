"""Loaders for the real data sets in the shared data folder (``geomlayers.data_dir``)."""
