"""Run every benchmark, then gather their tables into benchmarks/RESULTS.md (`make bench`)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = ["bench_basis_vs_emlp.py", "bench_layer.py"]
SECTIONS = ["basis_generation.md", "layer.md"]


def gather() -> None:
    parts = [
        "# Benchmark results",
        "",
        "Every table below was produced by the script named in it, in one run, on the machine it",
        "names; `make bench` re-runs them all and rewrites this file. Timings on a shared 2-core",
        "machine are only comparable within one table.",
        "",
    ]
    for name in SECTIONS:
        path = HERE / "results" / name
        if path.exists():
            parts += [path.read_text().strip(), ""]
    (HERE / "RESULTS.md").write_text("\n".join(parts))


def main() -> None:
    for script in BENCHMARKS:
        if (HERE / script).exists():
            subprocess.run([sys.executable, str(HERE / script)], check=True)
    gather()


if __name__ == "__main__":
    if sys.argv[1:] == ["--gather"]:
        gather()
    else:
        main()
