"""`python -m equivalence.coverage`: every exported layer class is drawn, an alias, excluded
with a reason, or counted as not drawn; the share is what --fail-under tests."""
import subprocess
import sys
import types
from pathlib import Path

from equivalence import coverage
from lines import ours
from equivalence.compat import keras
from equivalence.layers import REGISTRY

ROOT = Path(__file__).resolve().parents[1]


def _fake_keras_layers():
    class Layer:
        pass

    class Merge(Layer):
        pass

    class Dense(Layer):
        pass

    class Add(Merge):
        pass

    class Conv1D(Layer):
        pass

    class EinsumDense(Layer):
        pass

    return types.SimpleNamespace(Layer=Layer, Dense=Dense, Add=Add, Conv1D=Conv1D,
                                 Convolution1D=Conv1D, EinsumDense=EinsumDense,
                                 relu=lambda x: x)


def test_every_class_gets_one_status():
    info = lambda kind: types.SimpleNamespace(class_name=None, available=True)  # noqa: E731
    registry = {"Dense": info("Dense"), "Conv1D": info("Conv1D"), "Nested": info("Nested")}
    table = {r.name: r for r in coverage.rows(_fake_keras_layers(), registry)}
    assert {n: r.status for n, r in table.items()} == {
        "Layer": "excluded", "Dense": "drawn", "Add": "excluded", "Conv1D": "drawn",
        "Convolution1D": "alias", "EinsumDense": "not drawn"}
    assert table["Add"].detail.startswith("takes several inputs")
    assert coverage.share(list(table.values())) == (2, 3)


def test_the_running_keras_is_covered_as_the_registry_says():
    table = {r.name: r for r in coverage.rows()}
    for kind, info in REGISTRY.items():
        name = info.class_name or kind
        if info.available and hasattr(keras.layers, name):
            assert table[name].status in ("drawn", "alias"), (name, table[name])
    # The merge layers are excluded by their base class, whatever this Keras calls it.
    assert table["Concatenate"].status == "excluded"
    drawn, eligible = coverage.share(list(table.values()))
    assert 0 < drawn < eligible
    # A class not drawn says why (held back by its registry kind, or not built yet).
    silent = [name for name, row in table.items() if row.status == "not drawn" and not row.detail]
    assert not silent, f"not drawn, with no reason: {silent}"


def test_a_kind_this_keras_cannot_build_says_so_before_it_says_not_yet_run(monkeypatch):
    # A kind waiting in NOT_YET_RUN whose probe also fails here (TFSMLayer on Keras 3.3 to
    # 3.8) is not waiting for a run: the row gives the probe's reason, the kind's note.
    import dataclasses

    from equivalence import layers

    def broken():
        raise RuntimeError("cannot be built here")

    for probe, expected in ((broken, "the probe's reason"), (None, layers.NOT_YET_RUN_NOTE)):
        info = dataclasses.replace(REGISTRY["Dense"], probe=probe, note="the probe's reason")
        monkeypatch.setitem(REGISTRY, "Dense", info)
        monkeypatch.setitem(layers.NOT_YET_RUN, "Dense", frozenset())
        monkeypatch.setattr(layers, "_PROBED", {})
        table = {r.name: r for r in coverage.rows(keras.layers, {"Dense": info})}
        assert table["Dense"].status == "not drawn"
        assert table["Dense"].detail.endswith(expected), table["Dense"].detail


def _run(*args):
    return subprocess.run([sys.executable, "-m", "equivalence.coverage", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_fail_under_and_bad_input():
    full = _run("--fail-under", "100")
    assert full.returncode == 1 and "eligible layer classes drawn" in full.stdout
    assert "under --fail-under 100%" in full.stderr
    assert _run("--fail-under", "1").returncode == 0
    bad = _run("--fail-under", "150")
    lines = ours(bad.stderr)
    assert bad.returncode == 2 and len(lines) == 1 and "--fail-under" in lines[0], bad.stderr
