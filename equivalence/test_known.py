"""Known upstream discrepancies, each on its smallest example, as strict xfails."""
import pytest

from equivalence import known
from equivalence.checks import verify


def _cases():
    for entry in known.KNOWN:
        for check in entry.checks:
            marks = [pytest.mark.xfail(strict=True, reason=f"{entry.reference}: {entry.summary}")
                     ] if entry.in_range() else []
            yield pytest.param(entry, check, marks=marks, id=f"{entry.api}-{check}")


@pytest.mark.parametrize("entry, check", list(_cases()))
def test_known_discrepancy_still_reproduces(entry, check, monkeypatch, isolated_results):
    # With the entry disabled the example must fail (xfail) while the Keras version is in
    # range; outside the range it must pass. Its artifacts and counts are not the run's.
    monkeypatch.setattr(known, "KNOWN", ())
    verify(check, entry.example)
