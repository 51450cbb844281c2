"""Shared by the benchmarks: the machine and versions a result was measured with, and timing.

:func:`machine_info` and :func:`versions` are what :mod:`_harness` writes into every results
JSON; :func:`provenance` is the same information as the one-line sentence older scripts put at
the top of their markdown tables.
"""

import datetime
import os
import platform
import subprocess
import time
from collections.abc import Callable

import torch


def _cpu_name() -> str:
    """The CPU model from ``lscpu`` (``platform.processor()`` is empty on most Linux)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return platform.processor() or platform.machine()
    for line in out.splitlines():
        if line.startswith("Model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    """``{"cpu", "cores", "threads", "gpu"}`` of this process (``gpu`` is None without CUDA)."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": _cpu_name(), "cores": os.cpu_count(), "threads": torch.get_num_threads(),
            "gpu": gpu}


def versions() -> dict:
    """Versions of Python, torch, numpy and geomlayers (and the git commit, when there is one)."""
    import numpy

    import geomlayers

    out = {"python": platform.python_version(), "torch": torch.__version__,
           "numpy": numpy.__version__, "geomlayers": geomlayers.__version__}
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False,
                                cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except OSError:
        commit = ""
    if commit:
        out["commit"] = commit
    return out


def provenance(command: str) -> str:
    """``Machine: <cpu>, <threads> threads; Python …, torch …; <date>; command `…`.``"""
    return (
        f"Machine: {_cpu_name()}, {torch.get_num_threads()} threads; Python "
        f"{platform.python_version()}, torch {torch.__version__}; {datetime.date.today()}; "
        f"command `{command}`."
    )


def best_of(fn: Callable[[], object], repeats: int = 5) -> float:
    """Minimum wall time in seconds of ``fn()`` over ``repeats`` runs after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
