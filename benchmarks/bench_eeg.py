"""EEG classification: every covariance data set, pyRiemann against our networks, one table.

Run (one thread; resumable: each fit is appended to ``benchmarks/results/eeg.jsonl`` as it
finishes, and a fit already in that log is not repeated)::

    python benchmarks/bench_eeg.py                    # all sets, all methods, seeds 0 1 2
    python benchmarks/bench_eeg.py --quick            # lr22, key methods, seed 0 (smoke test)
    python benchmarks/bench_eeg.py --sets lr22 ff22 --methods MDM TS+LR --seeds 0
    python benchmarks/bench_eeg.py --render           # rebuild eeg.json / eeg.md from the log

Writes ``benchmarks/results/eeg.json`` (the harness's results document, read by
``make_results.py``) and ``benchmarks/results/eeg.md`` (one table per data set).

Data sets (``COV_SETS``): MAMEM SSVEP II, 11 subjects, fit on trials 0-399 and test on 400-499
(chronological), OAS covariances of the 8 channels (8x8) and time-delay embedded (order 4,
lag 3 -> 32x32); EEGMMIDB S001 imagery (left vs right fist, runs 4/8/12; both fists vs both
feet, runs 6/10/14; 45 trials each), 8-30 Hz, 0.5-2.5 s, 22 sensorimotor or all 64 channels,
OAS covariances, stratified 5-fold CV (shuffled, seed 0).  Every method sees the same
covariances and splits; ConvSPDNet sees the raw epochs of the same trials.

With 45 trials one 5-fold partition moves a method's accuracy by about ±5 points (two
trials), more than the methods differ, so the baselines and the default network are also
compared on the EEGMMIDB sets over ``REPEATS`` = 10 partitions (partition seeds 0-9, the
network's ``random_state`` = the partition's seed; ``--repeated [R]`` runs only that part).

Networks run with their default hyper-parameters and ``random_state`` = each seed;
pyRiemann's MDM, FgMDM and TS+LR are deterministic (one run).

``--legacy`` reruns the 2026-12-04 raw-signal study (MAMEM train 0-299 / validation 300-399,
ConvSPDNet recipes, GrNet heads), whose records stay in the log and in ``eeg.md``.
"""

import json
import os
import time
from pathlib import Path

import numpy as np
from _harness import parser, results_document, setup, write_results  # sibling modules
from _machine import provenance
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
COMMAND = "python benchmarks/bench_eeg.py"


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


def record(entry, log=None):
    with open(LOG if log is None else log, "a") as handle:
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
COV_SETS = {  # key -> (short title, protocol)
    "mamem8": ("MAMEM 8x8", "MAMEM SSVEP II, 8x8 OAS; 11 subjects, fit 0-399, test 400-499"),
    "mamem32": ("MAMEM 32x32", "MAMEM SSVEP II, 32x32 delay-embedded OAS; 11 subjects, fit "
                "0-399, test 400-499"),
    "lr22": ("EEGMMIDB l/r 22 ch", "EEGMMIDB S001 left/right fist, 22 channels; 5-fold CV"),
    "ff22": ("EEGMMIDB f/f 22 ch", "EEGMMIDB S001 fists/feet, 22 channels; 5-fold CV"),
    "lr64": ("EEGMMIDB l/r 64 ch", "EEGMMIDB S001 left/right fist, 64 channels; 5-fold CV"),
    "ff64": ("EEGMMIDB f/f 64 ch", "EEGMMIDB S001 fists/feet, 64 channels; 5-fold CV"),
}
DEFAULT = "SPDNetClassifier() (default)"
BASELINES = ("MDM", "FgMDM", "TS+LR")
RAW = "ConvSPDNetClassifier() (default), raw signals"
COV_RESULTS = RESULTS / "eeg_covariances.json"


