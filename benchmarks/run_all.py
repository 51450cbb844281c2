"""Run the benchmarks, then regenerate benchmarks/RESULTS.md (``make bench``).

    python benchmarks/run_all.py                  # every bench_*.py at its default size
    python benchmarks/run_all.py --quick          # smoke run of the scripts on the harness
    python benchmarks/run_all.py --only layer eeg # bench_layer.py and bench_eeg.py
    python benchmarks/run_all.py --gather         # only regenerate RESULTS.md

Scripts built on ``_harness.py`` take ``--quick`` / ``--full`` / ``--seed`` and write
``results/<family>.json``; the others run without arguments and are skipped by ``--quick``
(they have no smoke size). A quick run writes its JSON to a temporary folder, so it never
changes RESULTS.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks() -> list[Path]:
    """Every ``bench_*.py`` beside this script."""
    return sorted(HERE.glob("bench_*.py"))


def on_harness(script: Path) -> bool:
    """Whether ``script`` is built on the harness (takes --quick/--full/--seed)."""
    return "from _harness import" in script.read_text(encoding="utf-8")


def gather() -> int:
    """Regenerate RESULTS.md from the JSON results."""
    return subprocess.run([sys.executable, str(HERE / "make_results.py")]).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smoke sizes (harness scripts only)")
    size.add_argument("--full", action="store_true", help="the recorded tables' full sizes")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--only", nargs="*", default=None,
                        help="script names without bench_ and .py (e.g. layer eeg)")
    parser.add_argument("--gather", action="store_true", help="only regenerate RESULTS.md")
    args = parser.parse_args(argv)
    if args.gather:
        return gather()
    scripts = benchmarks()
    if args.only:
        unknown = set(args.only) - {s.stem.removeprefix("bench_") for s in scripts}
        if unknown:
            parser.error(f"--only: no script bench_<name>.py for {sorted(unknown)}")
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
    failed = []
    for script in scripts:
        command = [sys.executable, str(script)]
        if on_harness(script):
            command += ["--quick"] if args.quick else ["--full"] if args.full else []
            command += ["--seed", str(args.seed)] if args.seed is not None else []
        elif args.quick:
            print(f"skip {script.name}: not on the harness yet (no --quick size)")
            continue
        print("run", " ".join(command[1:]), flush=True)
        if subprocess.run(command).returncode != 0:
            failed.append(script.name)
    if failed:
        print("failed:", ", ".join(failed), file=sys.stderr)
    if args.quick:
        return 1 if failed else 0
    return gather() or (1 if failed else 0)


if __name__ == "__main__":
    sys.exit(main())
