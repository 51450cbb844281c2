"""One EMLP O(n) case (run in .venv-emlp by bench_brauer.py): prints one JSON line.

Argv: n k batch channels. Solves EMLP's equivariant basis of the weight space
`V**k >> V**k` of O(n) (what `emlp.nn.Linear` projects onto, per channel pair), then builds
`emlp.nn.Linear(C*V**k, C*V**k)` and times its forward (jitted) on a (batch, C·n^k) input
(EMLP applies the lazy projector P = QQᵀ to the weight on every call), and a plain matmul
with the projected dense weight W = reshape(P w) precomputed.
"""

import json
import resource
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from emlp.groups import O
from emlp.nn import Linear
from emlp.reps import V


def best_of(fn, repeats=5):
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return min(times)


def linear_call(layer, x, w, b):
    """`emlp.nn.objax.Linear.__call__` with the variables passed in, so that `jax.jit` applies
    (`objax.Jit` fails with jax 0.10.2: `jax.sharding.PmapSharding` no longer exists)."""
    weight = (layer.Pw @ w.reshape(-1)).reshape(*w.shape)
    return x @ weight.T + layer.Pb @ b


def main():
    n, k, batch, channels = map(int, sys.argv[1:5])
    group = O(n)
    result = {}
    start = time.perf_counter()
    basis = np.asarray((V**k >> V**k)(group).equivariant_basis())
    result["basis_seconds"] = time.perf_counter() - start
    result["dim"] = int(basis.shape[-1])
    print(json.dumps(result), flush=True)  # partial result survives a later failure
    rep = channels * V**k
    start = time.perf_counter()
    layer = Linear(rep(group), rep(group))
    result["layer_seconds"] = time.perf_counter() - start
    x = jnp.asarray(np.random.default_rng(0).standard_normal((batch, channels * n**k)),
                    dtype=jnp.float32)
    forward = jax.jit(lambda inputs, w, b: linear_call(layer, inputs, w, b))
    w, b = layer.w.value, layer.b.value
    result["forward_seconds"] = best_of(lambda: forward(x, w, b))
    weight = (layer.Pw @ layer.w.value.reshape(-1)).reshape(*layer.w.value.shape)
    matmul = jax.jit(lambda inputs, w: inputs @ w.T)
    result["matmul_seconds"] = best_of(lambda: matmul(x, weight))
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