def cov_methods():
    """name -> factory(seed) for the covariance benchmarks, in table order."""
    from pyriemann.classification import FgMDM

    default_bn = SPDNetClassifier().bn_metric
    return {
        "MDM": lambda seed: MDM(),
        "FgMDM": lambda seed: FgMDM(),
        "TS+LR": lambda seed: make_pipeline(TangentSpace(), LogisticRegression(max_iter=1000)),
        DEFAULT: lambda seed: SPDNetClassifier(random_state=seed),
        "SPDNetClassifier(head_init='auto')": lambda seed: SPDNetClassifier(
            head_init="auto", random_state=seed),
        **{f"SPDNetClassifier(bn_metric={m!r})": (
            lambda seed, m=m: SPDNetClassifier(bn_metric=m, random_state=seed))
           for m in (None, "aim", "lem", "bw", "gbw") if m != default_bn},
        "GrassmannClassifier() (default)": lambda seed: GrassmannClassifier(random_state=seed),
        RAW: lambda seed: ConvSPDNetClassifier(random_state=seed),
    }


KEY_METHODS = [*BASELINES, DEFAULT, "SPDNetClassifier(head_init='auto')"]


def cov_splits(key):
    """(train X, train y, test X, test y, split id, raw train X, raw test X) for one data set."""
    if key.startswith("mamem"):
        for subject in MAMEM_SUBJECTS:
            x, y = load_mamem(subject)
            f = covariances(x, "oas") if key == "mamem8" else covariances(x, "oas", order=4,
                                                                          lag=3)
            yield f[:400], y[:400], f[400:], y[400:], subject, x[:400], x[400:]
        return
    x, y, f = eegmmidb_set(key)
    for fold, (tr, te) in enumerate(StratifiedKFold(5, shuffle=True, random_state=0).split(f, y)):
        yield f[tr], y[tr], f[te], y[te], fold, x[tr], x[te]


