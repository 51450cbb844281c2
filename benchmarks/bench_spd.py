"""Where SPD batch norm (AIM / LEM / BW / GBW) helps SPDNet: ill-conditioned synthetic SPD
classification and MAMEM SSVEP-II filter-bank covariances; writes ``results/spd.json``.

Run: python benchmarks/bench_spd.py [--quick | --full] [--seeds 0 1 2] [--epochs 20]

GBW batch norm (Wang et al., "Learning to normalize on the SPD manifold under Bures–Wasserstein
geometry", CVPR 2025) is motivated by ill-conditioned SPD inputs: the affine-invariant and
Log-Euclidean metrics act through ``log σ``, so a small eigenvalue's relative noise is as
large a distance as a large one's, while the BW distance weighs eigenvalues by their size.
The synthetic task makes that setting controllable (``n = 12``, 3 classes, κ ≈ 1e7):

* ``signal in large eigenvalues``: the class sets the log-variances of four dominant
  directions (class offsets of std 0.25, trial noise 0.25); eight small directions
  (eigenvalues 1e-5 … 1e-7) carry class-independent log-normal noise of std 1.5;
* ``signal in small eigenvalues``: the same with the roles swapped (class information in the
  small eigenvalues, nuisance in the large ones).

A random congruence shared by all trials (condition number 10) mixes the directions, so no
coordinate reveals them. 750 trials per seed (300 train / 150 validation / 300 test), a new
draw per seed.

MAMEM SSVEP-II (``../shared/data/eeg/mamem``): a 5-band filter bank around the flicker
frequencies, 40-channel OAS covariance, scaled by the training mean trace / 40, split in trial
order 300 / 100 / 100 (the MAtt / GBWBN split), test accuracy at the best validation epoch.

Networks: ``SPDNet([n, h1, h2], bn_metric=…)`` in float64 with default batch-norm settings
(``[BiMap → (BN) → ReEig] × 2 → LogEig → Linear``), RiemannianAdam, batch 30, equal epochs
for every metric; fit time is the training time at those epochs. pyRiemann MDM and TS+LR on
the same matrices are the anchors.
"""

from __future__ import annotations

import time

import geoopt
import numpy as np
import scipy.io
import scipy.signal
import torch
from _harness import parser, results_document, setup, train, write_results
from pyriemann.classification import MDM
from pyriemann.estimation import Covariances
from pyriemann.tangentspace import TangentSpace
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from geomlayers.data_dir import data_dir
from geomlayers.models import SPDNet

FS = 125.0
FREQS = [12.0, 10.0, 8.57, 7.5, 6.66]
METRICS = {"none": None, "AIM": "aim", "LEM": "lem", "BW": "bw", "GBW": "gbw"}
D = torch.float64


# -- data -------------------------------------------------------------------------------------

