"""The training flag: seeded training-mode calls, BatchNormalization updates included."""
from hypothesis import given

from equivalence.checks import verify
from equivalence.strategies import stacks, with_feature_stacks


@given(spec=stacks())
@with_feature_stacks()
def test_training_calls_match_sequential(spec):
    verify("training_calls", spec)
