import json
import subprocess
import sys

from geomlayers.cli import main


def test_basis_command(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("GEOMLAYERS_CACHE_DIR", str(tmp_path / "cache"))
    out_file = tmp_path / "s5.json"
    assert main(["basis", "S5", "2", "2", "--save", str(out_file), "--show", "3"]) == 0
    printed = capsys.readouterr().out
    assert "size:     15 elements" in printed and "time:" in printed
    assert str(tmp_path / "cache") in printed and "D[a a / a a]" in printed
    saved = json.loads(out_file.read_text())
    assert saved["k"] == 2 and len(saved["elements"]) == 15


def test_aut_graph_file_and_save(capsys, tmp_path):
    from geomlayers.bases import Basis

    graph = tmp_path / "c5.txt"
    graph.write_text("".join(f"{i} {(i + 1) % 5}\n" for i in range(5)))
    target = tmp_path / "basis.json"
    assert main(["basis", f"aut:{graph}", "1", "1", "--save", str(target), "--no-cache"]) == 0
    assert "size:     3 elements" in capsys.readouterr().out
    assert Basis.load(target).sparse().shape == (3, 5, 5)
    for name in ("basis.pt", "basis.npy"):  # refused before any work, nothing written
        assert main(["basis", "S3", "1", "1", "--save", str(tmp_path / name)]) == 2
        assert "end in .json" in capsys.readouterr().err
        assert not (tmp_path / name).exists()


def test_errors_are_reported(capsys):
    assert main(["basis", "S10", "5", "5"]) == 2
    assert "max_elements" in capsys.readouterr().err
    assert main(["basis", "X3", "1", "1"]) == 2


def test_console_script_module_runs():
    result = subprocess.run(
        [sys.executable, "-m", "geomlayers.cli", "basis", "A5", "2", "2", "--no-cache"],
        capture_output=True, text=True, check=True,
    )
    assert "size:     16 elements" in result.stdout


def test_info_command(capsys):
    assert main(["info", "--build"]) == 0
    out = capsys.readouterr().out
    assert all(f"{label}:" in out for label in ("torch", "extension", "backend", "gpu"))
    from geomlayers.ops import extension

    expected = "built" if extension.load_error() is None else extension.load_error()
    assert f"{'extension:':<16} {expected}" in out


def test_group_strings_round_trip_through_the_cli(capsys, tmp_path):
    from geomlayers.groups import parse_group

    out_file = tmp_path / "aut.json"
    spec = "Aut5<0-1,1-2,2-3,3-4,0-4>"
    assert main(["basis", spec, "1", "1", "--no-cache", "--save", str(out_file)]) == 0
    printed = capsys.readouterr().out
    assert "group:    Aut5<0-1,0-4,1-2,2-3,3-4>" in printed
    saved = json.loads(out_file.read_text())
    assert parse_group(saved["group"]) == parse_group(spec)


def test_comma_separated_edge_list_file(capsys, tmp_path):
    graph = tmp_path / "c5.csv"
    graph.write_text("".join(f"{i},{(i + 1) % 5}\n" for i in range(5)))
    assert main(["basis", f"aut:{graph}", "1", "1", "--no-cache"]) == 0
    assert "size:     3 elements" in capsys.readouterr().out
    bad = tmp_path / "bad.txt"
    bad.write_text("0 1 2\n")
    assert main(["basis", f"aut:{bad}", "1", "1", "--no-cache"]) == 2
    assert "'0 1 2' is not a pair" in capsys.readouterr().err
