"""Known upstream discrepancies, each on its smallest example, as strict xfails."""
import pytest

from equivalence import known
from equivalence.checks import CHECKS, DEFAULT_MODE, compare, observe

# Training checks compile with an optimizer and a loss; any will do for an example.
TRAINING_MODE = DEFAULT_MODE.training("sgd_momentum", "mse")


def _cases():
    for number, entry in enumerate(known.KNOWN):
        for check in entry.checks:
            for api in entry.apis:
                marks = [pytest.mark.xfail(strict=True,
                                           reason=f"{entry.reference}: {entry.summary}")
                         ] if entry.in_range() else []
                yield pytest.param(entry, check, api, marks=marks,
                                   id=f"known{number}-{api}-{check}")


@pytest.mark.parametrize("entry, check, api", list(_cases()))
def test_known_discrepancy_still_reproduces(entry, check, api):
    # The entry's API must agree with Sequential on the entry's example. While the Keras
    # version is in the entry's range this fails (strict xfail); the day upstream fixes it,
    # the XPASS fails the run. Outside the range it must simply pass.
    check_ = CHECKS[check]
    mode = TRAINING_MODE if check_.trains else DEFAULT_MODE
    observed = observe(check_, entry.example, mode)[0]
    problems = compare(check_, entry.example, observed)
    if not entry.in_range() and known.lookup(check, api, entry.example):
        pytest.skip("outside this entry's range, but its example shows another entry that "
                    "is in range here")
    assert api not in problems, problems.get(api)
