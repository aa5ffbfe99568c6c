"""Training: fit, the batch-level methods, gradients and resuming agree across APIs.

Op determinism is on and shuffle off; the optimizer, the loss and steps_per_execution are
drawn, jit_compile and run_eagerly are explicit parameters.
"""
import pytest
from hypothesis import given

from equivalence.checks import MODES, verify
from equivalence.strategies import (feature_stack_in_default_mode, share, trainable_stacks,
                                    training_cases, with_feature_stacks)

modes = pytest.mark.parametrize("mode", MODES, ids=lambda m: m.id)
# Training a stack three times costs 1-10 s (an XLA compile per model in the jit mode), so
# a training test gets a sixth of the profile's examples per mode: 1 under dev, 50 nightly.
per_mode = share(1 / 6)


@modes
@per_mode
@given(drawn=training_cases())
@with_feature_stacks("drawn", training=True)
def test_fit_matches_sequential(drawn, mode):
    spec, config = drawn
    feature_stack_in_default_mode(spec, mode)
    verify("fit", spec, mode.training(*config))


@modes
@per_mode
@given(drawn=training_cases(batch_methods=True))
@with_feature_stacks("drawn", training=True)
def test_batch_methods_match_sequential(drawn, mode):
    spec, config = drawn
    feature_stack_in_default_mode(spec, mode)
    verify("train_steps", spec, mode.training(*config))


@given(spec=trainable_stacks())
@with_feature_stacks()
def test_gradients_match_sequential(spec):
    verify("gradients", spec)


@modes
@per_mode
@given(drawn=training_cases())
@with_feature_stacks("drawn", training=True)
def test_resumed_training_matches_uninterrupted(drawn, mode):
    spec, config = drawn
    feature_stack_in_default_mode(spec, mode)
    verify("resume", spec, mode.training(*config))
