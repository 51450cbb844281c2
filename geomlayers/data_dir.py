"""The one setting that locates the real data sets; see :mod:`geomlayers.paths`."""

from __future__ import annotations

from geomlayers.paths import data_dir

__all__ = ["data_dir"]
