"""EEG classification: SPDNetClassifier (BN None / AIM / BW / GBW), Grassmann nets, pyRiemann.

Run: .venv/bin/python benchmarks/bench_eeg.py [--subjects 1 2 ...] -> benchmarks/results/eeg.md
(one thread; per-fit records are appended to benchmarks/results/eeg.jsonl as they finish, and
``--render`` rebuilds the table from that file).

A. MAMEM SSVEP II, 11 subjects (geomlayers.data.eeg.load_mamem). Every method is fitted on trials
   0-399 (the standard train + validation blocks; our estimators hold out a stratified 20 % of
   them for early stopping, pyRiemann's need none) and scored on trials 400-499 (the standard
   test block). Features: OAS covariances of the 8 channels, plain (8x8) and time-delay embedded
   (order 4, lag 3 samples -> 32x32; geomlayers.data.eeg.covariances(order=4, lag=3)).
   Methods, all with their default hyper-parameters and random_state=0:
   MDM and TS+LR (pyRiemann) on both feature sets; SPDNetClassifier with bn_metric None, "aim",
   "bw", "gbw" and GrassmannClassifier (q=4 principal subspace; GrNet head "linear" = GrNet
   baseline, "gyro" = gyro MLR head) on the 32x32 features.
B. EEGMMIDB S001 imagery (left vs right fist, runs 4/8/12, 45 trials; and both fists vs both feet,
   runs 6/10/14), 22 sensorimotor channels, 8-30 Hz, 0.5-2.5 s, OAS; stratified 5-fold CV
   (shuffled, seed 0), the same methods on the 22x22 covariances.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from _machine import provenance  # sibling module of this script
from pyriemann.classification import MDM
from pyriemann.tangentspace import TangentSpace
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline

from geomlayers.data.eeg import (
    MAMEM_FREQUENCIES,
    MAMEM_SFREQ,
    MAMEM_SUBJECTS,
    MOTOR_CHANNELS,
    covariances,
    load_eegmmidb_epochs,
    load_mamem,
)
from geomlayers.integrations.sklearn import (
    ConvSPDNetClassifier,
    GrassmannClassifier,
    SPDNetClassifier,
)

RESULTS = Path(__file__).parent / "results"
LOG = RESULTS / "eeg.jsonl"
COMMAND = ".venv/bin/python benchmarks/bench_eeg.py"


class SSVEPCanonicalCorrelation:
    """Training-free SSVEP baseline (Lin et al. 2006): the class whose sin/cos references
    (``harmonics`` multiples of its flicker frequency) have the largest first canonical
    correlation with the trial's channels. ``fit`` only records the classes."""

    def __init__(self, frequencies=MAMEM_FREQUENCIES, sfreq=MAMEM_SFREQ, harmonics=3):
        self.frequencies, self.sfreq, self.harmonics = frequencies, sfreq, harmonics

    def fit(self, x, y, **_):
        self.classes_ = np.unique(y)
        return self

    def _references(self, n_times):
        t = np.arange(n_times) / self.sfreq
        phases = [2 * np.pi * k * f * t for f in self.frequencies
                  for k in range(1, self.harmonics + 1)]
        refs = np.stack([np.concatenate([np.sin(p), np.cos(p)]) for p in phases])
        return refs.reshape(len(self.frequencies), 2 * self.harmonics, n_times)

    def predict(self, x):
        refs = self._references(x.shape[-1])
        bases = [np.linalg.qr((r - r.mean(1, keepdims=True)).T)[0] for r in refs]
        pred = []
        for trial in x:
            q, _ = np.linalg.qr((trial - trial.mean(1, keepdims=True)).T)
            pred.append(np.argmax([np.linalg.norm(q.T @ b, 2) for b in bases]))
        return self.classes_[np.array(pred)]

    def score(self, x, y):
        return float(np.mean(self.predict(x) == y))


