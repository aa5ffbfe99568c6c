"""Draws that cover what matters: every check meets every feature, in every profile."""
import importlib
import inspect
import pkgutil

import pytest

import equivalence
from equivalence import features, strategies, summary
from equivalence.builders import build
from equivalence.checks import CHECKS, verify
from equivalence.features import FEATURES, features_of
from equivalence.layers import REGISTRY
from equivalence.layers.examples import FEATURE_STACKS
from equivalence.spec import InputSpec, LayerSpec, StackSpec

PLAIN = StackSpec(InputSpec("vector", (2,)), (LayerSpec.of("Dense", units=1),))


def _property_tests():
    """(name, test) for every Hypothesis test of the equivalence suite."""
    for info in pkgutil.iter_modules(equivalence.__path__):
        if info.name.startswith("test_"):
            module = importlib.import_module(f"equivalence.{info.name}")
            for name, fn in inspect.getmembers(module, inspect.isfunction):
                if name.startswith("test_") and hasattr(fn, "hypothesis"):
                    yield f"{info.name}::{name}", fn


def _explicit_specs(test):
    inner = test.hypothesis.inner_test
    for ex in getattr(inner, "hypothesis_explicit_examples", ()):
        (value,) = ex.kwargs.values()
        yield value[0] if isinstance(value, tuple) else value


def _had(spec):
    return features_of(spec, build(spec, "sequential"))


def test_the_feature_stacks_hold_every_feature_and_a_plain_stack_none():
    # Each recogniser can fail both ways: the plain stack has none of the features.
    assert set().union(*map(_had, FEATURE_STACKS)) == set(FEATURES)
    assert _had(PLAIN) == set()


def _layer(kind):
    return LayerSpec.of(kind, **{"Dense": {"units": 2}, "Activation": {"activation": "relu"}}
                        .get(kind, {}))


@pytest.mark.parametrize("kinds, expected", [
    (("BatchNormalization", "Dense"), True),
    (("BatchNormalization", "BatchNormalization"), True),  # the second one's gamma, beta
    (("Dense", "BatchNormalization"), False),  # its statistics come after every weight
    (("BatchNormalization", "Activation"), False),
])
def test_state_before_weights_is_asked_of_the_built_layers(kinds, expected):
    spec = StackSpec(InputSpec("vector", (2,)), tuple(map(_layer, kinds)))
    assert ("state_before_weights" in _had(spec)) == expected


def test_every_property_test_meets_every_feature():
    # The feature stacks are explicit examples of every property test, so a profile that
    # draws nothing with a feature still checks it (dev's six derandomized draws).
    if strategies.REPLAY is not None or strategies.FOCUS:
        pytest.skip("--replay / --parity-kinds run other stacks by design")
    tests = dict(_property_tests())
    # Every check runs in one of them (a group's test runs several).
    covered = set().union(*(getattr(t, "parity_checks", ()) for t in tests.values()))
    assert covered == {c.name for c in CHECKS.values() if not c.not_here()}
    for name, test in tests.items():
        specs = list(_explicit_specs(test))
        missing = set(FEATURES) - set().union(*map(_had, specs)) if specs else set(FEATURES)
        assert not missing, f"{name} never meets {sorted(missing)}"


def test_the_summary_records_per_check_what_its_stacks_had(isolated_results):
    verify("call", FEATURE_STACKS[0])
    verify("call", PLAIN)
    met = summary.snapshot()["features"]["call"]
    assert {name: met.get(name) for name in FEATURES} == dict.fromkeys(FEATURES, 1)
    assert met["family:core"] == 2 and met["family:tokens"] == 1
    combined = summary.combine([summary.snapshot(), summary.snapshot()])
    assert combined["features"]["call"]["family:core"] == 4


def test_families_are_the_registrys():
    assert features.families_of(FEATURE_STACKS[0]) >= {"tokens", "normalization", "core",
                                                       "noise"}


def test_met_names_what_each_check_missed_and_exits_1(tmp_path, capsys):
    full = {name: 1 for name in FEATURES}
    path = tmp_path / "summary.json"
    summary.write_json({"stacks": [], "checks": 2, "features": {
        "call": {**full, "family:core": 1},
        "fit": {**{k: 1 for k in FEATURES if k != "mixed_policy"}, "family:core": 1}}}, path)
    assert summary.main(["met", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == ["call: met every feature", "fit: missed mixed_policy"]
    assert summary.missed(summary._load(path), {"core", "conv"}) == {
        "call": ["family:conv"], "fit": ["family:conv", "mixed_policy"]}


@pytest.mark.parametrize("content, words", [
    ('{"stacks": [], "checks": 0}', "no per-check features"),
    ("not json", "error:"),
])
def test_met_refuses_a_summary_it_cannot_read_in_one_line(tmp_path, capsys, content, words):
    path = tmp_path / "summary.json"
    path.write_text(content)
    assert summary.main(["met", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]


def test_in_ci_every_check_carries_a_stack_of_every_family_drawn_here():
    # 25 derandomized draws cannot promise that (a training check has 4 a mode): the ci,
    # nightly and families profiles add one explicit stack per family; dev does not (its
    # run time is the default test run's).
    stacks = strategies.family_stacks()
    drawn = {REGISTRY[k].family for k in strategies.kinds_drawable() if not REGISTRY[k].nests}
    assert set().union(*map(features.families_of, stacks)) == drawn
    assert all(strategies.trains(spec) for spec in stacks)  # the training checks take them
    assert strategies.explicit_stacks("ci") == FEATURE_STACKS + stacks
    assert strategies.explicit_stacks("nightly") == strategies.explicit_stacks("families")
    assert strategies.explicit_stacks("dev") == FEATURE_STACKS
    assert strategies.family_stacks.__wrapped__() == stacks  # the same stacks every time
