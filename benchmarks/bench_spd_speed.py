"""Forward+backward time of SPD matrix functions and BN layers: ours vs autograd through eigh.

Run: python benchmarks/bench_spd_speed.py [--quick]   -> benchmarks/results/spd_speed.json

Baseline ("eigh autograd"): the same mathematics with every spectral function written as
``U f(σ) Uᵀ`` from ``torch.linalg.eigh`` and differentiated by PyTorch's own eigh backward
(the straightforward implementation). For the BN rows the baseline swaps both of
geomlayers' custom autograd functions (spectral functions and eigen-kernel operators) for
those plain versions, so the layer code is identical. Batch B of n x n SPD matrices
(condition number 1e3); BN parameters at their initial values (bias = I, M = I).
"""

import math
from contextlib import contextmanager

import torch
from _harness import parser, results_document, setup, time_call, write_results

from geomlayers import linalg
from geomlayers.linalg import kernels as _kernels
from geomlayers.linalg import spectral as _spectral
from geomlayers.nn.spd import SPDBatchNorm

SIZES = [8, 22, 32, 64]
BATCH = 128


def _naive_spectral(x, theta, kind, floor, name):
    sigma, u = torch.linalg.eigh(x)
    if floor == "relative":  # the same relative floor as geomlayers.linalg
        floor = linalg.config.floor_for(sigma)
    c = sigma if floor is None else sigma.clamp_min(floor)
    f = _spectral._SPECTRAL[kind][0](c, theta)
    return (u * f.unsqueeze(-2)) @ u.transpose(-1, -2)


def _naive_kernel(p, w, kernel, positive=False, name="p"):
    sigma, u = torch.linalg.eigh(p)
    k = kernel.k(sigma.unsqueeze(-1), sigma.unsqueeze(-2))
    return u @ (k * (u.transpose(-1, -2) @ w @ u)) @ u.transpose(-1, -2)


@contextmanager
def naive():
    spectral, kernel = _spectral._Spectral.apply, _kernels._KernelOp.apply
    _spectral._Spectral.apply, _kernels._KernelOp.apply = _naive_spectral, _naive_kernel
    try:
        yield
    finally:
        _spectral._Spectral.apply, _kernels._KernelOp.apply = spectral, kernel


def spd_batch(n, dtype):
    g = torch.Generator().manual_seed(n)
    q, _ = torch.linalg.qr(torch.randn(BATCH, n, n, generator=g, dtype=torch.float64))
    eigs = (torch.rand(BATCH, n, generator=g, dtype=torch.float64) * math.log(1e3)).exp()
    return linalg.sym((q * eigs.unsqueeze(-2)) @ q.mT).to(dtype)



def case(make_fn, x):
    """(seconds per forward+backward, gradient finite?)."""
    fn, params = make_fn()

    def step():
        xi = x.clone().requires_grad_()
        for p in params:
            p.grad = None
        out = fn(xi)
        out.sum().backward()
        return xi.grad, [p.grad for p in params]

    seconds = time_call(step, warmup=1, repeats=3).median_s
    gx, gps = step()
    finite = bool(torch.isfinite(gx).all()) and all(g is None or bool(torch.isfinite(g).all())
                                                   for g in gps)
    return seconds, finite


def main():
    args = setup(parser("SPD matrix functions and batch norms: ours vs eigh autograd",
                        family="spd_speed").parse_args())
    sizes = args.pick(quick=[8], default=SIZES)
    ops = {
        "logm": lambda: (linalg.logm, []),
        "sqrtm": lambda: (linalg.sqrtm, []),
        "powm(0.5)": lambda: ((lambda a: linalg.powm(a, 0.5)), []),
    }
    for metric in ("aim", "bw", "gbw"):
        def make(metric=metric, n=None, dtype=None):
            bn = SPDBatchNorm(n, metric, scale=True, theta=0.5 if metric == "gbw" else 1.0,
                              dtype=dtype)
            return bn, list(bn.parameters())
        ops[f"SPDBatchNorm({metric})"] = make
    ratio, raw = {}, []
    for dtype in (torch.float32, torch.float64):
        for n in sizes:
            x = spd_batch(n, dtype)
            for name, make in ops.items():
                maker = make if not name.startswith("SPDBatchNorm") else (
                    lambda make=make, n=n, dtype=dtype: make(n=n, dtype=dtype))
                ours = case(maker, x)
                with naive():
                    base = case(maker, x)
                dt = str(dtype)[6:]
                ratio.setdefault((name, dt), {})[n] = (base[0] / ours[0], base[1])
                raw.append({"op": name, "dtype": dt, "n": n, "ours_ms": 1e3 * ours[0],
                            "eigh_autograd_ms": 1e3 * base[0], "ours_finite": ours[1],
                            "eigh_autograd_finite": base[1]})
                print(raw[-1], flush=True)
    rows = []
    for (name, dt), by_n in ratio.items():
        finite = all(f for _, f in by_n.values())
        rows.append([name, dt, *[f"{by_n[n][0]:.2f}x" for n in sizes],
                     "finite" if finite else "NaN gradients"])
    doc = results_document(
        "spd_speed", "SPD matrix functions and batch norms: ours vs eigh autograd", args=args,
        tables=[{"title": "Time ratio eigh-autograd / ours, forward + backward (> 1: ours "
                          "faster)",
                 "columns": ["op", "dtype", *[f"n = {n}" for n in sizes],
                             "eigh autograd gradient"],
                 "rows": rows}],
        setup=(f"Forward + backward of a batch of {BATCH} SPD matrices (condition number up "
               "to 1e3), median of 3 after one warm-up, 1 thread, CPU; batch norms at their "
               "initial parameters (bias = I, M = I: repeated eigenvalues). The machine is "
               "shared, so differences within about ±20 % are noise."),
        anchors="the same functions through `torch.linalg.eigh` and autograd.", raw=raw)
    write_results(doc, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