class AdaptedToTestSession:
    """Fit a network, then score it after ``adapt(X_test)``: its SPD batch-norm statistics are
    re-estimated on the unlabelled test trials (a later session) before predicting.

    Transductive (Kobler et al. 2022's domain-specific BN): it reads the test trials, never
    their labels; the weights are those of the wrapped estimator fitted as usual.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, x, y, **fit_params):
        self.estimator.fit(x, y, **fit_params)
        return self

    def score(self, x, y):
        return self.estimator.adapt(x).score(x, y)

    @property
    def n_epochs_(self):
        return self.estimator.n_epochs_


# MAtt's windows, attention and training (Pan et al. 2022, CECNL/MAtt), on ConvSPDNet
MATT_RECIPE = {"segments": 7, "attention_dim": 12, "dims": (12,), "normalize_trace": True,
               "lr": 5e-3, "weight_decay": 0.1, "batch_size": 64}
FULL_180_EPOCHS = {"max_epochs": 180, "patience": 180}  # MAtt: best validation loss of 180


def methods(seed=0, q=4):
    """name -> (feature key, estimator factory)."""
    return {
        "CCA (training-free)": ("references", SSVEPCanonicalCorrelation),
        "MDM (8x8)": ("plain", MDM),
        "TS+LR (8x8)": ("plain", lambda: make_pipeline(TangentSpace(),
                                                       LogisticRegression(max_iter=1000))),
        "MDM": ("delay", MDM),
        "TS+LR": ("delay", lambda: make_pipeline(TangentSpace(),
                                                 LogisticRegression(max_iter=1000))),
        "SPDNet": ("delay", lambda: SPDNetClassifier(random_state=seed)),
        "SPDNet + AIM-BN": ("delay", lambda: SPDNetClassifier(bn_metric="aim",
                                                              random_state=seed)),
        "SPDNet + BW-BN": ("delay", lambda: SPDNetClassifier(bn_metric="bw", random_state=seed)),
        "SPDNet + GBW-BN": ("delay", lambda: SPDNetClassifier(bn_metric="gbw",
                                                              random_state=seed)),
        "GrNet (linear head)": ("delay", lambda: GrassmannClassifier(q=q, head="linear",
                                                                    random_state=seed)),
        "GrNet + gyro MLR": ("delay", lambda: GrassmannClassifier(q=q, head="gyro",
                                                                 random_state=seed)),
        **{f"ConvSPDNet{label}": ("raw", lambda metric=metric: ConvSPDNetClassifier(
            bn_metric=metric, random_state=seed))
           for label, metric in ((" (no BN)", None), (" + AIM-BN", "aim"),
                                 (" + BW-BN", "bw"), (" + GBW-BN", "gbw"))},
        "ConvSPDNet + GBW-BN + attention (7 windows)": ("raw", lambda: ConvSPDNetClassifier(
            segments=7, attention_dim=12, dims=(12,), random_state=seed)),
        "ConvSPDNet + GBW-BN + attention, MAtt recipe": ("raw", lambda: ConvSPDNetClassifier(
            **MATT_RECIPE, random_state=seed)),
        "ConvSPDNet + GBW-BN + attention, MAtt recipe, 180 epochs": ("raw", lambda: (
            ConvSPDNetClassifier(**MATT_RECIPE, **FULL_180_EPOCHS, random_state=seed))),
        "ConvSPDNet (no BN) + attention, MAtt recipe, 180 epochs": ("raw", lambda: (
            ConvSPDNetClassifier(bn_metric=None, **MATT_RECIPE, **FULL_180_EPOCHS,
                                 random_state=seed))),
        "ConvSPDNet + GBW-BN + attention, MAtt recipe, 180 epochs, padding 18": ("raw", lambda: (
            ConvSPDNetClassifier(temporal_padding=18, **MATT_RECIPE, **FULL_180_EPOCHS,
                                 random_state=seed))),
        "ConvSPDNet + GBW-BN + attention, MAtt recipe, 180 epochs, checkpoint ensemble of 20": (
            "raw", lambda: ConvSPDNetClassifier(**MATT_RECIPE, **FULL_180_EPOCHS,
                                                checkpoint_ensemble=20, random_state=seed)),
        "ConvSPDNet (no BN) + attention, MAtt recipe, 180 epochs, checkpoint ensemble of 20": (
            "raw", lambda: ConvSPDNetClassifier(bn_metric=None, **MATT_RECIPE, **FULL_180_EPOCHS,
                                                checkpoint_ensemble=20, random_state=seed)),
        "ConvSPDNet + GBW-BN + attention, MAtt recipe, 180 epochs, BN adapted to the test "
        "session (transductive)": ("raw", lambda: AdaptedToTestSession(
            ConvSPDNetClassifier(**MATT_RECIPE, **FULL_180_EPOCHS, random_state=seed))),
    }


FEATURES = {"plain": "8x8 OAS", "delay": "32x32 delay-embedded OAS",
            "raw": "raw signals, learned filters → 15x15 covariance",
            "references": "raw signals vs sin/cos references (3 harmonics)"}


def record(entry):
    with open(LOG, "a") as handle:
        handle.write(json.dumps(entry) + "\n")
    print(entry, flush=True)


def timed_fit_score(factory, xtr, ytr, xte, yte, **fit_params):
    start = time.perf_counter()
    est = factory().fit(xtr, ytr, **fit_params)
    fit = time.perf_counter() - start
    return float(est.score(xte, yte)), fit, getattr(est, "n_epochs_", None)


def run_mamem(subjects, names, seed=0):
    for subject in subjects:
        x, y = load_mamem(subject)
        feats = {"plain": covariances(x, "oas"), "delay": covariances(x, "oas", order=4, lag=3),
                 "references": x}
        for name, (key, factory) in methods(seed=seed).items():
            if name not in names:
                continue
            if key == "raw":  # the standard split: train 0-299, early stopping on 300-399
                acc, fit, epochs = timed_fit_score(factory, x[:300], y[:300], x[400:], y[400:],
                                                   X_val=x[300:400], y_val=y[300:400])
            else:
                f = feats[key]
                acc, fit, epochs = timed_fit_score(factory, f[:400], y[:400], f[400:], y[400:])
            record({"part": "mamem", "subject": subject, "method": name, "accuracy": acc,
                    "fit_s": fit, "epochs": epochs, "seed": seed})


def run_eegmmidb(names):
    for task in ("imagery_left_right", "imagery_hands_feet"):
        x, y = load_eegmmidb_epochs(1, task, channels=MOTOR_CHANNELS)
        feats = {"delay": covariances(x * 1e6, "oas"), "raw": x}
        cv = StratifiedKFold(5, shuffle=True, random_state=0)
        for name, (key, factory) in methods(q=4).items():
            if key in ("plain", "references") or name not in names:
                continue  # references: MAMEM's flicker frequencies only
            f = feats[key]
            for fold, (tr, te) in enumerate(cv.split(f, y)):
                acc, fit, epochs = timed_fit_score(factory, f[tr], y[tr], f[te], y[te])
                record({"part": task, "fold": fold, "method": name, "accuracy": acc,
                        "fit_s": fit, "epochs": epochs})


# --------------------------------------------------------------------------------------------
# Covariance benchmarks: every fixed-covariance data set, pyRiemann vs our estimators, 3 seeds
# --------------------------------------------------------------------------------------------
COV_SETS = {  # key -> (title, protocol)
    "mamem8": ("MAMEM SSVEP II, 8x8 OAS", "11 subjects, fit 0-399, test 400-499"),
    "mamem32": ("MAMEM SSVEP II, 32x32 delay-embedded OAS", "11 subjects, fit 0-399, test 400-499"),
    "lr22": ("EEGMMIDB S001 left/right fist, 22 channels", "5-fold CV"),
    "lr64": ("EEGMMIDB S001 left/right fist, 64 channels", "5-fold CV"),
    "ff22": ("EEGMMIDB S001 fists/feet, 22 channels", "5-fold CV"),
    "ff64": ("EEGMMIDB S001 fists/feet, 64 channels", "5-fold CV"),
}
DEFAULT = "SPDNetClassifier() (default)"
COV_RESULTS = RESULTS / "eeg_covariances.json"


def cov_methods():
    """name -> factory(seed, d) for the covariance benchmarks (d: matrix size)."""
    from pyriemann.classification import FgMDM

    default_bn = SPDNetClassifier().bn_metric
    return {
        "MDM": lambda seed, d: MDM(),
        "FgMDM": lambda seed, d: FgMDM(),
        "TS+LR": lambda seed, d: make_pipeline(TangentSpace(), LogisticRegression(max_iter=1000)),
        DEFAULT: lambda seed, d: SPDNetClassifier(random_state=seed),
        **{f"SPDNetClassifier(bn_metric={m!r})": (
            lambda seed, d, m=m: SPDNetClassifier(bn_metric=m, random_state=seed))
           for m in (None, "aim", "lem", "bw", "gbw") if m != default_bn},
        "SPDNet, random init, BiMap d → d/2 → d/4 (previous default)": lambda seed, d: (
            SPDNetClassifier(dims=SPDNetClassifier.default_dims(d), head_init=None, refit=False,
                             random_state=seed)),
        "GrassmannClassifier() (default, linear head)": lambda seed, d: GrassmannClassifier(
            random_state=seed),
    }


def cov_splits(key):
    """(train X, train y, test X, test y, split id) for one data set."""
    if key.startswith("mamem"):
        for subject in MAMEM_SUBJECTS:
            x, y = load_mamem(subject)
            f = covariances(x, "oas") if key == "mamem8" else covariances(x, "oas", order=4,
                                                                          lag=3)
            yield f[:400], y[:400], f[400:], y[400:], subject
        return
    task = "imagery_left_right" if key.startswith("lr") else "imagery_hands_feet"
    x, y = load_eegmmidb_epochs(1, task, channels=MOTOR_CHANNELS if key.endswith("22") else None)
    f = covariances(x * 1e6, "oas")
    for fold, (tr, te) in enumerate(StratifiedKFold(5, shuffle=True, random_state=0).split(f, y)):
        yield f[tr], y[tr], f[te], y[te], fold


def run_covariances(keys, names, seeds):
    """Append one record per (data set, method, seed, split) to the log."""
    import warnings

    factories = cov_methods()
    for key in keys:
        for xtr, ytr, xte, yte, split in cov_splits(key):
            for name in names:
                for seed in (seeds if name not in ("MDM", "FgMDM", "TS+LR") else seeds[:1]):
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always", RuntimeWarning)
                        acc, fit, epochs = timed_fit_score(
                            lambda n=name, s=seed, d=xtr.shape[1]: factories[n](s, d),
                            xtr, ytr, xte, yte)
                    record({"part": f"cov:{key}", "split": split, "method": name, "seed": seed,
                            "accuracy": acc, "fit_s": fit, "epochs": epochs,
                            "warnings": [str(w.message)[:200] for w in caught]})


def render_covariances(rows):
    """Markdown lines of the covariance table and the JSON summary.

    A seed that covers fewer splits than another seed of the same method (an interrupted run)
    is left out; every method is then scored on the splits that all remaining runs of that
    data set cover (all of them once the runs are complete; the table says when not).  A
    repeated (data set, method, seed, split) keeps its first record.
    """
    unique = {}
    for r in rows:
        unique.setdefault((r["part"], r["method"], r["seed"], r["split"]), r)
    cover = {}
    for part, method, seed, split in unique:
        cover.setdefault((part, method, seed), set()).add(split)
    keep = {k for k, v in cover.items()
            if len(v) == max(len(w) for j, w in cover.items() if j[:2] == k[:2])}
    common, total = {}, {}
    for part in {k[0] for k in cover}:
        sets = [cover[k] for k in keep if k[0] == part]
        common[part] = set.intersection(*sets)
        total[part] = len(set.union(*sets))
    rows = [r for k, r in unique.items() if k[:3] in keep and k[3] in common[k[0]]]
    partial = {part.split(":")[1]: (len(common[part]), total[part]) for part in common
               if len(common[part]) < total[part]}
    names = [n for n in cov_methods() if any(r["method"] == n for r in rows)]
    keys = [k for k in COV_SETS if any(r["part"] == f"cov:{k}" for r in rows)]
    summary = {}
    for key in keys:
        for name in names:
            sel = [r for r in rows if r["part"] == f"cov:{key}" and r["method"] == name]
            if not sel:
                continue
            seeds = sorted({r["seed"] for r in sel})
            per_seed = [100 * np.mean([r["accuracy"] for r in sel if r["seed"] == s])
                        for s in seeds]
            summary.setdefault(key, {})[name] = {
                "accuracy_mean": float(np.mean(per_seed)), "accuracy_std_over_seeds":
                float(np.std(per_seed)), "per_seed": per_seed, "seeds": seeds,
                "fit_s_mean": float(np.mean([r["fit_s"] for r in sel])),
                "splits": sorted({r["split"] for r in sel}), "protocol": COV_SETS[key][1]}
    COV_RESULTS.write_text(json.dumps(summary, indent=1))
    lines = ["### Covariance benchmarks: accuracy (%) mean ± std over seeds (number of seeds; "
             "pyRiemann's methods are deterministic: 1), fit time per split (s)", "",
             "Same covariances and splits for every method. " + "; ".join(
                 f"{COV_SETS[k][0]}: {COV_SETS[k][1]}" for k in keys) + ".", "",
             "| method | " + " | ".join(COV_SETS[k][0] + (
                 f" ({partial[k][0]} of {partial[k][1]} splits: those every run completed)"
                 if k in partial else "") for k in keys) + " |",
             "|---|" + "---|" * len(keys)]
    for name in names:
        cells = []
        for key in keys:
            entry = summary.get(key, {}).get(name)
            best = max(summary[key][b]["accuracy_mean"] for b in ("MDM", "FgMDM", "TS+LR")
                       if b in summary[key])
            if entry is None:
                cells.append("–")
                continue
            mark = " ✓" if name == DEFAULT and entry["accuracy_mean"] >= best - 1e-9 else (
                " ✗" if name == DEFAULT else "")
            cells.append(f"{entry['accuracy_mean']:.1f} ± {entry['accuracy_std_over_seeds']:.1f}"
                         f" ({len(entry['seeds'])}; {entry['fit_s_mean']:.1f} s){mark}")
        lines.append(f"| {'**' + name + '**' if name == DEFAULT else name} | "
                     + " | ".join(cells) + " |")
    lines += ["", "✓ / ✗: the default network at least / below the best of MDM, FgMDM and "
              "TS+LR on that data set.", ""]
    key_rows = [line.strip("|").split(" | ") for line in lines[6:-3]
                if line.split(" | ")[0].strip("| *") in ("MDM", "FgMDM", "TS+LR", DEFAULT)]
    _update_results_json(lines[4], key_rows, lines[0].lstrip("# ")
                         + "; other networks in eeg.md")
    return lines


def _update_results_json(header, rows, title):
    """Put the covariance table first in ``results/eeg.json`` (read by make_results.py)."""
    path = RESULTS / "eeg.json"
    if not path.is_file():
        return
    doc = json.loads(path.read_text())
    tables = [t for t in doc["tables"] if not t.get("title", "").startswith("Covariance")]
    columns = [c.strip() for c in header.strip("|").split(" | ")]
    doc["tables"] = [{"title": title, "columns": columns,
                      "rows": [[c.strip() for c in row] for row in rows]}, *tables]
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


ANCHORS = [
    ("SPDNet (MAtt paper, NeurIPS 2022, Table 2)", "62.30 ± 3.12"),
    ("GrNet (same table)", "61.23 ± 3.56"),
    ("MAtt (same table)", "65.19 ± 3.14"),
    ("EEGNet (same table)", "53.72 ± 7.23"),
    ("MDM, OAS 8x8, train 0-299 (pyRiemann 0.11, measured)", "23.8 ± 7.6"),
    ("TS+LR, OAS 8x8, train 0-299 (pyRiemann 0.11, measured)", "26.1 ± 6.1"),
    ("target for the GBW-BN network", "≥ 65"),
]


#: the hand-written reading of these results: a dated lab note
NOTES = "docs/notes/2026-12-07-eeg-benchmark.md"


def render():
    rows = [json.loads(line) for line in LOG.read_text().splitlines() if line.strip()]
    names = list(methods())
    lines = ["## EEG classification (MAMEM SSVEP II; EEGMMIDB S001 imagery)", "",
             provenance(COMMAND) + " One thread (`torch.set_num_threads(1)`), random_state 0, "
             "default hyper-parameters; protocol in the script's docstring.", ""]
    lines += render_covariances([r for r in rows if r["part"].startswith("cov:")])
    lines += ["### Earlier runs (2026-12-04): raw-signal networks and the previous defaults", "",
              "The SPDNet / GrNet rows below are the estimators' previous defaults (random "
              "initialisation, BiMap reduction, gyro GrNet head); the covariance table above "
              "supersedes them.", ""]
    mamem = [r for r in rows if r["part"] == "mamem"]
    subjects = sorted({r["subject"] for r in mamem})
    lines += [f"### MAMEM SSVEP II: test accuracy (%) on trials 400-499, {len(subjects)} "
              f"subjects ({', '.join(map(str, subjects))}), fitted on trials 0-399", "",
              "| method | features | accuracy mean ± std over subjects | min / max | "
              "fit time per subject (s) | epochs |", "|---|---|---|---|---|---|"]
    for name in names:
        sel = [r for r in mamem if r["method"] == name]
        if not sel:
            continue
        acc = 100 * np.array([np.mean([r["accuracy"] for r in sel if r["subject"] == s])
                              for s in sorted({r["subject"] for r in sel})])
        fit = np.array([r["fit_s"] for r in sel])
        ep = [r["epochs"] for r in sel if r["epochs"] is not None]
        seeds = sorted({r.get("seed", 0) for r in sel})
        per_seed = [100 * np.mean([r["accuracy"] for r in sel if r.get("seed", 0) == seed])
                    for seed in seeds]
        feat = FEATURES[methods()[name][0]] + (
            f"; {len(seeds)} seeds, subject means per seed "
            f"{' / '.join(f'{v:.1f}' for v in per_seed)}" if len(seeds) > 1 else "")
        lines.append(f"| {name} | {feat} | {acc.mean():.1f} ± {acc.std():.1f} | "
                     f"{acc.min():.0f} / {acc.max():.0f} | {fit.mean():.1f} | "
                     f"{np.mean(ep):.0f} |" if ep else
                     f"| {name} | {feat} | {acc.mean():.1f} ± {acc.std():.1f} | "
                     f"{acc.min():.0f} / {acc.max():.0f} | {fit.mean():.2f} | – |")
    lines += ["", "Published / earlier anchors on the same split (%):", "",
              "| source | accuracy |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in ANCHORS]
    if subjects:
        lines += ["", "Per subject (%):", "",
                  "| method | " + " | ".join(f"U{s:03d}" for s in subjects) + " |",
                  "|---|" + "---|" * len(subjects)]
        for name in names:
            cells = []
            for s in subjects:
                hit = [r["accuracy"] for r in mamem if r["method"] == name and r["subject"] == s]
                cells.append(f"{100 * np.mean(hit):.0f}" if hit else "–")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for task, title in (("imagery_left_right", "left vs right fist"),
                        ("imagery_hands_feet", "both fists vs both feet")):
        sel_task = [r for r in rows if r["part"] == task]
        if not sel_task:
            continue
        lines += ["", f"### EEGMMIDB S001 imagery, {title}: 5-fold CV accuracy (%), 45 trials, "
                  "22x22 OAS covariances (ConvSPDNet: the raw 22-channel epochs)", "",
                  "| method | accuracy mean ± std over folds | fit time per fold (s) |",
                  "|---|---|---|"]
        for name in names:
            sel = [r for r in sel_task if r["method"] == name]
            if sel:
                acc = 100 * np.array([r["accuracy"] for r in sel])
                fit = np.mean([r["fit_s"] for r in sel])
                lines.append(f"| {name} | {acc.mean():.1f} ± {acc.std():.1f} | {fit:.2f} |")
    lines += ["", f"Reading: [{NOTES}](../../{NOTES}) (hand-written notes on these runs)."]
    out = RESULTS / "eeg.md"
    out.write_text("\n".join(lines))
    print(out.read_text())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, nargs="*", default=list(MAMEM_SUBJECTS))
    parser.add_argument("--skip-eegmmidb", action="store_true")
    parser.add_argument("--render", action="store_true", help="only rebuild eeg.md from the log")
    parser.add_argument("--keep-log", action="store_true", help="append to the existing log")
    parser.add_argument("--seed", type=int, default=0, help="random_state of the networks")
    parser.add_argument("--methods", nargs="*", default=list(methods()),
                        help="run only these methods (names as in the tables)")
    parser.add_argument("--covariances", nargs="*", default=None, choices=list(COV_SETS),
                        help="run the covariance benchmarks on these data sets (all if empty)")
    parser.add_argument("--cov-methods", nargs="*", default=None,
                        help="covariance-benchmark methods (default: all)")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2],
                        help="random_state of the networks in the covariance benchmarks")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.covariances is not None:
        run_covariances(args.covariances or list(COV_SETS),
                        args.cov_methods or list(cov_methods()), args.seeds)
    elif not args.render:
        if not args.keep_log:
            LOG.unlink(missing_ok=True)
        if not args.skip_eegmmidb:
            run_eegmmidb(args.methods)
        run_mamem(args.subjects, args.methods, args.seed)
    render()


if __name__ == "__main__":
    main()
