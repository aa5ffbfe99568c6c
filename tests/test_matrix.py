"""The version matrix: the command's bad input, its rows and table, the environment check,
and the bisection's verdicts (no TensorFlow environment is run here)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from equivalence import bisect, envcheck, matrix
from lines import ours

ROOT = Path(__file__).resolve().parents[1]


def run(module, *args):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def one_line_exit_2(run_, *words):
    lines = ours(run_.stdout + run_.stderr)
    assert run_.returncode == 2 and "Traceback" not in run_.stderr, run_.stderr
    assert len(lines) == 1 and all(w in lines[0] for w in words), lines


def test_no_tox_is_one_line(tmp_path, monkeypatch, capsys):
    # tox runs as `python -m tox` of the matrix's own interpreter (an unactivated venv has
    # no `tox` on PATH); where that interpreter lacks it, say so before running anything.
    real = matrix.importlib.util.find_spec
    monkeypatch.setattr(matrix.importlib.util, "find_spec",
                        lambda name, *a: None if name == "tox" else real(name, *a))
    assert matrix.main(["tf221", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tox is not installed" in err[0], err
    assert not list(tmp_path.iterdir())


def test_unknown_environment_is_one_line(tmp_path):
    one_line_exit_2(run("equivalence.matrix", "tf999", "--out", str(tmp_path)),
                    "unknown environment 'tf999'")


def test_results_of_other_code_are_refused_without_force(tmp_path):
    (tmp_path / "matrix.json").write_text(json.dumps(
        {"schema": matrix.SCHEMA, "commit": "0000000",
         "rows": [{"environment": "tf215", "commit": "0000000"}]}))
    before = (tmp_path / "matrix.json").read_text()
    one_line_exit_2(run("equivalence.matrix", "tf215", "--out", str(tmp_path)),
                    "0000000", "--force")
    assert (tmp_path / "matrix.json").read_text() == before


def test_a_malformed_matrix_file_is_one_line(tmp_path):
    (tmp_path / "matrix.json").write_text("{not json")
    one_line_exit_2(run("equivalence.matrix", "--out", str(tmp_path)), "matrix.json")


def test_envlist_names_every_environment():
    assert matrix.environments() == ["tf215", "tf216", "tf217", "tf218", "tf219", "tf220",
                                     "tf221", "tflegacy", "tflatest", "tfnightly"]


def test_row_and_table_come_from_the_files_a_run_leaves(tmp_path):
    (tmp_path / "equivalence").mkdir()
    (tmp_path / "junit.xml").write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase name="a"/><testcase name="b"><failure message="x"/></testcase>'
        '<testcase name="c"><skipped type="pytest.xfail" message="k"/></testcase>'
        '<testcase name="d"><skipped type="pytest.skip" message="r"/></testcase>'
        '</testsuite></testsuites>')
    (tmp_path / "equivalence" / "summary.json").write_text(json.dumps(
        {"versions": {"tf": "2.15.1", "keras": "2.15.0"}, "stacks": ["a", "b", "c"],
         "checks": 9, "discrepancies": 1, "known": 2, "seconds": 60.0}))
    r = matrix.row("tf215", tmp_path, 1, 120.0, ["-n", "auto"], "abc1234")
    assert r["tests"] == {"passed": 1, "failed": 1, "errors": 0, "skipped": 1, "xfailed": 1}
    assert (r["stacks"], r["checks"], r["known"], r["passed"]) == (3, 9, 2, False)
    table = matrix.markdown([r], "abc1234", ["-n", "auto"])
    assert "| tf215 **FAILED** | abc1234 | 2.15.1 | 2.15.0 | 1 passed, 1 failed, 1 xfailed, " \
           "1 skipped | 3 | 9 | 3 | 1 | 2 | 2.0 min |" in table


@pytest.mark.parametrize("expected, imported, problem", [
    ("2.15.1", "2.15.1", None),
    ("2.15.1", "2.21.0", "imported, 2.15.1 expected"),
    ("nightly", "2.21.0", "not a nightly build"),
    ("latest", "2.23.0-dev20261026", "not a release"),
    ("latest", "2.21.0", None),
])
def test_environment_check(expected, imported, problem):
    found = envcheck.problem("tf", expected, imported)
    assert found == problem if problem is None else problem in found


def test_nightly_beside_a_release_is_refused(monkeypatch):
    monkeypatch.setattr(envcheck, "installed", lambda names: {"tensorflow-cpu": "2.21.0"})
    assert "shares its folders" in envcheck.problem("tf", "nightly", "2.23.0-dev20261026")


def test_bisect_verdicts():
    releases = (("3.3.3", "2.16.2"), ("3.4.1", "2.17.1"), ("3.5.0", "2.17.1"),
                ("3.8.0", "2.18.1"))
    seen = {"3.3.3": False, "3.4.1": False, "3.5.0": True, "3.8.0": False}
    results = {k: {"reproduces": v} for k, v in seen.items()}
    assert bisect.verdict(results, releases) == [
        "appeared: last release without it Keras 3.4.1, first with it 3.5.0",
        "went away: last release with it Keras 3.5.0, first without it 3.8.0"]


def test_bisect_reaches_past_the_last_tox_pair(monkeypatch):
    """A discrepancy only the newest Keras has (GroupNormalization's autocast, 3.15) lies
    past every tox pair: the bisection must try the newest release and close in on it."""
    newest = {"3.15.1"}
    monkeypatch.setattr(bisect, "run_release",
                        lambda keras, tf, case: {"reproduces": keras in newest})
    results = bisect.bisect(Path("unused"), report=lambda line: None)
    assert bisect.verdict(results) == [
        "appeared: last release without it Keras 3.14.1, first with it 3.15.1"]


def test_bisect_bad_target_is_one_line():
    one_line_exit_2(run("equivalence.bisect", "no-such-entry"), "no-such-entry")


def test_bisect_reads_a_failure_from_its_failure_json(tmp_path):
    # The check, the mode and the failing APIs as the failure recorded them, whatever the
    # directory is called; a broken record is one line (BadInput), not a guess.
    directory = tmp_path / "renamed"
    directory.mkdir()
    (directory / "spec.json").write_text("{}")
    (directory / "failure.json").write_text(json.dumps({
        "check": "fit", "failing": ["functional", "subclassed"],
        "mode": {"jit_compile": True, "run_eagerly": False, "optimizer": "adam",
                 "loss": "mse", "steps_per_execution": 2}}))
    case = bisect.case_from(str(directory))
    assert case["cells"] == [["fit", "functional"], ["fit", "subclassed"]]
    assert case["mode"] == {"jit_compile": "True", "run_eagerly": "False", "optimizer": "adam",
                            "loss": "mse", "steps_per_execution": "2"}
    (directory / "failure.json").write_text("{not json")
    with pytest.raises(bisect.BadInput, match="unreadable failure.json"):
        bisect.case_from(str(directory))