def code_version():
    """The git commit the library is imported from, ``+dirty`` when ``geomlayers/`` has
    uncommitted changes (``None`` outside git): which code produced a log record."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                              capture_output=True, text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "geomlayers"], cwd=root,
                               capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return None
    return (head + ("+dirty" if dirty else "")) or None


def eegmmidb_set(key):
    """(raw epochs, labels, OAS covariances in µV²) of one EEGMMIDB set key (``lr22`` ...)."""
    task = "imagery_left_right" if key.startswith("lr") else "imagery_hands_feet"
    x, y = load_eegmmidb_epochs(1, task, channels=MOTOR_CHANNELS if key.endswith("22") else None)
    return x, y, covariances(x * 1e6, "oas")


#: EEGMMIDB sets have 45 trials: one 5-fold partition moves a method by ±5 points (two
#: trials), more than the differences between methods, so the headline comparison repeats
#: stratified 5-fold CV over partitions 0..REPEATS-1 (the network's seed = the partition's)
REPEATS = 10
REPEATED_SETS = ("lr22", "ff22", "lr64", "ff64")
REPEATED_METHODS = [*BASELINES, DEFAULT]


def repeated_splits(key, repeats=REPEATS):
    """(train X, train y, test X, test y, repetition, fold) over ``repeats`` partitions."""
    _, y, f = eegmmidb_set(key)
    for rep in range(repeats):
        cv = StratifiedKFold(5, shuffle=True, random_state=rep)
        for fold, (tr, te) in enumerate(cv.split(f, y)):
            yield f[tr], y[tr], f[te], y[te], rep, fold


def run_repeated(keys, names, repeats, log):
    """Append one ``rep:<set>`` record per (set, method, repetition, fold), skipping done ones."""
    factories = cov_methods()
    done = _done(log)
    code = code_version()
    for key in keys:
        for xtr, ytr, xte, yte, rep, fold in repeated_splits(key, repeats):
            for name in names:
                split = f"{rep}/{fold}"
                if (f"rep:{key}", name, rep, split) in done:
                    continue
                acc, fit, epochs = timed_fit_score(
                    lambda n=name, s=rep: factories[n](s), xtr, ytr, xte, yte)
                record({"part": f"rep:{key}", "split": split, "method": name, "seed": rep,
                        "accuracy": acc, "fit_s": fit, "epochs": epochs, "code": code}, log)


def summarise_repeated(rows):
    """{set key: {method: summary over complete repetitions}} from the ``rep:`` records."""
    unique = {}
    for r in rows:
        unique.setdefault((r["part"], r["method"], r["split"]), r)
    summary = {}
    for key in REPEATED_SETS:
        for name in REPEATED_METHODS:
            by_rep = {}
            for (part, method, split), r in unique.items():
                if part == f"rep:{key}" and method == name:
                    by_rep.setdefault(int(split.split("/")[0]), []).append(r)
            by_rep = {k: v for k, v in by_rep.items() if len(v) == 5}
            if by_rep:
                summary.setdefault(key, {})[name] = _summary_entry(
                    by_rep, COV_SETS[key][1].replace(
                        "5-fold CV", f"stratified 5-fold CV repeated over partitions 0-"
                        f"{max(by_rep)}"))
    return summary


def repeated_table(summary):
    """The headline table: baselines and the default over repeated partitions."""
    last = max(max(e["seeds"]) for entries in summary.values() for e in entries.values())
    return _all_sets_table(
        summary, REPEATED_SETS, REPEATED_METHODS,
        f"EEGMMIDB, stratified 5-fold CV repeated over partitions 0-{last} (network seed = "
        "partition): accuracy % (mean ± std over partitions (partitions)); ✓ / ✗: the default "
        "at least / below the best of MDM, FgMDM and TS+LR")


def _best_baseline(summary, keys):
    """{set key: the best baseline accuracy on it (None without baselines)}."""
    return {k: max((summary[k][b]["accuracy_mean"] for b in BASELINES if b in summary[k]),
                   default=None) for k in keys}


def _all_sets_table(summary, sets, names, title):
    """A results-document table: one row per method of ``names`` that ran, one column per set
    of ``sets`` that ran, the default marked against the best baseline, fit-time range."""
    keys = [k for k in sets if k in summary]
    best = _best_baseline(summary, keys)
    rows = []
    for name in names:
        if not any(name in summary[k] for k in keys):
            continue
        cells = [_cell(summary[k].get(name), best[k], name == DEFAULT) for k in keys]
        fits = [summary[k][name]["fit_s_mean"] for k in keys if name in summary[k]]
        rows.append([name, *cells, f"{min(fits):.1f}–{max(fits):.1f}"])
    return {"title": title,
            "columns": ["method", *[COV_SETS[k][0] for k in keys], "fit s per split"],
            "rows": rows}


def _done(log):
    """(part, method, seed, split) of every fit already in the log."""
    if not log.is_file():
        return set()
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return {(r["part"], r["method"], r["seed"], r["split"]) for r in rows
            if r["part"].startswith(("cov:", "rep:"))}


def run_covariances(keys, names, seeds, log):
    """Append one record per (data set, method, seed, split) to ``log``, skipping done ones.

    ConvSPDNet's MAMEM fits use the same raw trials for both MAMEM sets: they run once (under
    ``mamem8``) and the table shows them in both columns.  Each record carries ``code``
    (:func:`code_version`), so rows of an older library can be told apart (records before
    2026-12-08 have none).
    """
    import warnings

    factories = cov_methods()
    done = _done(log)
    code = code_version()
    for key in keys:
        todo = [n for n in names if not (n == RAW and key == "mamem32")]
        for xtr, ytr, xte, yte, split, rtr, rte in cov_splits(key):
            for name in todo:
                for seed in (seeds if name not in BASELINES else [0]):  # deterministic
                    if (f"cov:{key}", name, seed, split) in done:
                        continue
                    train, test = (rtr, rte) if name == RAW else (xtr, xte)
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always", RuntimeWarning)
                        acc, fit, epochs = timed_fit_score(
                            lambda n=name, s=seed: factories[n](s), train, ytr, test, yte)
                    record({"part": f"cov:{key}", "split": split, "method": name, "seed": seed,
                            "accuracy": acc, "fit_s": fit, "epochs": epochs,
                            "warnings": [str(w.message)[:200] for w in caught],
                            "code": code}, log)


def summarise_covariances(rows):
    """{set key: {method: summary}} from the log's ``cov:`` records.

    A (method, seed) is counted on a data set only if it covers every split of that set
    (an interrupted run is left out until complete); a repeated record keeps its first.
    """
    unique = {}
    for r in rows:
        unique.setdefault((r["part"], r["method"], r["seed"], r["split"]), r)
    n_splits = {"mamem8": len(MAMEM_SUBJECTS), "mamem32": len(MAMEM_SUBJECTS)}
    summary = {}
    for key in COV_SETS:
        part = f"cov:{key}"
        source = "cov:mamem8" if key == "mamem32" else part
        for name in cov_methods():
            src = source if name == RAW else part
            by_seed = {}
            for (p, m, seed, _split), r in unique.items():
                if p == src and m == name:
                    by_seed.setdefault(seed, []).append(r)
            by_seed = {s: v for s, v in by_seed.items() if len(v) == n_splits.get(key, 5)}
            if by_seed:
                summary.setdefault(key, {})[name] = _summary_entry(by_seed, COV_SETS[key][1])
    return summary


def _summary_entry(by_seed, protocol):
    """Summary of one (set, method) from its complete ``{seed: [records of every split]}``:
    accuracy % per seed (mean over splits), their mean and std, mean fit time."""
    runs = dict(sorted(by_seed.items()))
    per_seed = [100 * float(np.mean([r["accuracy"] for r in v])) for v in runs.values()]
    return {"accuracy_mean": float(np.mean(per_seed)),
            "accuracy_std_over_seeds": float(np.std(per_seed)), "per_seed": per_seed,
            "seeds": list(runs),
            "fit_s_mean": float(np.mean([r["fit_s"] for v in runs.values() for r in v])),
            "protocol": protocol}


def _cell(entry, best=None, mark=False):
    if entry is None:
        return "–"
    text = f"{entry['accuracy_mean']:.1f}"
    if len(entry["seeds"]) > 1:
        text += f" ± {entry['accuracy_std_over_seeds']:.1f} ({len(entry['seeds'])})"
    if mark and best is not None:
        text += " ✓" if entry["accuracy_mean"] >= best - 1e-9 else " ✗"
    return text


def _markdown(table):
    """Markdown lines of a results-document table."""
    return ["| " + " | ".join(table["columns"]) + " |", "|---" * len(table["columns"]) + "|",
            *("| " + " | ".join(map(str, row)) + " |" for row in table["rows"])]


def covariance_tables(summary):
    """(markdown lines of one table per data set, the compact all-sets table for eeg.json)."""
    keys = [k for k in COV_SETS if k in summary]
    names = [n for n in cov_methods() if any(n in summary[k] for k in keys)]
    best = _best_baseline(summary, keys)
    lines = []
    for key in keys:
        lines += [f"### {COV_SETS[key][1]}", "",
                  "| method | accuracy % (± std over seeds (seeds)) | fit s per split |",
                  "|---|---|---|"]
        for name in names:
            entry = summary[key].get(name)
            if entry is None:
                continue
            label = f"**{name}**" if name == DEFAULT else name
            lines.append(f"| {label} | {_cell(entry, best[key], name == DEFAULT)} | "
                         f"{entry['fit_s_mean']:.1f} |")
        lines.append("")
    table = _all_sets_table(
        summary, keys, names, "Every method, one partition (EEGMMIDB: 5-fold partition 0): "
        "accuracy % (mean ± std over seeds (number of seeds); one number: one run); ✓ / ✗: "
        "the default at least / below the best of MDM, FgMDM and TS+LR")
    return lines, table


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


def render(args, log=LOG):
    """Rebuild ``eeg.md`` (one table per data set, then the earlier runs) and the results
    document ``args.out`` from the log."""
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    names = list(methods())
    summary = summarise_covariances([r for r in rows if r["part"].startswith("cov:")])
    repeated = summarise_repeated([r for r in rows if r["part"].startswith("rep:")])
    if log == LOG:
        COV_RESULTS.write_text(json.dumps({**summary, "repeated": repeated}, indent=1) + "\n")
    cov_lines, table = covariance_tables(summary)
    tables = [table]
    lines = ["## EEG classification (MAMEM SSVEP II; EEGMMIDB S001 imagery)", "",
             provenance(COMMAND) + " One thread (`torch.set_num_threads(1)`); protocol in the "
             "script's docstring. ✓ / ✗: the default network at least / below the best of "
             "MDM, FgMDM and TS+LR on that set.", ""]
    if repeated:
        tables.insert(0, repeated_table(repeated))
        lines += [f"### {tables[0]['title']}", "", *_markdown(tables[0]), ""]
    lines += ["### One partition per set (EEGMMIDB: partition 0), every method", ""] + cov_lines
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
    if log == LOG:
        (RESULTS / "eeg.md").write_text("\n".join(lines) + "\n")
    doc = results_document(
        "eeg", "EEG covariance benchmarks: pyRiemann vs our networks", args=args,
        command=COMMAND,
        setup="Every covariance data set in the repo, the same OAS covariances and splits for "
        "every method: MAMEM SSVEP II (11 subjects, fit on trials 0-399, test on 400-499; "
        "8x8 and 32x32 delay-embedded), EEGMMIDB S001 imagery (left/right fist and fists/feet, "
        "45 trials, 22 or 64 channels, stratified 5-fold CV). First table: the baselines and "
        "the default network on the EEGMMIDB sets over 10 repeated 5-fold partitions (one "
        "partition moves a method by ±5 points). Second table: every method, one partition "
        "(EEGMMIDB: partition 0), networks with default hyper-parameters, seeds 0-2 where "
        "shown; ConvSPDNet on the raw epochs of the same trials. One thread.",
        anchors="pyRiemann 0.11's MDM, FgMDM and TS+LR on the same covariances",
        tables=tables, details="benchmarks/results/eeg.md",
        summary={**summary, "repeated": repeated})
    print(write_results(doc, args.out))
    print("\n".join(lines[:60]))


def main():
    p = parser("EEG covariance benchmarks: pyRiemann vs our networks", family="eeg")
    p.add_argument("--sets", nargs="*", default=None, choices=list(COV_SETS),
                   help="data sets (default: all; --quick: lr22)")
    p.add_argument("--methods", nargs="*", default=None,
                   help="methods by table name (default: all; --quick: MDM, FgMDM, TS+LR, default)")
    p.add_argument("--seeds", type=int, nargs="*", default=None,
                   help="random_state of the networks (default 0 1 2, or --seed when it "
                   "is given; --quick: --seed)")
    p.add_argument("--repeated", type=int, nargs="?", const=REPEATS, default=None,
                   metavar="R", help=f"only the repeated-CV comparison on the EEGMMIDB sets "
                   f"(baselines and the default, partitions 0..R-1; R = {REPEATS} if omitted); "
                   "the full run includes it")
    p.add_argument("--render", action="store_true",
                   help="only rebuild eeg.json and eeg.md from the log")
    p.add_argument("--legacy", action="store_true",
                   help="rerun the 2026-12-04 raw-signal study (appends to the log)")
    args = setup(p.parse_args())
    quick = args.size == "quick"
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "eeg.quick.jsonl" if quick else LOG
    if args.legacy:
        run_eegmmidb(list(methods()))
        run_mamem(list(MAMEM_SUBJECTS), list(methods()), args.seed)
    elif not args.render:
        sets = args.sets or (["lr22"] if quick else list(COV_SETS))
        names = args.methods or (KEY_METHODS[:4] if quick else list(cov_methods()))
        unknown = set(names) - set(cov_methods())
        if unknown:
            raise SystemExit(f"unknown methods {sorted(unknown)}; known: {list(cov_methods())}")
        seeds = (args.seeds if args.seeds is not None
                 else [args.seed] if quick or args.seed != 0 else [0, 1, 2])
        if args.repeated is None:
            run_covariances(sets, names, seeds, log)
        rep_sets = [k for k in sets if k in REPEATED_SETS]
        if not quick and (args.repeated or not args.sets):
            run_repeated(rep_sets, [n for n in names if n in REPEATED_METHODS],
                         args.repeated or REPEATS, log)
    render(args, log)


if __name__ == "__main__":
    main()
