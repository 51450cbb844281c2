"""EEG classification on real data shipped with the package (``python -m geomlayers.eeg_demo``).

PhysioNet EEGMMIDB subject S001, motor imagery, 22 sensorimotor channels, 8-30 Hz OAS covariances
(:func:`geomlayers.data.eeg.load_bundled`; no data folder needed). For each task, 5-fold
stratified cross-validation of :class:`~geomlayers.integrations.sklearn.SPDNetClassifier` with its
default settings against pyRiemann's minimum distance to mean (MDM), Fisher-geodesic MDM (FgMDM)
and tangent space + logistic regression (TS+LR).  Every number printed is computed in this run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

TASKS = {"imagery_hands_feet": "both fists vs both feet",
         "imagery_left_right": "left fist vs right fist"}


def _pipelines(seed: int, bn_metric: str | None) -> dict:
    from pyriemann.classification import MDM, FgMDM
    from pyriemann.tangentspace import TangentSpace
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from geomlayers.integrations.sklearn import SPDNetClassifier

    name = "SPDNet" if bn_metric is None else f"SPDNet+{bn_metric.upper()}-BN"
    return {
        name: SPDNetClassifier(bn_metric=bn_metric, random_state=seed),
        "MDM (pyRiemann)": MDM(),
        "FgMDM (pyRiemann)": FgMDM(),
        "TS+LR (pyRiemann)": make_pipeline(TangentSpace(), LogisticRegression()),
    }


def run(tasks=tuple(TASKS), *, seed: int = 0, bn_metric: str | None = None,
        folds: int = 5) -> dict:
    """Cross-validated accuracy per task and pipeline; prints a table and returns the scores."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from geomlayers.data.eeg import load_bundled

    results = {}
    for task in tasks:
        x, y = load_bundled(task)
        print(f"\n{task} ({TASKS[task]}): {x.shape[0]} trials, {x.shape[1]}x{x.shape[2]} "
              f"covariances, classes {np.bincount(y).tolist()}")
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        for name, estimator in _pipelines(seed, bn_metric).items():
            start = time.perf_counter()
            scores = cross_val_score(estimator, x, y, cv=cv)
            results[(task, name)] = scores
            print(f"  {name:<22} accuracy {scores.mean():.3f} ± {scores.std():.3f}  "
                  f"({time.perf_counter() - start:.1f} s for {folds} folds)")
    return results


def main(argv=None) -> None:
    """Command-line entry: ``python -m geomlayers.eeg_demo [--bn-metric gbw] [--seed 0]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bn-metric", choices=["none", "aim", "bw", "gbw"], default="none")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task", choices=[*TASKS, "all"], default="all")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # small matrices: threads only add overhead
    print("EEG demo: PhysioNet EEGMMIDB S001 imagery, covariances bundled with geomlayers")
    tasks = tuple(TASKS) if args.task == "all" else (args.task,)
    start = time.perf_counter()
    run(tasks, seed=args.seed, bn_metric=None if args.bn_metric == "none" else args.bn_metric)
    print(f"\ntotal {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
