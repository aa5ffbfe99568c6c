"""Outputs: predict, predict_on_batch and __call__ agree across the three APIs."""
import pytest
from hypothesis import given

from equivalence.checks import MODES, verify
from equivalence.strategies import stacks, with_feature_stacks

modes = pytest.mark.parametrize("mode", MODES, ids=lambda m: m.id)


@modes
@given(spec=stacks())
@with_feature_stacks()
def test_predict_matches_sequential(spec, mode):
    verify("predict", spec, mode)


@modes
@given(spec=stacks())
@with_feature_stacks()
def test_predict_on_batch_matches_sequential(spec, mode):
    verify("predict_on_batch", spec, mode)


@given(spec=stacks())
@with_feature_stacks()
def test_call_matches_sequential(spec):
    verify("call", spec)


@modes
@given(spec=stacks())
@with_feature_stacks()
def test_predict_matches_call_within_each_api(spec, mode):
    # predict runs in a tf.function, __call__ eagerly: a named tolerance applies here.
    verify("predict_vs_call", spec, mode)
