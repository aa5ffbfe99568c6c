"""The user's own layers: an installed package's entry point (or --parity-layers) adds its
kinds, every check runs on them, and a malformed entry is one line and exit 2.

examples/parity-example-layers/ is such a package (two custom layers, its own
pyproject.toml); it is installed here into a scratch folder, not into the environment.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from equivalence import plugins
from equivalence.checks import CHECKS, DEFAULT_MODE, verify
from equivalence.layers import REGISTRY
from equivalence.spec import InputSpec, LayerSpec, StackSpec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "parity-example-layers"


@pytest.fixture
def fresh_registry(monkeypatch):
    """Kinds a test's plugins register are removed from the registry afterwards."""
    before = set(REGISTRY)
    monkeypatch.setattr(plugins, "LOADED", {})
    yield REGISTRY
    for kind in set(REGISTRY) - before:
        del REGISTRY[kind]


@pytest.fixture
def example_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))


def test_the_example_kinds_pass_every_check(fresh_registry, example_on_path,
                                            isolated_results):
    assert plugins.load("parity_example_layers.parity") == ["ScaledDense", "TrainingShift"]
    spec = StackSpec(InputSpec("sequence", (4, 3)),
                     (LayerSpec.of("ScaledDense", units=2, scale=2.0),
                      LayerSpec.of("TrainingShift", shift=0.5, penalty=0.01)), batch=4)
    for name, check in CHECKS.items():  # outputs, structure, saving, training
        mode = DEFAULT_MODE.training("sgd_momentum", "mse") if check.trains else DEFAULT_MODE
        verify(name, spec, mode)


def test_a_failure_on_user_layers_has_a_repro_that_rebuilds_them(
        fresh_registry, example_on_path, isolated_results, monkeypatch):
    # A difference planted into the suite's Subclassed observation: the repro cannot
    # reproduce a plant (it observes with its own code), but it must rebuild the user's
    # layers from their configs, importing their module: exit 0 (ran, no difference), not
    # 2 (the script failed).
    import dataclasses

    import numpy as np

    from equivalence.checks import Discrepancy

    plugins.load("parity_example_layers.parity")
    original = CHECKS["call"]

    def observe(model, x, **kwargs):
        obs = original.observe(model, x, **kwargs)
        if type(model).__name__ == "SubclassedStack":
            obs = {k: v + 1 if isinstance(v, np.ndarray) else v for k, v in obs.items()}
        return obs

    monkeypatch.setitem(CHECKS, "call", dataclasses.replace(original, observe=observe))
    spec = StackSpec(InputSpec("vector", (3,)), (LayerSpec.of("ScaledDense", units=2),))
    with pytest.raises(Discrepancy):
        verify("call", spec)
    (repro,) = isolated_results.glob("failures/*/repro.py")
    run = _run([str(repro)], EXAMPLE, cwd=isolated_results)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]


def _bad_module(tmp_path, name, body):
    (tmp_path / f"{name}.py").write_text(body)
    return name


@pytest.mark.parametrize("name, body, words", [
    ("no_layers", "X = 1\n", "has no LAYERS"),
    ("not_info", "LAYERS = ['Dense']\n", "is not a LayerInfo"),
    ("not_a_layer", "from hypothesis import strategies as st\n"
                    "from equivalence.layers import LayerInfo\n"
                    "LAYERS = [LayerInfo('Mine', 'user', lambda s: st.just({}), "
                    "frozenset({1}), cls=dict)]\n", "is not a keras.layers.Layer subclass"),
    ("no_strategy", "from equivalence.compat import keras\n"
                    "from equivalence.layers import LayerInfo\n"
                    "LAYERS = [LayerInfo('Mine', 'user', lambda s: {}, frozenset({1}), "
                    "cls=keras.layers.Layer)]\n", "has no config strategy"),
    ("clash", "from hypothesis import strategies as st\n"
              "from equivalence.compat import keras\n"
              "from equivalence.layers import LayerInfo\n"
              "LAYERS = [LayerInfo('Dense', 'user', lambda s: st.just({}), frozenset({1}), "
              "cls=keras.layers.Layer)]\n", "is already registered"),
    ("broken_import", "import no_such_package_here\n", "cannot import it"),
])
def test_a_malformed_entry_is_refused_naming_it(fresh_registry, tmp_path, monkeypatch,
                                                name, body, words):
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(plugins.BadPlugin, match=words) as caught:
        plugins.load(_bad_module(tmp_path, name, body))
    assert f"--parity-layers {name}" in str(caught.value)
    assert "\n" not in str(caught.value)


def _run(args, pythonpath, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(pythonpath),
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    for key in [k for k in env if k.startswith("PYTEST_XDIST")]:
        del env[key]
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_malformed_entry_under_pytest_is_one_line_and_exit_2(tmp_path):
    _bad_module(tmp_path, "no_layers", "X = 1\n")
    run = _run(["-m", "pytest", "tests/test_spec.py", "-p", "no:cacheprovider",
                "--parity-layers=no_layers"], tmp_path)
    # TensorFlow's own C++ chatter on stderr (tf-nightly prints a CUDA trace) is not ours:
    # ours is the one line that names keras-parity.
    ours = [ln for ln in (run.stdout + run.stderr).splitlines() if "keras-parity" in ln]
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert len(ours) == 1 and "--parity-layers no_layers" in ours[0], ours
    assert not run.stdout.strip(), run.stdout


def test_an_installed_package_is_found_by_its_entry_point(tmp_path):
    # pip installs the example (no dependencies, no build isolation: offline) into a
    # scratch folder; on PYTHONPATH its dist-info declares the entry point.
    target, source = tmp_path / "site", tmp_path / "src"
    shutil.copytree(EXAMPLE, source)  # a build writes into its source tree: not into ours
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                          "--no-build-isolation", "--target", str(target), str(source)],
                         capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr[-2000:]
    coverage = _run(["-m", "equivalence.coverage"], target)
    assert coverage.returncode == 0, coverage.stderr[-2000:]
    assert ("2 user kinds: ScaledDense, TrainingShift" in coverage.stdout
            and "from entry point example = parity_example_layers.parity:LAYERS"
            in coverage.stdout), coverage.stdout[-2000:]
    # and the suite draws them: the registry's meta-tests run on the user's kinds
    run = _run(["-m", "pytest", "tests/test_registry.py", "-q", "-p", "no:cacheprovider",
                "-k", "ScaledDense or TrainingShift"], target)
    assert run.returncode == 0 and " passed" in run.stdout, run.stdout[-3000:]
