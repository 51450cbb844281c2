"""Run the benchmarks, then regenerate benchmarks/RESULTS.md (``make bench``).

    python benchmarks/run_all.py                  # every bench_*.py at its default size
    python benchmarks/run_all.py --quick          # smoke run of the scripts on the harness
    python benchmarks/run_all.py --only layer eeg # bench_layer.py and bench_eeg.py
    python benchmarks/run_all.py --gather         # only regenerate RESULTS.md

Scripts whose command line comes from ``_harness.parser`` take ``--quick`` / ``--full`` /
``--seed``; others get the ones they declare, and ``--quick`` skips a script without a smoke
size. A quick run of a harness script writes its JSON to a temporary folder, so it never
changes RESULTS.md.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks() -> list[Path]:
    """Every ``bench_*.py`` beside this script."""
    return sorted(HERE.glob("bench_*.py"))


def supported_flags(script: Path) -> set[str]:
    """Which of --quick / --full / --seed ``script`` takes.

    All three when it builds its command line with the harness's ``parser``; otherwise those
    it declares itself.
    """
    text = script.read_text(encoding="utf-8")
    if re.search(r"from _harness import[^\n]*\bparser\b", text):
        return {"--quick", "--full", "--seed"}
    return {flag for flag in ("--quick", "--full", "--seed") if f'"{flag}"' in text}


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
        flags = supported_flags(script)
        command = [sys.executable, str(script)]
        if args.quick:
            if "--quick" not in flags:
                print(f"skip {script.name}: it has no --quick size yet")
                continue
            command.append("--quick")
        elif args.full:
            command += ["--full"] if "--full" in flags else []
        if args.seed is not None:
            if "--seed" in flags:
                command += ["--seed", str(args.seed)]
            else:
                print(f"note: {script.name} takes no --seed; it runs with its own")
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
