"""Known entries tolerate a difference only where their cause is at work.

A new discrepancy planted into one API, in a stack and check where a known entry applies
(the entry's own example), must still be reported; overlapping entries are declared.
"""
import dataclasses

import numpy as np
import pytest

from equivalence import compat, known
from equivalence.causes import SelfDisagrees, Workaround
from equivalence.checks import CHECKS, Discrepancy, verify
from equivalence.compare import ERROR
from equivalence.spec import InputSpec, LayerSpec, StackSpec
from equivalence.portable import observe_safely


@pytest.fixture(autouse=True)
def results_in_tmp(isolated_results):
    return isolated_results


def plant(monkeypatch, check, api_class, change):
    """`check` observes change(observation) on models whose class is `api_class`."""
    original = CHECKS[check]

    def observe(model, x, **kwargs):
        if type(model).__name__ != api_class:
            return original.observe(model, x, **kwargs)
        return change(observe_safely(original.observe, model, x, **kwargs))

    monkeypatch.setitem(CHECKS, check, dataclasses.replace(original, observe=observe))


def entry(name):
    found = next(e for e in known.KNOWN if e.name == name)
    if not found.in_range():
        pytest.skip(f"{name} is outside its Keras range here: nothing to plant on")
    return found


def _next_ulp(obs):
    return {k: np.nextafter(v, np.inf) if isinstance(v, np.ndarray) else v
            for k, v in obs.items()}


def test_workaround_entry_does_not_hide_another_difference(monkeypatch):
    # The autocast entry explains the subclassed model's rounded inputs; one more ulp in
    # its output is not explained by turning the autocast off.
    e = entry("subclassed-autocasts-inputs")
    plant(monkeypatch, "call", "SubclassedStack", _next_ulp)
    with pytest.raises(Discrepancy, match="subclassed vs sequential: call"):
        verify("call", e.example)


@pytest.mark.parametrize("name", ["legacy-h5-unknown-subclassed",
                                  "legacy-h5-refuses-subclassed"])
def test_raises_entry_matches_only_its_exception(monkeypatch, name):
    e = entry(name)
    plant(monkeypatch, "legacy_h5", "SubclassedStack",
          lambda obs: {ERROR: "OSError: Unable to synchronously open file"})
    with pytest.raises(Discrepancy, match="OSError"):
        verify("legacy_h5", e.example)


def test_repair_entry_does_not_hide_another_config_change(monkeypatch):
    # Sequential's dropped model policy is repaired; a changed layer name is not.
    e = entry("sequential-from-config-drops-policy")

    def rename(obs):
        obs["loaded"]["config"]["layers"][-1]["config"]["name"] = "renamed"
        return obs

    plant(monkeypatch, "keras_file", "Sequential", rename)
    with pytest.raises(Discrepancy, match="sequential: loaded vs original.config"):
        verify("keras_file", e.example)


@pytest.mark.parametrize("name", ["functional-weight-paths", "subclassed-weight-paths"])
def test_path_entry_does_not_hide_reordered_paths(monkeypatch, name):
    e = entry(name)
    api_class = "Functional" if "functional" in name else "SubclassedStack"
    plant(monkeypatch, "weight_paths", api_class, lambda obs: {"paths": obs["paths"][::-1]})
    with pytest.raises(Discrepancy, match="paths"):
        verify("weight_paths", e.example)


def test_seed_state_entry_does_not_hide_a_changed_loss(monkeypatch):
    e = entry("seed-state-not-saved")

    def scale(obs):
        obs["resumed"]["loss"] = obs["resumed"]["loss"] * np.float32(2)
        return obs

    plant(monkeypatch, "resume", "SubclassedStack", scale)
    from equivalence.checks import DEFAULT_MODE
    with pytest.raises(Discrepancy, match="subclassed: resumed vs uninterrupted"):
        verify("resume", e.example, DEFAULT_MODE.training("sgd_momentum", "mse"))


def test_entries_that_meet_in_a_cell_say_so():
    # Two entries that may both explain one cell of an example must name each other: an
    # undeclared overlap is an entry covering more than its cause.
    by_name = {e.name: e for e in known.KNOWN}
    assert len(by_name) == len(known.KNOWN), "entry names must be unique"
    for e in known.KNOWN:
        if not e.in_range():
            continue
        for check, api in e.cells():
            for other in known.lookup(check, api, e.example, jit_compile=e.jit_only):
                assert other is e or other.name in e.overlaps or e.name in other.overlaps, \
                    f"{e.name} and {other.name} both apply to {check} × {api} undeclared"
        for name in e.overlaps:
            assert name in by_name, f"{e.name} overlaps an unknown entry {name!r}"


def test_every_entry_has_a_cause_a_recogniser_and_a_range():
    for e in known.KNOWN:
        assert e.cause and e.where and e.recognise and e.cells()
        assert e.upstream is None or "#" in e.upstream
        low, high = e.keras
        assert low is not None and (high is None or compat.version_triple(low)
                                    <= compat.version_triple(high))


