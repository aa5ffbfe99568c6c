"""Known upstream discrepancies: each reproduces on its smallest example, by its cause."""
import functools

import pytest

from equivalence import compat, known, strategies
from equivalence.builders import validate
from equivalence.spec import SpecError
from equivalence.checks import CHECKS, compare, example_mode, explain, observe, verify


class Reproduced(Exception):
    """The entry's difference appeared on its example and its cause explains it."""


def _mode(check, entry):
    return example_mode(check, entry.jit_only)


def _buildable(entry):
    """Skip where the example's layer kinds are not drawn on this Keras (the registry says
    why: absent, or broken in every API alike)."""
    try:
        validate(entry.example)
    except SpecError as exc:
        pytest.skip(f"{entry.name}: {exc}")


def _cases():
    for entry in known.KNOWN:
        for check, api in entry.cells():
            marks = [pytest.mark.xfail(strict=True, raises=Reproduced, reason=entry.short())
                     ] if entry.in_range() else []
            yield pytest.param(entry, check, api, marks=marks, id=f"{entry.name}-{api}-{check}")


@functools.lru_cache(maxsize=4)
def _observed(entry, check):
    """(problems, explained) of the entry's example under one check: every API's cell of
    that check reads the same observation (they are consecutive tests, so under xdist
    mostly on one worker), where each used to observe the three APIs again."""
    check_ = CHECKS[check]
    mode = _mode(check_, entry)
    observed = observe(check_, entry.example, mode)[0]
    problems = compare(check_, entry.example, observed)
    return problems, explain(check_, entry.example, mode, observed, problems)


def _shown(entry, check, api):
    """(problems, explained) for one cell of the entry's example: explained is whether the
    entry (or a declared overlap) explains the API's difference in range, and whether any
    entry in range here does outside it."""
    problems, explained = _observed(entry, check)
    # A declared overlapping cause may act first (an exception before a config change):
    # then it, not this entry, explains the cell on this version.
    by = explained.get(api, [])
    if not entry.in_range():
        return problems, api in explained
    return problems, entry in by or any(e.name in entry.overlaps or entry.name in e.overlaps
                                        for e in by)


@pytest.mark.parametrize("entry, check, api", list(_cases()))
def test_known_discrepancy_still_reproduces(entry, check, api):
    # In range, the example must show the difference and the entry's cause must explain
    # it (then Reproduced: a strict xfail). A difference that no longer appears, or that
    # the cause does not explain, fails the test. Outside the range the APIs must agree,
    # unless an entry in range here explains the difference.
    _buildable(entry)
    problems, by_cause = _shown(entry, check, api)
    if not entry.in_range():
        assert api not in problems or by_cause, problems.get(api)
        return
    if api not in problems and entry.machine_dependent:
        pytest.skip(f"{entry.name} does not show on {api} {check} on this machine: "
                    f"{entry.machine_dependent} (one cell must: "
                    f"test_a_machine_dependent_entry_shows_in_one_cell_at_least)")
    assert api in problems, (f"{entry.name} no longer shows on {api} {check} with Keras "
                             f"{compat.KERAS_VERSION}: fixed? end the entry's range")
    assert by_cause, f"{api} {check} differs, but not by {entry.name}'s cause: {problems[api]}"
    raise Reproduced(entry.name)


@pytest.mark.parametrize("entry", [e for e in known.KNOWN if e.machine_dependent],
                         ids=lambda e: e.name)
def test_a_machine_dependent_entry_shows_in_one_cell_at_least(entry):
    # Its cells may come and go with the CPU; all of them gone is a fix (or a new cause).
    if not entry.in_range():
        pytest.skip(f"{entry.name} is outside its range here")
    _buildable(entry)
    shown = [(check, api) for check, api in entry.cells() if _shown(entry, check, api)[1]]
    assert shown, (f"{entry.name} shows in none of its cells with Keras "
                   f"{compat.KERAS_VERSION}: fixed? end the entry's range")


def _examples():
    for entry in known.KNOWN:
        if entry.in_range():
            for check in CHECKS.values():
                if check.trains and not strategies.trains(entry.example):
                    continue  # no weights to train: the training tests never draw it
                if check.name != "weights_checkpoint" or not compat.IS_KERAS3:
                    yield pytest.param(entry, check, id=f"{entry.name}-{check.name}")


@pytest.mark.parametrize("entry, check", list(_examples()))
def test_known_example_shows_no_unexplained_discrepancy(entry, check, isolated_results):
    # What `pytest --replay` of the example does: every check, each difference explained by
    # a known cause. A check the cause reaches but the entry does not list fails here.
    _buildable(entry)
    verify(check.name, entry.example, _mode(check, entry))
