"""SPDNet on real EEG covariances bundled with geomlayers, beside pyRiemann's MDM.

Run: python examples/spd_eeg.py [--epochs 100] [--folds 5]   (defaults: a ~10 s smoke run)

PhysioNet EEGMMIDB subject S001, motor imagery "both fists vs both feet": 45 trials, 22x22
covariances (:func:`geomlayers.data.eeg.load_bundled`, no data folder needed). Stratified
cross-validation of :class:`geomlayers.integrations.sklearn.SPDNetClassifier` (BiMap → ReEig →
LogEig → linear, Huang & Van Gool 2017) and of pyRiemann's minimum distance to mean. The full
comparison (both tasks, batch norms) is ``python -m geomlayers.eeg_demo``.
"""

import argparse
import os

import numpy as np
import torch
from pyriemann.classification import MDM
from sklearn.model_selection import StratifiedKFold, cross_val_score

from geomlayers.data.eeg import load_bundled
from geomlayers.integrations.sklearn import SPDNetClassifier


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=int(os.environ.get("SPD_EEG_EPOCHS", 30)))
    parser.add_argument("--folds", type=int, default=3)
    args, _ = parser.parse_known_args(argv)  # tolerant: the test suite runs it via runpy
    torch.set_num_threads(1)
    x, y = load_bundled("imagery_hands_feet")
    print(f"{x.shape[0]} trials of {x.shape[1]}x{x.shape[2]} covariances, "
          f"classes {np.bincount(y).tolist()}")
    cv = StratifiedKFold(args.folds, shuffle=True, random_state=0)
    spdnet = SPDNetClassifier(max_epochs=args.epochs, random_state=0)
    scores = {"SPDNet": cross_val_score(spdnet, x, y, cv=cv),
              "MDM (pyRiemann)": cross_val_score(MDM(), x, y, cv=cv)}
    for name, s in scores.items():
        print(f"  {name:<16} accuracy {s.mean():.3f} ± {s.std():.3f} ({args.folds} folds)")
    chance = np.bincount(y).max() / len(y)
    assert scores["SPDNet"].mean() > chance, f"SPDNet at or below chance ({chance:.2f})"


if __name__ == "__main__":
    main()