def _synthetic(monkeypatch, *entries):
    """known.KNOWN holding only these entries (in range everywhere, any spec)."""
    monkeypatch.setattr(known, "KNOWN", tuple(
        known.Known(name=f"synthetic-{i}", cause="planted", upstream=None, where="here",
                    keras=("0.0.0", None), example=_ONE, **fields)
        for i, fields in enumerate(entries)))


_ONE = StackSpec(InputSpec("vector", (1,)), (LayerSpec.of("Dense", units=1),))


def _explain(observed, again, jit_compile=True):
    from equivalence.checks import CHECKS, compare

    check = CHECKS["fit"]
    problems = compare(check, _ONE, observed)
    return known.explain("fit", _ONE, observed, problems,
                         compare=lambda obs: compare(check, _ONE, obs),
                         reobserve=lambda names: again, jit_compile=jit_compile)


def _obs(seq, fun, sub):
    return {"sequential": {"loss": np.float32(seq)}, "functional": {"loss": np.float32(fun)},
            "subclassed": {"loss": np.float32(sub)}}


def test_self_disagreement_explains_only_where_a_second_run_shows_it(monkeypatch):
    _synthetic(monkeypatch, dict(recognise=SelfDisagrees("planted"), checks=("fit",),
                                 apis=("subclassed",), jit_only=True))
    first = _obs(1, 1, 2)
    # Observed again the same: the difference is the API's, not noise.
    assert _explain(first, _obs(1, 1, 2)) == {}
    # Sequential comes out otherwise the second time: the check is not reproducible.
    assert list(_explain(first, _obs(3, 1, 2))) == ["subclassed"]
    # The entry is for jit_compile only.
    assert _explain(first, _obs(3, 1, 2), jit_compile=False) == {}


def test_a_workaround_explains_only_the_apis_whose_entry_brings_it(monkeypatch):
    # With the workaround in place every API agrees; but only Functional's difference has
    # an entry with that workaround, so Subclassed's stays a discrepancy.
    _synthetic(monkeypatch, dict(recognise=Workaround("noise_off", "planted"),
                                 checks=("fit",), apis=("functional",)))
    assert list(_explain(_obs(1, 2, 2), _obs(1, 1, 1))) == ["functional"]


def test_a_discrepancy_that_does_not_reproduce_says_so(monkeypatch):
    rng = np.random.default_rng(0)
    plant(monkeypatch, "call", "SubclassedStack",
          lambda obs: {**obs, "call": rng.random(np.shape(obs["call"]))})
    with pytest.raises(Discrepancy, match="does not reproduce inside one API: observed "
                                          "again, subclassed differ"):
        verify("call", _ONE)


def test_a_saving_discrepancy_that_reproduces_does_not_say_otherwise(monkeypatch):
    # Observed again, each API's saved model has an Input Keras numbered anew (input_layer_7,
    # then input_layer_8): that is no disagreement with itself, and the report must not say
    # the difference "may not be the APIs' doing".
    def renamed(obs):
        return {**obs, "loaded": {**obs["loaded"], "planted": "renamed"}}

    plant(monkeypatch, "keras_file", "SubclassedStack", renamed)
    with pytest.raises(Discrepancy) as raised:
        verify("keras_file", _ONE)
    assert "subclassed" in str(raised.value)
    assert "does not reproduce" not in str(raised.value)


_GROUP_NORM_FIRST = StackSpec(InputSpec("vector", (3,)),
                              (LayerSpec.of("GroupNormalization", groups=1),),
                              policy="mixed_float16", batch=8)


def test_a_layer_that_stops_autocasting_is_asked_not_listed():
    # Keras 3.15's GroupNormalization turned its input autocast off (3.14.1 had it on, found
    # by the matrix on tflatest): the autocast entry must follow the layer, not a list.
    keras = compat.version_triple(compat.KERAS_VERSION)
    assert known.does_not_autocast(_GROUP_NORM_FIRST.layers[0]) == (keras >= (3, 15, 0))
    assert known.does_not_autocast(LayerSpec.of("LayerNormalization")) == (keras >= (3, 0, 0))
    assert not known.does_not_autocast(LayerSpec.of("Dense", units=1))
    # Where GroupNormalization computes in float32 inputs the subclassed model's rounded
    # ones differ, and the entry explains exactly that; elsewhere nothing differs.
    verify("call", _GROUP_NORM_FIRST)


def test_auto_named_op_layers_are_matched_by_place_not_number():
    # Keras 3.5's from_config numbers the outer model's Cast before the nested model's; the
    # original was built inner first (found by the matrix on tf217): 11 is the original 8.
    from equivalence import causes

    def config(outer, inner):
        return {"layers": [{"name": f"cast_{outer}", "inbound_nodes": [f"cast_{outer}"]},
                           {"name": "l1_nested", "config": {"layers": [
                               {"name": f"cast_{inner}"}]}}]}

    rebuilt = config(11, 12)
    causes.rename_auto_named("cast")(rebuilt, config(8, 7))
    assert rebuilt == config(8, 7)
    other = config(11, 12)
    other["layers"].append({"name": "cast_13"})  # another structure: left as it is
    causes.rename_auto_named("cast")(other, config(8, 7))
    assert other["layers"][0]["name"] == "cast_11"
