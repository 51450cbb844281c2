"""Prose where it belongs: code cites papers and docs/ pages; lab notes live in docs/notes/."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_code_never_cites_the_research_notes():
    offenders = []
    for path in sorted((ROOT / "geomlayers").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"research notes|notes §|shared/research", line, re.IGNORECASE):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "cite the paper or a docs/ page instead:\n" + "\n".join(offenders)


def _is_python(text: str) -> bool:
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


def test_benchmark_scripts_hold_no_lab_notes():
    """No long hand-written prose constants in benchmark code (they go to docs/notes/).

    A long string that is Python source (a script run in a subprocess) is code, not notes.
    """
    offenders = []
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str)
                    and node.value.value.count("\n") > 20
                    and not _is_python(node.value.value)):
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, "move these notes to docs/notes/<date>-<topic>.md: " + ", ".join(
        offenders)


def test_lab_notes_are_dated():
    notes = sorted((ROOT / "docs" / "notes").glob("*"))
    assert notes
    for path in notes:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}-[a-z0-9-]+\.md", path.name), path.name
        assert path.read_text(encoding="utf-8").startswith("# "), f"{path.name}: no title"
