"""One EMLP basis computation (run in .venv-emlp by bench_basis_vs_emlp.py): prints JSON."""

import json
import resource
import sys
import time

import numpy as np
from emlp.groups import S
from emlp.reps import V

n, k, l = map(int, sys.argv[1:4])
group = S(n)
rep = (V**k >> V**l)(group)
start = time.perf_counter()
basis = np.asarray(rep.equivariant_basis())
elapsed = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"dim": int(basis.shape[-1]), "seconds": elapsed, "peak_mb": peak_mb}))
