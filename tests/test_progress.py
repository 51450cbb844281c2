import numpy as np
import pytest

from geomlayers.bases import equivariant_basis
from geomlayers.groups import SymmetricGroup
from geomlayers.progress import ENV_VAR, progress_bar, progress_disable


@pytest.mark.parametrize(
    ("env", "progress", "expected"),
    [(None, None, None), (None, True, False), (None, False, True), ("0", True, True),
     ("off", None, True), ("1", None, False), ("1", False, True)],
)
def test_switch_precedence(monkeypatch, env, progress, expected):
    if env is None:
        monkeypatch.delenv(ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(ENV_VAR, env)
    assert progress_disable(progress) is expected


def test_bad_switch():
    with pytest.raises(TypeError, match="progress must be None, True or False"):
        progress_disable("yes")


def test_threshold_and_passthrough(monkeypatch, capsys):
    monkeypatch.delenv(ENV_VAR, raising=False)
    items = list(range(5))
    assert progress_bar(items, progress=True, min_total=10) is items  # too small: no bar
    assert list(progress_bar(items, progress=True, desc="demo")) == items
    assert "demo" in capsys.readouterr().err


def _bell9_basis(**kwargs):
    # S_9, k + l = 9: Bell(9) = 21,147 diagrams, above the 10,000-element threshold
    return equivariant_basis(SymmetricGroup(9), 5, 4, use_cache=False, max_elements=30_000,
                             **kwargs)


def test_basis_generation_bar(monkeypatch, capsys):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert len(_bell9_basis(progress=True)) == 21_147
    assert "S_9 diagrams" in capsys.readouterr().err
    _bell9_basis()  # default: stderr is not a terminal under pytest, so no bar
    assert capsys.readouterr().err == ""
    _bell9_basis(progress=False)
    assert capsys.readouterr().err == ""


def test_env_silences_basis_and_fit(monkeypatch, capsys):
    pytest.importorskip("sklearn", reason="the `spd` extra (scikit-learn)")
    from geomlayers.data.eeg import load_bundled
    from geomlayers.integrations.sklearn import SPDNetClassifier

    x, y = load_bundled()
    x, y = x[::3], y[::3]  # a third of the trials: a fast fit
    clf = SPDNetClassifier(dims=(4,), max_epochs=2, random_state=0, progress=True)
    monkeypatch.delenv(ENV_VAR, raising=False)
    clf.fit(x, y)
    assert "SPDNetClassifier.fit" in capsys.readouterr().err
    monkeypatch.setenv(ENV_VAR, "0")
    _bell9_basis(progress=True)
    fitted = clf.fit(x, y)
    assert capsys.readouterr().err == ""
    assert np.isin(fitted.predict(x[:3]), fitted.classes_).all()


def test_sklearn_rejects_bad_progress():
    pytest.importorskip("sklearn", reason="the `spd` extra (scikit-learn)")
    from geomlayers.data.eeg import load_bundled
    from geomlayers.integrations.sklearn import SPDNetClassifier

    x, y = load_bundled()
    with pytest.raises(ValueError, match="progress must be None, True or False"):
        SPDNetClassifier(progress="on").fit(x, y)
