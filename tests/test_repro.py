"""A failure's repros: repro.py (the suite's own code) and minimal.py (plain Keras), each run
in a fresh interpreter; `python -m equivalence.repro --known`."""
import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from equivalence import artifacts, known, repro
from equivalence.builders import build_all, validate
from equivalence.checks import CHECKS, DEFAULT_MODE, Discrepancy, observe, verify
from equivalence.portable import APIS, leaf_layers, leaf_weights
from equivalence.spec import InputSpec, LayerSpec, SpecError, StackSpec
from lines import ours

ROOT = Path(__file__).resolve().parents[1]


def _script(path, *args, cwd):
    return subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def _imports(path):
    tree = ast.parse(path.read_text())
    return {alias.name.split(".")[0] for node in ast.walk(tree)
            if isinstance(node, ast.Import) for alias in node.names} | \
        {node.module.split(".")[0] for node in ast.walk(tree)
         if isinstance(node, ast.ImportFrom) and node.module}


@pytest.mark.parametrize("check", ["call", "predict"])
def test_both_repros_reproduce_a_real_discrepancy(check, isolated_results, monkeypatch):
    # The first known upstream discrepancy is real on this Keras: with the entry disabled
    # the suite reports it, and both scripts must reproduce it (exit 1) from elsewhere.
    entry = next(e for e in known.KNOWN if check in e.checks and e.in_range())
    monkeypatch.setattr(known, "KNOWN", ())
    with pytest.raises(Discrepancy):
        verify(check, entry.example)
    (directory,) = isolated_results.glob("failures/*")
    full = _script(directory / "repro.py", cwd=isolated_results)
    assert full.returncode == 1, full.stdout + full.stderr
    assert "REPRODUCED" in full.stdout and "subclassed vs sequential" in full.stdout
    minimal = _script(directory / "minimal.py", cwd=isolated_results)
    assert minimal.returncode == 1 and "\nREPRODUCED" in minimal.stdout, \
        minimal.stdout + minimal.stderr
    assert "subclassed" in minimal.stdout
    assert _imports(directory / "minimal.py") <= {"inspect", "json", "os", "tempfile", "numpy",
                                                  "tensorflow", "tf_keras"}


def test_repro_builds_the_models_the_suite_builds(isolated_results):
    # repro.py runs through equivalence.builders with the saved weights: the same configs
    # and, leaf by leaf, the same weights as the suite's models.
    spec = StackSpec(InputSpec("sequence", (4, 3)),
                     (LayerSpec.of("LSTM", units=2, return_sequences=True),
                      LayerSpec.of("Dense", units=2, kernel_regularizer="l2")), seed=5)
    directory = artifacts.write_repro(isolated_results / "case", spec, CHECKS["call"],
                                      DEFAULT_MODE, ("subclassed",))
    spec_, check, mode, failing, weights, x = repro.load_failure(directory)
    assert spec_ == spec and check.name == "call" and failing == ("subclassed",)
    rebuilt = observe(check, spec_, mode, weights=weights, x=x)[1]
    suite = build_all(spec)
    for api in APIS:  # layer by layer (a model's auto-numbered InputLayer name differs)
        assert type(rebuilt[api]) is type(suite[api])
        assert [layer.get_config() for layer in leaf_layers(rebuilt[api])] == \
            [layer.get_config() for layer in leaf_layers(suite[api])]
        a, b = leaf_weights(rebuilt[api]), leaf_weights(suite[api])
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_minimal_is_short_plain_keras_and_clean_where_the_apis_agree(isolated_results):
    spec = StackSpec(InputSpec("vector", (3,)),
                     (LayerSpec.of("Dense", units=2, activation="tanh"),
                      LayerSpec.of("Dense", units=1, kernel_regularizer="l2")), seed=2)
    directory = artifacts.write_repro(isolated_results / "case", spec, CHECKS["call"],
                                      DEFAULT_MODE, ("subclassed",))
    text = (directory / "minimal.py").read_text()
    assert len(text.splitlines()) <= 60, text
    assert "keras.layers.Dense(activation='tanh', units=2, name='l0_dense')" in text
    assert "np.load" not in text  # small inputs and weights are inline
    run = _script(directory / "minimal.py", cwd=isolated_results)
    assert run.returncode == 0 and "NOT REPRODUCED" in run.stdout, run.stdout + run.stderr


