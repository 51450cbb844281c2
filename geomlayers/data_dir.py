"""The one setting that locates the real data sets (``../shared/data`` in this project)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir"]


def data_dir() -> Path:
    """``$GEOMLAYERS_DATA_DIR`` if set, else ``shared/data`` beside the repository checkout."""
    override = os.environ.get("GEOMLAYERS_DATA_DIR")
    if override:
        return Path(override).expanduser()
    return Path(__file__).resolve().parents[2] / "shared" / "data"
