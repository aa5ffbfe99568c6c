"""Command-line behaviour: --replay, --shard and summaries; bad input gets one line, exit 2."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import parse_shard
from lines import ours
from equivalence import summary
from equivalence.spec import SCHEMA_VERSION, InputSpec, LayerSpec, StackSpec

ROOT = Path(__file__).resolve().parents[1]
SPEC = StackSpec(InputSpec("vector", (3,)), (LayerSpec.of("Dense", units=2),), seed=4)

CHECKS_PY = "equivalence/test_checks.py"
# Two quick property tests: the structure group (eight checks on one built set of models
# per stack) and the gradients check.
STRUCTURE = [f"{CHECKS_PY}::test_{name}" for name in ("structure", "gradients")]


def run_pytest(*args, cwd=ROOT):
    # A session of its own: not an xdist worker of the outer run (pytest-benchmark reads
    # PYTEST_XDIST_WORKER and would call itself parallelized).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=600, env=env)


def assert_usage_error(run, *words):
    lines = ours(run.stdout + run.stderr)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert len(lines) == 1 and all(w in lines[0] for w in words), lines


def write(tmp_path, text, name="spec.json"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("content, words", [
    (None, ("no spec file",)),
    ('{"__type__": "StackSpec", "schema_', ("not valid JSON",)),
    (SPEC.to_json().replace(f'"schema_version": {SCHEMA_VERSION}', '"schema_version": 99'),
     ("schema version 99 is newer",)),
    (SPEC.to_json().replace('"Dense"', '"Quantum"'), ("unknown layer kind 'Quantum'",)),
])
def test_bad_replay_input_is_one_line_and_exit_2(tmp_path, content, words):
    path = tmp_path / "missing.json" if content is None else write(tmp_path, content)
    assert_usage_error(run_pytest(f"--replay={path}"), "--replay", *words)


@pytest.mark.parametrize("option", ["--shard=3", "--device=tpu", "--replay=/no/such.json",
                                    "--benchmark -n 2", "--parity-budget=soon",
                                    "--parity-progress=-1", "--benchmark --tf-threads=0"])
def test_a_bad_option_is_refused_before_tensorflow_is_imported(option):
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "pytest", "-p",
                          "no:randomly", *option.split()], capture_output=True, text=True,
                         cwd=ROOT, timeout=600)
    assert run.returncode == 2, run.stdout + run.stderr[-2000:]
    imported = [ln.split("|")[-1].strip() for ln in run.stderr.splitlines()
                if ln.startswith("import time:")]
    assert imported and "tensorflow" not in imported, "TensorFlow imported first"


def test_a_long_run_shows_progress_under_xdist(tmp_path):
    run = run_pytest("-n", "2", "--parity-progress=0", f"--results-dir={tmp_path}",
                     *STRUCTURE)
    assert run.returncode == 0, run.stdout[-2000:]
    progress = [ln for ln in run.stdout.splitlines() if ln.startswith("keras-parity: ")]
    assert progress and "stacks" in progress[-1] and "/2 tests in" in progress[-1], progress


def test_a_long_run_in_one_process_estimates_the_rest(tmp_path):
    # After the first of two tests, the second is still to come: some time is left (a
    # second pytest_collection_finish in conftest.py once hid the pending tests: "0 min").
    run = run_pytest("-p", "no:xdist", "--parity-progress=0", f"--results-dir={tmp_path}",
                     *STRUCTURE)
    assert run.returncode == 0, run.stdout[-2000:]
    first = next(ln for ln in run.stdout.splitlines() if ln.startswith("keras-parity: "))
    assert "1/2 tests in" in first and "min left" in first, first
    assert "about 0 min left" not in first, first


def test_a_budget_stops_checking_and_still_ends_with_the_summary(tmp_path):
    run = run_pytest("--parity-budget=0.001", f"--results-dir={tmp_path}", "-rs",
                     *STRUCTURE)
    assert run.returncode == 0, run.stdout[-2000:]
    assert "--parity-budget spent" in run.stdout and "equivalence: 0 stacks" in run.stdout
    assert "min spent: the tests it cut short skip" in run.stdout
    # Spent before any example: nothing checked, so no summary file replaces the last one.
    assert not (tmp_path / "equivalence" / "summary.json").exists()


def test_sigterm_ends_the_run_with_the_summary_of_what_it_checked(tmp_path):
    # As a CI timeout does: SIGTERM once a test has finished (its progress line shows).
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly",
                             "-n", "2", "--parity-progress=0", f"--results-dir={tmp_path}",
                             *STRUCTURE, f"{CHECKS_PY}::test_saving"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("keras-parity: "):
            proc.send_signal(signal.SIGTERM)
            break
    out = "".join(lines) + proc.communicate(timeout=300)[0]
    assert "interrupted: the summary of what was checked before" in out, out[-2000:]
    saved = json.loads((tmp_path / "equivalence" / "summary.json").read_text())
    assert saved["interrupted"] and saved["stacks"] and not saved["budget_spent"]


def test_benchmark_selection_matching_nothing_is_one_line_and_exit_2():
    run = run_pytest("--benchmark", "-k", "no_benchmark_is_called_this")
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Traceback" not in run.stdout + run.stderr
    assert "no benchmark matches the selection" in run.stdout + run.stderr


def test_benchmark_collect_only_lists_and_exits_0():
    run = run_pytest("--benchmark", "--collect-only", "-k", "mlp_small and call-b1")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Traceback" not in run.stdout + run.stderr and "written at exit" not in run.stdout
    assert "test_op[cpu-call-b1-jit0-sequential-mlp_small]" in run.stdout


@pytest.mark.parametrize("shard", ["3", "0/2", "3/2", "a/b"])
def test_bad_shard_is_one_line_and_exit_2(shard):
    assert_usage_error(run_pytest(f"--shard={shard}", "--collect-only"), "--shard")


def test_replay_reruns_every_equivalence_check_on_the_saved_spec(tmp_path):
    path = write(tmp_path, SPEC.to_json())
    last_run = tmp_path / "r" / "equivalence" / "summary.json"
    last_run.parent.mkdir(parents=True)
    last_run.write_text('{"the last full run": true}')
    run = run_pytest(f"--replay={path}", f"--results-dir={tmp_path / 'r'}", "equivalence")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "equivalence: 1 stacks × 3 APIs" in run.stdout
    # The replay's own summary file; the last full run's is left alone.
    saved = json.loads((last_run.parent / f"summary-replay-{SPEC.digest}.json").read_text())
    assert saved["stacks"] == [SPEC.digest]
    # The known entries in range, in full: pytest's xfail lines carry only their names.
    assert saved["known_entries"] and all(e["cause"] and e["cells"]
                                          for e in saved["known_entries"].values())
    assert last_run.read_text() == '{"the last full run": true}'


def test_shards_draw_different_stacks_and_write_their_own_summaries(tmp_path):
    stacks = []
    for shard in ("1/2", "2/2"):
        run = run_pytest(f"--shard={shard}", f"--results-dir={tmp_path}",
                         f"{CHECKS_PY}::test_structure", f"{ROOT / 'tests' / 'test_compare.py'}"
                         "::test_every_tolerance_has_a_reason_and_unknown_checks_are_bitwise")
        assert run.returncode == 0, run.stdout[-2000:]
        # a test that draws nothing runs in shard 1 only
        assert ("deselected" in run.stdout.splitlines()[-1]) == (shard == "2/2")
        name = f"summary-shard-{shard.replace('/', '-of-')}.json"
        stacks.append(set(json.loads((tmp_path / "equivalence" / name).read_text())["stacks"]))
    assert stacks[0] and stacks[1] and stacks[0] != stacks[1]


def test_a_shard_runs_its_share_of_the_examples():
    # N shards make one run of the profile (the nightly run split over N CI jobs), not N.
    from types import SimpleNamespace

    from hypothesis import Phase, given, settings, strategies as st

    import conftest

    drawn = []

    @settings(max_examples=25, database=None)
    @given(st.integers())
    def prop(x):
        drawn.append(x)

    # two items of one function: a test parametrized over modes
    conftest._split([SimpleNamespace(obj=prop), SimpleNamespace(obj=prop)], (2, 4))
    assert prop._hypothesis_internal_use_settings.max_examples == 7
    # explicit examples (the feature and family stacks) run in shard 1 only
    assert Phase.explicit not in prop._hypothesis_internal_use_settings.phases
    prop()
    assert 1 <= len(drawn) <= 7


def test_parse_shard_accepts_i_of_n():
    assert parse_shard("2/5") == (2, 5)


def test_summaries_combine_and_count_a_shared_stack_once():
    a = {"stacks": ["x", "y"], "checks": 6, "discrepancies": 0, "known": 1, "failures": [],
         "seconds": 30.0}
    b = {"stacks": ["y", "z"], "checks": 6, "discrepancies": 1, "known": 0,
         "failures": ["results/failures/call-z"], "seconds": 30.0}
    total = summary.combine([a, b], seconds=60.0)
    assert summary.line(total) == ("equivalence: 3 stacks × 3 APIs, 12 checks, 3.0 stacks/min, "
                                   "1 discrepancies (1 known upstream); artifacts under "
                                   "results/failures")


def test_summary_combine_command_refuses_a_malformed_file(tmp_path):
    bad = write(tmp_path, "{truncated", "summary.json")
    run = subprocess.run([sys.executable, "-m", "equivalence.summary", "combine", str(bad)],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, code", [(["--help"], 0), (["combine", "--help"], 0),
                                         (["combine"], 2), (["bogus"], 2),
                                         (["met", "a.json", "--bogus"], 2)])
def test_summary_command_helps_and_refuses_in_one_line(args, code):
    run = subprocess.run([sys.executable, "-m", "equivalence.summary", *args],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == code, run.stdout + run.stderr
    if code == 0:
        assert run.stdout.startswith("usage: python -m equivalence.summary"), run.stdout
    else:
        assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr


def _shard(tmp_path, name, stacks, versions=None):
    data = {"schema": summary.SCHEMA, "versions": versions or {"tf": "2.21.0", "keras": "3.13.2"},
            "stacks": stacks, "checks": 3 * len(stacks), "discrepancies": 0, "known": 1,
            "failures": [], "seconds": 30.0, "matrix": {}, "interrupted": False,
            "budget_spent": False, "known_entries": {f"entry-{name}": {"cause": "c"}}}
    return write(tmp_path, json.dumps(data), f"summary-shard-{name}.json")


def test_combine_out_writes_the_nights_summary_and_refuses_mixed_versions(tmp_path):
    from benchmarks.report.inputs import kind_of

    a, b = _shard(tmp_path, "1-of-2", ["x", "y"]), _shard(tmp_path, "2-of-2", ["z"])
    out = tmp_path / "night" / "summary.json"
    run = subprocess.run([sys.executable, "-m", "equivalence.summary", "combine", str(a),
                          str(b), "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    total = json.loads(out.read_text())
    assert kind_of(total) == "equivalence" and total["shards"] == 2
    assert total["stacks"] == ["x", "y", "z"] and total["checks"] == 9
    assert set(total["known_entries"]) == {"entry-1-of-2", "entry-2-of-2"}
    other = _shard(tmp_path, "x", ["w"], versions={"tf": "2.20.0", "keras": "3.11.3"})
    for args in ([str(a), str(other), "--out", str(tmp_path / "mixed.json")],
                 [str(a), str(b), "--out", str(a)]):
        before = a.read_text()
        bad = subprocess.run([sys.executable, "-m", "equivalence.summary", "combine", *args],
                             capture_output=True, text=True, cwd=ROOT)
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
        assert a.read_text() == before and not (tmp_path / "mixed.json").exists()


@pytest.mark.parametrize("kinds, words", [("Quantum", ("no layer kind 'Quantum'",)),
                                          (",", ("expects KIND",))])
def test_bad_parity_kinds_is_one_line_and_exit_2(kinds, words):
    assert_usage_error(run_pytest(f"--parity-kinds={kinds}", "--collect-only"),
                       "--parity-kinds", *words)


def test_parity_kinds_run_says_so_and_keeps_the_last_full_summary(tmp_path):
    run = run_pytest("--parity-kinds=LSTM,Conv1D", f"--results-dir={tmp_path}",
                     f"{CHECKS_PY}::test_structure")
    assert run.returncode == 0, run.stdout[-2000:]
    assert "every stack started with one of: Conv1D,LSTM" in run.stdout
    (path,) = (tmp_path / "equivalence").glob("summary-kinds-*.json")
    assert json.loads(path.read_text())["kinds"] == ["Conv1D", "LSTM"]
    assert not (tmp_path / "equivalence" / "summary.json").exists()


def test_focused_stacks_start_with_a_focused_kind(monkeypatch):
    from hypothesis import given, settings

    from equivalence import strategies

    monkeypatch.setattr(strategies, "FOCUS", frozenset({"Conv2D", "Embedding"}))
    assert strategies.focus_families() == ("image", "tokens")
    seen = set()

    @settings(max_examples=60, derandomize=True, database=None)
    @given(spec=strategies.stacks())
    def check(spec):
        assert spec.layers[0].kind in strategies.FOCUS
        seen.add(spec.layers[0].kind)

    check()
    assert seen == {"Conv2D", "Embedding"}


def test_time_left_weighs_each_test_to_come_by_its_own_function():
    # Twenty quick tests done, two slow property tests to come: the estimate follows what
    # a test of the same function took (per worker), not the mean over every test so far.
    done = {f"tests/test_a.py::test_quick[{i}]": 0.5 for i in range(20)}
    done["equivalence/test_checks.py::test_resume[jit0]"] = 300.0
    pending = ["equivalence/test_checks.py::test_resume[jit1]",
               "equivalence/test_checks.py::test_fit[jit0]", "tests/test_a.py::test_quick[20]"]
    left = summary.time_left(done, pending, workers=2)
    assert left == pytest.approx((300.0 + 300.0 + 0.5) / 2)  # test_fit: its file's tests
    assert summary.time_left({}, pending, workers=2) is None
    line = summary.progress({"stacks": [1], "checks": 3, "discrepancies": 0, "known": 0},
                            elapsed=60.0, done=21, of=24, left=left)
    assert line.endswith("about 6 min left"), line
