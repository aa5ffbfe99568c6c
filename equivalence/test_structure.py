"""Structure: output shape and dtype, weights (names, shapes, order, split), flat order."""
from hypothesis import given

from equivalence.checks import verify
from equivalence.strategies import stacks, with_feature_stacks


@given(spec=stacks())
@with_feature_stacks()
def test_output_shape_and_dtype_match_sequential(spec):
    verify("output_spec", spec)


@given(spec=stacks())
@with_feature_stacks()
def test_weights_and_count_params_match_sequential(spec):
    verify("weights", spec)


@given(spec=stacks())
@with_feature_stacks()
def test_flat_get_weights_order_matches_sequential(spec):
    verify("flat_weights", spec)


@given(spec=stacks())
@with_feature_stacks()
def test_weight_paths_match_sequential(spec):
    verify("weight_paths", spec)
