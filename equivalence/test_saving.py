"""Saving and loading: every API keeps everything through every format, and weights files
move between every ordered pair of APIs."""
import pytest
from hypothesis import given

from equivalence import compat
from equivalence.checks import verify
from equivalence.strategies import share, stacks, with_feature_stacks

# Every saving check writes and reads files for three models: half the profile's examples
# (3 under dev, 150 nightly).
half = share(1 / 2)


@half
@given(spec=stacks())
@with_feature_stacks()
def test_keras_file_round_trip(spec):
    verify("keras_file", spec)


@half
@given(spec=stacks())
@with_feature_stacks()
def test_weights_file_loads_into_every_api(spec):
    verify("weights_file", spec)


@pytest.mark.skipif(compat.IS_KERAS3, reason="Keras 3's save_weights writes .weights.h5 "
                    "only; TF-format checkpoints are Keras 2's")
@half
@given(spec=stacks())
@with_feature_stacks()
def test_weights_checkpoint_loads_into_every_api(spec):
    verify("weights_checkpoint", spec)


@half
@given(spec=stacks())
@with_feature_stacks()
def test_config_and_json_round_trips(spec):
    verify("config", spec)


@half
@given(spec=stacks())
@with_feature_stacks()
def test_exported_saved_model_serves_the_same_outputs(spec):
    verify("export", spec)


@half
@given(spec=stacks())
@with_feature_stacks()
def test_legacy_h5_round_trip(spec):
    verify("legacy_h5", spec)
