"""Side outputs: regularization losses and the output mask."""
from hypothesis import given

from equivalence.checks import verify
from equivalence.strategies import stacks, with_feature_stacks


@given(spec=stacks())
@with_feature_stacks()
def test_losses_match_sequential(spec):
    verify("losses", spec)


@given(spec=stacks())
@with_feature_stacks()
def test_output_mask_matches_sequential(spec):
    verify("output_mask", spec)
