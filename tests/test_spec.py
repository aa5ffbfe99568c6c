"""StackSpec / LayerSpec: JSON round trips, tuples, schema versions, bad input."""
import json

import pytest
from hypothesis import given

from equivalence.builders import validate
from equivalence.spec import (SCHEMA_VERSION, InputSpec, LayerSpec, SpecError, StackSpec,
                              load_spec)
from equivalence.strategies import stacks


@given(spec=stacks())
def test_every_drawn_spec_round_trips_through_json(spec):
    assert StackSpec.from_json(spec.to_json()) == spec


def test_tuples_survive_the_round_trip():
    spec = StackSpec(InputSpec("image", (4, 4, 1)),
                     (LayerSpec.of("ZeroPadding2D", padding=((1, 0), (0, 1))),))
    back = StackSpec.from_json(spec.to_json())
    assert back.layers[0].params["padding"] == ((1, 0), (0, 1))
    assert isinstance(back.input.shape, tuple)


def test_digest_is_stable_and_distinguishes_specs():
    a = StackSpec(InputSpec("vector", (3,)), (LayerSpec.of("Dense", units=2),))
    b = StackSpec(InputSpec("vector", (3,)), (LayerSpec.of("Dense", units=3),))
    assert a.digest == StackSpec.from_json(a.to_json()).digest != b.digest


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ('{"__type__": "StackSpec", "schema_version": 1', "not valid JSON"),
    ("[1, 2]", "not a StackSpec"),
    ('{"__type__": "StackSpec"}', "schema_version"),
    ('{"__type__": "StackSpec", "schema_version": 1, "input": 3}', "malformed"),
])
def test_malformed_spec_json_raises_spec_error(text, message):
    with pytest.raises(SpecError, match=message):
        StackSpec.from_json(text)


def test_newer_schema_is_refused_with_the_versions_named():
    raw = json.loads(StackSpec(InputSpec("vector", (1,)), ()).to_json())
    raw["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(SpecError, match=f"version {SCHEMA_VERSION + 1} is newer"):
        StackSpec.from_json(json.dumps(raw))


def test_unknown_layer_kind_is_refused():
    spec = StackSpec(InputSpec("vector", (1,)), (LayerSpec.of("Quantum", qubits=3),))
    with pytest.raises(SpecError, match="unknown layer kind 'Quantum'"):
        validate(StackSpec.from_json(spec.to_json()))


def test_load_spec_reads_a_failure_directory_and_reports_missing_files(tmp_path):
    spec = StackSpec(InputSpec("vector", (2,)), (LayerSpec.of("Dense", units=1),))
    (tmp_path / "spec.json").write_text(spec.to_json())
    assert load_spec(tmp_path) == spec
    with pytest.raises(SpecError, match="no spec file"):
        load_spec(tmp_path / "missing")
