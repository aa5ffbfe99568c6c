"""Planted discrepancies: the suite must catch each one, say where, and leave a repro."""
import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import plants

from equivalence import checks
from equivalence.checks import CHECKS, Discrepancy, verify
from equivalence.portable import SubclassedStack
from equivalence.spec import InputSpec, LayerSpec, StackSpec

DENSE = StackSpec(InputSpec("vector", (3,)), (LayerSpec.of("Dense", units=2),), seed=1)
DROPOUT = StackSpec(InputSpec("vector", (6,)),
                    (LayerSpec.of("Dense", units=4), LayerSpec.of("Dropout", rate=0.5, seed=7)))
MASKED = StackSpec(InputSpec("tokens", (5,), "int32", 9),
                   (LayerSpec.of("Embedding", input_dim=9, output_dim=3, mask_zero=True),
                    LayerSpec.of("Dense", units=2)))  # passes the mask on in every Keras
REGULARIZED = StackSpec(InputSpec("vector", (3,)),
                        (LayerSpec.of("Dense", units=2, kernel_regularizer="l2"),))


@pytest.fixture(autouse=True)
def results_in_tmp(isolated_results):
    return isolated_results


def plant(monkeypatch, check, change):
    """Make `check` observe `change(observation)` on the subclassed model only."""
    original = CHECKS[check]

    def observe(model, x):
        obs = original.observe(model, x)
        return change(obs) if isinstance(model, SubclassedStack) else obs

    monkeypatch.setitem(CHECKS, check, dataclasses.replace(original, observe=observe))


def assert_caught(spec, check, tmp_path, pattern):
    with pytest.raises(Discrepancy, match=pattern) as info:
        verify(check, spec)
    message = str(info.value)
    assert "subclassed" in message and spec.to_json() in message
    repro = next(tmp_path.glob("failures/*/repro.py"))
    for script in (repro, repro.parent / "minimal.py"):  # complete, valid scripts
        compile(script.read_text(), str(script), "exec")
    assert {p.name for p in repro.parent.iterdir()} >= {"spec.json", "inputs.npz",
                                                        "weights.npz", "failure.json",
                                                        "minimal.py"}
    # The replay hint is one token: a separate PATH would be taken for a test path, and a
    # failure under another checkout would load that checkout's conftest (a second
    # --replay option, a traceback).
    assert f"pytest --replay={repro.parent / 'spec.json'}" in message
    return message


def test_one_ulp_in_one_api_output_is_caught(monkeypatch, results_in_tmp):
    plant(monkeypatch, "call", lambda o: {"call": np.nextafter(o["call"], np.inf)})
    assert_caught(DENSE, "call", results_in_tmp, "elements differ.*bitwise")


def test_training_flag_dropped_in_subclassed_call_is_caught(monkeypatch, results_in_tmp):
    original = SubclassedStack.call
    monkeypatch.setattr(SubclassedStack, "call",
                        lambda self, inputs, training=None, mask=None:
                        original(self, inputs, training=False, mask=mask))
    assert_caught(DROPOUT, "training_calls", results_in_tmp, "train_0")


def test_dropped_mask_is_caught(monkeypatch, results_in_tmp):
    original = SubclassedStack.call
    monkeypatch.setattr(SubclassedStack, "call",
                        lambda self, inputs, training=None, mask=None:
                        tf.identity(original(self, inputs, training, mask)))
    assert_caught(MASKED, "output_mask", results_in_tmp, "mask")


def test_swapped_flat_weights_are_caught(monkeypatch, results_in_tmp):
    plant(monkeypatch, "flat_weights",
          lambda o: {"get_weights": o["get_weights"][::-1]})
    assert_caught(DENSE, "flat_weights", results_in_tmp, r"get_weights\[0\]")


def test_changed_regularization_loss_is_caught(monkeypatch, results_in_tmp):
    plant(monkeypatch, "losses",
          lambda o: {**o, "losses": [loss * np.float32(1.5) for loss in o["losses"]]})
    assert_caught(REGULARIZED, "losses", results_in_tmp, "losses")


def test_artifacts_are_written_only_for_the_final_hypothesis_example(monkeypatch, tmp_path):
    plant(monkeypatch, "call", lambda o: {"call": o["call"] + 1})
    monkeypatch.setattr(checks, "_is_final_example", lambda: False)
    with pytest.raises(Discrepancy, match="shrinking"):
        verify("call", DENSE)
    assert not list(tmp_path.glob("failures/*"))


# Planted into Keras itself (tests/plants.py): the suite must catch each, and the repro it
# writes, run with the same plant in place, must reproduce it (exit 1).
TRAINING = checks.DEFAULT_MODE.training("sgd_momentum", "mse")
BATCHNORM = StackSpec(InputSpec("vector", (3,)),
                      (LayerSpec.of("BatchNormalization"), LayerSpec.of("Dense", units=2)),
                      seed=2)
ACTIVATED = StackSpec(InputSpec("vector", (3,)),
                      (LayerSpec.of("Dense", units=2, activation="relu"),), seed=3)


def run_repro(repro, plant_name):
    """Run a written repro in a fresh interpreter with the plant applied first."""
    code = ("import runpy, sys; sys.path.insert(0, 'tests'); import plants; "
            f"plants.{plant_name}(setattr); runpy.run_path({str(repro)!r}, run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).parent.parent, timeout=600)


@pytest.mark.parametrize("plant_name, check, spec, mode, pattern", [
    ("batchnorm_stats_not_restored", "resume", BATCHNORM, TRAINING,
     r"resumed vs uninterrupted\.at_load\.weights\.l0_batchnormalization::2"),
    ("optimizer_state_lost", "resume", DENSE, TRAINING,
     r"resumed vs uninterrupted\.at_load\.optimizer"),
    ("loss_scaled", "fit", DENSE, TRAINING, r"subclassed vs sequential: loss"),
    ("activation_dropped_from_config", "config", ACTIVATED, checks.DEFAULT_MODE,
     r"from_config vs original\.config"),
], ids=["batchnorm-stats", "optimizer-state", "loss-scaled", "activation-dropped"])
def test_planted_keras_bug_is_caught_with_a_working_repro(monkeypatch, results_in_tmp,
                                                          plant_name, check, spec, mode,
                                                          pattern):
    getattr(plants, plant_name)(monkeypatch.setattr)
    with pytest.raises(Discrepancy, match=pattern):
        verify(check, spec, mode)
    (directory,) = results_in_tmp.glob("failures/*")
    for script in ("repro.py", "minimal.py"):  # the suite's code, and plain Keras
        planted = run_repro(directory / script, plant_name)
        assert planted.returncode == 1 and "\nREPRODUCED" in planted.stdout, \
            script + planted.stdout + planted.stderr
        clean = run_repro(directory / script, "none")  # Keras as shipped: clean
        assert clean.returncode == 0 and "NOT REPRODUCED" in clean.stdout, \
            script + clean.stdout + clean.stderr