def _written_kinds():
    """Kinds minimal.py cannot write as `keras.layers.<Kind>(**config)`: a literal of their
    own, or a helper class whose source goes into the script."""
    from equivalence.layers import REGISTRY, available_kinds

    return [k for k in available_kinds()
            if REGISTRY[k].literal is not None or REGISTRY[k].helper is not None]


@pytest.mark.parametrize("kind", _written_kinds())
def test_minimal_writes_every_kind_that_builds_otherwise(kind, isolated_results):
    # Its literal (or helper) must build the layer the suite builds: the same config and
    # weights go in, and through a .keras file and back the three APIs agree (through a
    # weights file for a kind every API must refuse to reload: a Lambda's Python lambda).
    import dataclasses

    from hypothesis import Phase, find, settings
    from equivalence import strategies
    from equivalence.layers import REGISTRY

    # The simplest stack starting with the kind (its input family, vocabulary, strings)
    # and the Dense head.
    first = find(strategies._stacks(1, ("float32",), None, frozenset({kind})),
                 lambda s: strategies._head_fits(strategies._with_dense_head(s)),
                 settings=settings(database=None, derandomize=True, phases=[Phase.generate]))
    spec = dataclasses.replace(strategies._with_dense_head(first), seed=1)
    check = CHECKS["weights_file" if REGISTRY[kind].refusal else "keras_file"]
    directory = artifacts.write_repro(isolated_results / "case", spec, check,
                                      DEFAULT_MODE, ("subclassed",))
    run = _script(directory / "minimal.py", cwd=isolated_results)
    if known.lookup(check.name, "subclassed", spec):
        # A known cause acts on this stack here (Keras 2 rebuilds an adapted Normalization
        # in a subclassed model): the plain-Keras literal must reproduce it then.
        assert run.returncode == 1 and "\nREPRODUCED" in run.stdout, run.stdout + run.stderr
    else:
        assert run.returncode == 0 and "NOT REPRODUCED" in run.stdout, run.stdout + run.stderr
    assert _imports(directory / "minimal.py") <= {"inspect", "json", "os", "tempfile", "numpy",
                                                  "tensorflow", "tf_keras"}


def _one_entry_per_check():
    seen = set()
    for entry in known.KNOWN:
        try:
            validate(entry.example)
        except SpecError:
            continue
        # A machine-dependent entry may not show in its first check on this machine.
        if entry.in_range() and not entry.machine_dependent and entry.checks[0] not in seen:
            seen.add(entry.checks[0])
            yield pytest.param(entry, id=f"{entry.checks[0]}-{entry.name}")


@pytest.mark.parametrize("entry", list(_one_entry_per_check()))
def test_known_example_minimal_reproduces(entry, tmp_path):
    # One in-range known entry per check: its minimal.py, written by --known, reproduces
    # the difference in plain Keras.
    assert repro.main(["--known", entry.name, "--out", str(tmp_path)]) == 0
    run = _script(tmp_path / entry.name / "minimal.py", cwd=tmp_path)
    assert run.returncode == 1 and "\nREPRODUCED" in run.stdout, run.stdout + run.stderr


@pytest.mark.parametrize("args, words", [
    (["--known", "no-such-entry"], "no known entry 'no-such-entry'"),
    (["results"], "not a failure directory"),
    ([], "give failure directories or --known"),
])
def test_bad_input_is_one_line_and_exit_2(args, words, tmp_path):
    run = subprocess.run([sys.executable, "-m", "equivalence.repro", *args, "--out",
                          str(tmp_path)] if args and args[0] == "--known" else
                         [sys.executable, "-m", "equivalence.repro", *args],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    lines = ours(run.stdout + run.stderr)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert len(lines) == 1 and words in lines[0], lines
