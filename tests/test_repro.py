"""Generated repro scripts really reproduce: run one in a fresh interpreter."""
import subprocess
import sys

import pytest

from equivalence import known
from equivalence.checks import Discrepancy, verify


@pytest.mark.parametrize("check", ["call", "predict"])
def test_repro_script_reproduces_a_real_discrepancy(check, isolated_results, monkeypatch):
    # The first known upstream discrepancy is real on this Keras: with the entry disabled
    # the suite reports it, and the standalone script must reproduce it (exit 1).
    entry = next(e for e in known.KNOWN if check in e.checks and e.in_range())
    monkeypatch.setattr(known, "KNOWN", ())
    tmp_path = isolated_results
    with pytest.raises(Discrepancy):
        verify(check, entry.example)
    (repro,) = tmp_path.glob("failures/*/repro.py")
    run = subprocess.run([sys.executable, str(repro)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "REPRODUCED" in run.stdout and "subclassed vs sequential" in run.stdout
    text = repro.read_text()
    assert "from equivalence" not in text and "import equivalence" not in text
