"""The property tests: one per group of checks of `equivalence.checks.CHECKS` (a check
without a group is its own), generated from their fields, so a new check is one entry in
that table: `test_predict`, `test_structure` and `test_saving` run their group's checks on
one built set of models per example (`verify_group`), the training checks one test each.

A test draws what its checks' `draws` says (stacks; trainable stacks; training cases with
an optimizer, a loss and steps per execution), takes its `share` of the profile's examples
(per compile mode for a modal check, each mode an explicit parameter), carries the
feature-dense stacks of `equivalence.layers.examples` as explicit examples, and runs
`verify`. Op determinism is on and shuffle off; see docs/checks.md for what each compares.
"""
import pytest
from hypothesis import given

from equivalence.checks import DEFAULT_MODE, GROUPS, MODES, Check, verify, verify_group
from equivalence.strategies import (compiles_in_mode, feature_stack_in_default_mode, share,
                                    stacks, trainable_stacks, training_cases,
                                    with_feature_stacks)

_DRAWS = {
    "stacks": stacks,
    "trainable": trainable_stacks,
    "training": training_cases,
    "training_batch": lambda: training_cases(batch_methods=True),
}


def _property_test(name: str, checks: tuple[Check, ...]):
    check = checks[0]  # the group's checks draw and compile alike (checks._grouped)
    training = check.draws.startswith("training")
    here = [c for c in checks if not c.not_here()]

    def run(drawn, mode):
        if training:
            spec, config = drawn
            feature_stack_in_default_mode(spec, mode)
            compiles_in_mode(spec, mode, training=True)
            mode = mode.training(*config)
        else:
            spec = drawn
            compiles_in_mode(spec, mode, training=False)
        if len(checks) == 1:
            verify(check.name, spec, mode)
        else:
            verify_group(name, spec, mode)

    if check.modal:
        def test(drawn, mode):
            run(drawn, mode)
    else:
        def test(drawn):
            run(drawn, DEFAULT_MODE)
    # Named before Hypothesis wraps it: the name seeds its derandomized draws (and --shard's).
    test.__name__ = test.__qualname__ = f"test_{name}"
    test.__doc__ = "; ".join(c.doc for c in checks)
    test = given(drawn=_DRAWS[check.draws]())(with_feature_stacks("drawn", training)(test))
    if check.share != 1.0:
        test = share(check.share)(test)
    if check.modal:
        test = pytest.mark.parametrize("mode", MODES, ids=lambda m: m.id)(test)
    if not here:
        test = pytest.mark.skip(reason="; ".join(c.not_here() for c in checks))(test)
    test.parity_check = check  # conftest: what a --replay run keeps
    test.parity_checks = tuple(c.name for c in here)
    return test


for _name, _checks in GROUPS.items():
    globals()[f"test_{_name}"] = _property_test(_name, _checks)
