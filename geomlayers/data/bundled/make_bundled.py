"""Rebuild eegmmidb_s001_imagery.npz from the verified EDF files in ``data_dir()/eeg``.

Run: python -m geomlayers.data.bundled.make_bundled
"""

from pathlib import Path

import numpy as np

from geomlayers.data.eeg import MOTOR_CHANNELS, covariances, load_eegmmidb_epochs


def main() -> None:
    """Write the bundled archive beside this script (checksums verified on the way)."""
    arrays = {}
    for task in ("imagery_hands_feet", "imagery_left_right"):
        x, y = load_eegmmidb_epochs(1, task, channels=MOTOR_CHANNELS)
        arrays[f"{task}_cov"] = covariances(x * 1e6, "oas")  # volts -> microvolts
        arrays[f"{task}_y"] = y.astype(np.int8)
    arrays["channels"] = np.array(MOTOR_CHANNELS)
    out = Path(__file__).parent / "eegmmidb_s001_imagery.npz"
    np.savez_compressed(out, **arrays)
    print(out, out.stat().st_size, "bytes", {k: v.shape for k, v in arrays.items()})


if __name__ == "__main__":
    main()
