"""Known upstream discrepancies, each on its smallest example, as strict xfails."""
import pytest

from equivalence import artifacts, known, summary
from equivalence.checks import verify


def _cases():
    for entry in known.KNOWN:
        for check in entry.checks:
            marks = [pytest.mark.xfail(strict=True, reason=f"{entry.reference}: {entry.summary}")
                     ] if entry.in_range() else []
            yield pytest.param(entry, check, marks=marks, id=f"{entry.api}-{check}")


@pytest.mark.parametrize("entry, check", list(_cases()))
def test_known_discrepancy_still_reproduces(entry, check, monkeypatch, tmp_path):
    # With the entry disabled the example must fail (xfail) while the Keras version is in
    # range; outside the range it must pass. Its artifacts and counts are not the run's.
    monkeypatch.setattr(known, "KNOWN", ())
    monkeypatch.setattr(artifacts, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(summary, "_STATE", summary.fresh_state())
    verify(check, entry.example)
