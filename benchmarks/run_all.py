"""Run every benchmark, then gather their tables into benchmarks/RESULTS.md (`make bench`)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
FIRST = ["basis_generation.md", "layer.md"]  # then every other results/*.md, by name


def benchmarks() -> list[Path]:
    """Every ``bench_*.py`` beside this script."""
    return sorted(HERE.glob("bench_*.py"))


def sections() -> list[Path]:
    """Result tables in a fixed order: the foundation's first, then by file name."""
    found = sorted((HERE / "results").glob("*.md"))
    first = [HERE / "results" / name for name in FIRST]
    return [p for p in first if p in found] + [p for p in found if p not in first]


def gather() -> None:
    parts = [
        "# Benchmark results",
        "",
        "Every table below was produced by the script named in it, in one run, on the machine it",
        "names; `make bench` re-runs them all and rewrites this file. Timings on a shared 2-core",
        "machine are only comparable within one table.",
        "",
    ]
    for path in sections():
        parts += [path.read_text().strip(), ""]
    (HERE / "RESULTS.md").write_text("\n".join(parts))


def main() -> None:
    for script in benchmarks():
        subprocess.run([sys.executable, str(script)], check=True)
    gather()


if __name__ == "__main__":
    if sys.argv[1:] == ["--gather"]:
        gather()
    else:
        main()
