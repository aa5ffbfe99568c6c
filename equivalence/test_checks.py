"""The property tests: one per check of `equivalence.checks.CHECKS`, generated from its
fields, so a new check is one entry in that table.

A test draws what its check's `draws` says (stacks; trainable stacks; training cases with
an optimizer, a loss and steps per execution), takes its `share` of the profile's examples
(per compile mode for a modal check, each mode an explicit parameter), carries the
feature-dense stacks of `equivalence.layers.examples` as explicit examples, and runs
`verify`. Op determinism is on and shuffle off; see docs/checks.md for what each compares.
"""
import pytest
from hypothesis import given

from equivalence.checks import CHECKS, DEFAULT_MODE, MODES, Check, verify
from equivalence.strategies import (compiles_in_mode, feature_stack_in_default_mode, share,
                                    stacks, trainable_stacks, training_cases,
                                    with_feature_stacks)

_DRAWS = {
    "stacks": stacks,
    "trainable": trainable_stacks,
    "training": training_cases,
    "training_batch": lambda: training_cases(batch_methods=True),
}


def _property_test(check: Check):
    training = check.draws.startswith("training")

    def run(drawn, mode):
        if training:
            spec, config = drawn
            feature_stack_in_default_mode(spec, mode)
            compiles_in_mode(spec, mode, training=True)
            verify(check.name, spec, mode.training(*config))
        else:
            compiles_in_mode(drawn, mode, training=False)
            verify(check.name, drawn, mode)

    if check.modal:
        def test(drawn, mode):
            run(drawn, mode)
    else:
        def test(drawn):
            run(drawn, DEFAULT_MODE)
    # Named before Hypothesis wraps it: the name seeds its derandomized draws (and --shard's).
    test.__name__ = test.__qualname__ = f"test_{check.name}"
    test.__doc__ = check.doc
    test = given(drawn=_DRAWS[check.draws]())(with_feature_stacks("drawn", training)(test))
    if check.share != 1.0:
        test = share(check.share)(test)
    if check.modal:
        test = pytest.mark.parametrize("mode", MODES, ids=lambda m: m.id)(test)
    if check.not_here():
        test = pytest.mark.skip(reason=check.not_here())(test)
    test.parity_check = check  # conftest: what a --replay run keeps
    return test


for _check in CHECKS.values():
    globals()[f"test_{_check.name}"] = _property_test(_check)