def synthetic(seed: int, where: str, n_trials: int = 750, n: int = 12, classes: int = 3):
    """Ill-conditioned SPD trials ``(N, n, n)`` and labels; see the module docstring."""
    rng = np.random.default_rng(1000 + seed)
    big, small = np.arange(4), np.arange(4, n)
    base = np.r_[np.zeros(4), np.linspace(-5, -7, n - 4) * np.log(10)]  # log-eigenvalues
    means = 0.25 * rng.standard_normal((classes, n))  # class offsets of the log-eigenvalues
    signal, nuisance = (big, small) if where == "large" else (small, big)
    y = rng.integers(0, classes, n_trials)
    loge = np.tile(base, (n_trials, 1))
    loge[:, signal] += means[y][:, signal] + 0.25 * rng.standard_normal((n_trials, len(signal)))
    loge[:, nuisance] += 1.5 * rng.standard_normal((n_trials, len(nuisance)))
    q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    a = q @ np.diag(np.logspace(0, 0.5, n)) @ np.linalg.qr(rng.standard_normal((n, n)))[0]
    x = np.einsum("ij,nj,kj->nik", a, np.exp(loge), a)
    x = 0.5 * (x + np.swapaxes(x, -1, -2))
    return x / (np.trace(x[: 2 * n_trials // 5], axis1=1, axis2=2).mean() / n), y


def mamem(subject: int):
    """Filter-bank OAS covariances ``(500, 40, 40)`` and labels of MAMEM subject ``U0xx``."""
    mat = scipy.io.loadmat(data_dir() / "eeg" / "mamem" / f"U{subject:03d}.mat")
    x, y = mat["x_test"].astype(np.float64), mat["y_test"].ravel().astype(np.int64)
    bands = []
    for f in FREQS:
        sos = scipy.signal.butter(4, [f - 1.0, f + 1.0], btype="bandpass", fs=FS, output="sos")
        bands.append(scipy.signal.sosfiltfilt(sos, x, axis=-1))
    cov = Covariances("oas").fit_transform(np.concatenate(bands, axis=1))
    return cov / (np.trace(cov[:300], axis1=1, axis2=2).mean() / cov.shape[-1]), y


def condition(x) -> float:
    ev = np.linalg.eigvalsh(x)
    return float(np.median(ev[:, -1] / ev[:, 0]))


# -- methods ----------------------------------------------------------------------------------

def pyriemann_scores(xtr, ytr, xte, yte) -> dict:
    out = {}
    for name, clf in (("pyRiemann MDM", MDM(metric="riemann")),
                      ("pyRiemann TS+LR", make_pipeline(TangentSpace(metric="riemann"),
                                                        LogisticRegression(max_iter=2000)))):
        start = time.perf_counter()
        clf.fit(xtr, ytr)
        out[name] = (float((clf.predict(xte) == yte).mean()), time.perf_counter() - start)
    return out


def train_net(split, dims, classes, metric, seed, epochs, lr):
    """(test accuracy at the best validation epoch, training seconds) of one SPDNet."""
    (xtr, ytr), (xva, yva), (xte, yte) = [(torch.as_tensor(a), torch.as_tensor(b))
                                          for a, b in split]
    torch.manual_seed(seed)
    net = SPDNet(dims, classes, bn_metric=metric, dtype=D)
    opt = geoopt.optim.RiemannianAdam(net.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)

    def batches(_epoch):
        for idx in torch.randperm(len(ytr), generator=gen).split(30):
            if len(idx) > 1:  # batch norm needs two matrices
                yield xtr[idx], ytr[idx]

    def evaluate(model):
        return {"val": float((model(xva).argmax(1) == yva).double().mean()),
                "test": float((model(xte).argmax(1) == yte).double().mean())}

    run = train(net, opt, batches, torch.nn.functional.cross_entropy, epochs=epochs,
                evaluate=evaluate, select=("val", "max"))
    return run["best"]["test"], run["train_s"]


def run_setting(name, splits, dims, classes, seeds, epochs, lr, log):
    """Rows ``[method, accuracy %, std, fit s, fit / AIM]`` over seeds (and subjects)."""
    acc, fit = {}, {}
    for key, split in splits:
        (xtr, ytr), _, (xte, yte) = split
        for method, (a, t) in pyriemann_scores(xtr, ytr, xte, yte).items():
            acc.setdefault(method, []).append(a)
            fit.setdefault(method, []).append(t)
        for label, metric in METRICS.items():
            for seed in seeds:
                a, t = train_net(split, dims, classes, metric, seed, epochs, lr)
                acc.setdefault(label, []).append(a)
                fit.setdefault(label, []).append(t)
                log(f"{name} {key} {label} seed {seed}: test {a:.3f}, fit {t:.1f} s")
    aim = float(np.mean(fit["AIM"]))
    rows = []
    for method in acc:
        a, t = 100 * np.asarray(acc[method]), float(np.mean(fit[method]))
        net = method in METRICS
        rows.append([("SPDNet + " + method + " BN") if net and method != "none"
                     else ("SPDNet (no BN)" if net else method),
                     round(float(a.mean()), 1), round(float(a.std()), 1), round(t, 2),
                     round(t / aim, 2) if net else None])
    return rows, {k: [float(v) for v in vals] for k, vals in acc.items()}


def combined_table(settings: list[dict]) -> dict:
    """One table, a column per setting (``accuracy ± std``), and fit time relative to AIM."""
    short = {"large": "synthetic, signal in large σ", "small": "synthetic, signal in small σ"}
    names = []
    for t in settings:
        key = next((v for k, v in short.items() if f"the {k} eigenvalues" in t["title"]), None)
        names.append(key or t["title"].split(" (")[0].replace(" filter-bank covariances", ""))
    methods = [r[0] for r in settings[0]["rows"]]
    rows = []
    for i, method in enumerate(methods):
        cells = [f"{t['rows'][i][1]:.1f} ± {t['rows'][i][2]:.1f}" for t in settings]
        ratios = [t["rows"][i][4] for t in settings if t["rows"][i][4] is not None]
        rows.append([method, *cells,
                     " / ".join(f"{r:.2f}" for r in ratios) if ratios else "—"])
    kappas = "; ".join(f"{n}: {t['title'].split('median κ = ')[1].split(';')[0]}"
                       for n, t in zip(names, settings, strict=True))
    return {"title": "Test accuracy % (mean ± std over seeds) and fit time ÷ AIM batch norm, "
                     "per column",
            "columns": ["method", *[f"{n} (%)" for n in names], "fit ÷ AIM"],
            "rows": rows,
            "note": f"median condition numbers — {kappas}. " + " ".join(
                f"{n}: {t['note']}" for n, t in zip(names, settings, strict=True))}


# -- main -------------------------------------------------------------------------------------

def main():
    p = parser("SPDNet batch norms on ill-conditioned SPD data and MAMEM", family="spd")
    p.add_argument("--seeds", type=int, nargs="+", default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--subjects", type=int, nargs="+", default=None)
    p.add_argument("--mamem-epochs", type=int, default=None)
    p.add_argument("--lr", type=float, default=1e-2)
    args = setup(p.parse_args())
    seeds = args.seeds or args.pick(quick=[0], default=[0, 1, 2])
    epochs = args.epochs or args.pick(quick=2, default=20)
    subjects = args.subjects or args.pick(quick=[1], default=[1])
    mamem_epochs = args.mamem_epochs or args.pick(quick=2, default=15)
    n_trials = args.pick(quick=120, default=750)

    def log(msg):
        print(msg, flush=True)

    tables, raw = [], {}
    for where in ("large", "small"):
        splits, kappa = [], []
        for seed in seeds:
            x, y = synthetic(seed, where, n_trials)
            h, v = 2 * n_trials // 5, 3 * n_trials // 5  # 40 % train, 20 % val, 40 % test
            splits.append((f"draw {seed}",
                           ((x[:h], y[:h]), (x[h:v], y[h:v]), (x[v:], y[v:]))))
            kappa.append(condition(x))
        # one draw per seed, each network trained once on it with that seed
        rows, acc = [], {}
        for (key, split), seed in zip(splits, seeds, strict=True):
            r, a = run_setting(f"synthetic/{where}", [(key, split)], [12, 8, 6], 3, [seed],
                               epochs, args.lr, log)
            rows.append(r)
            for k, v in a.items():
                acc.setdefault(k, []).extend(v)
        merged = []
        for i, row in enumerate(rows[0]):
            vals = 100 * np.asarray(acc[list(acc)[i]])
            fits = [r[i][3] for r in rows]
            ratios = [r[i][4] for r in rows if r[i][4] is not None]
            merged.append([row[0], round(float(vals.mean()), 1), round(float(vals.std()), 1),
                           round(float(np.mean(fits)), 2),
                           round(float(np.mean(ratios)), 2) if ratios else None])
        raw[f"synthetic_{where}"] = acc
        tables.append({
            "title": f"Synthetic, signal in the {where} eigenvalues (12×12, median κ = "
                     f"{np.median(kappa):.1e}; 3 classes, chance 33 %)",
            "columns": ["method", "test accuracy (%)", "std", "fit (s)", "fit / AIM"],
            "rows": merged,
            "note": f"{len(seeds)} draws × 1 seed each; {epochs} epochs; 40 % train, 20 % "
                    f"validation (model selection), 40 % test of {n_trials} trials.",
        })
    splits, kappa = [], []
    for s in subjects:
        x, y = mamem(s)
        kappa.append(condition(x))
        splits.append((f"U{s:03d}", ((x[:300], y[:300]), (x[300:400], y[300:400]),
                                     (x[400:], y[400:]))))
    rows, acc = run_setting("mamem", splits, [40, 20, 10], 5, seeds, mamem_epochs, args.lr, log)
    raw["mamem"] = acc
    tables.append({
        "title": f"MAMEM SSVEP-II 40×40 filter-bank covariances, subjects "
                 f"{', '.join(k for k, _ in splits)} (median κ = {np.median(kappa):.1e}; "
                 "5 classes, chance 20 %)",
        "columns": ["method", "test accuracy (%)", "std", "fit (s)", "fit / AIM"],
        "rows": rows,
        "note": f"seeds {seeds} × subjects; {mamem_epochs} epochs; split 300/100/100 in trial "
                "order.",
    })
    doc = results_document(
        "spd", "SPDNet batch norms (none / AIM / LEM / BW / GBW) on ill-conditioned SPD data",
        args=args, tables=[combined_table(tables)], settings=tables,
        setup=(f"SPDNet float64, RiemannianAdam lr {args.lr}, batch 30, equal epochs for "
               "every metric (in each table's note), default SPDBatchNorm settings, test "
               "accuracy at the best "
               "validation epoch; mean and std over seeds (and subjects); fit = training "
               "seconds at equal epochs, 1 thread on a shared 2-core machine."),
        anchors=("pyRiemann MDM and TS+LR on the same matrices; GBWBN (Wang et al., CVPR "
                 "2025) reports its gains on ill-conditioned SPD inputs."),
        raw=raw)
    path = write_results(doc, args.out)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
