"""Shared by the benchmarks: the provenance line every results table starts with, and timing."""

import datetime
import platform
import subprocess
import time
from collections.abc import Callable

import torch


def provenance(command: str) -> str:
    """``Machine: <cpu>, <threads> threads; Python …, torch …; <date>; command `…`.``"""
    cpu = subprocess.run(["bash", "-c", "lscpu | grep 'Model name' | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    return (
        f"Machine: {cpu}, {torch.get_num_threads()} threads; Python {platform.python_version()}, "
        f"torch {torch.__version__}; {datetime.date.today()}; command `{command}`."
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
