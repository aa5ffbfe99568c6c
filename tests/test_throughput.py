"""`python -m equivalence.throughput`: Keras' floor beside the suite's predict group."""
import subprocess
import sys
from pathlib import Path

import pytest

from equivalence import throughput

ROOT = Path(__file__).resolve().parents[1]


def test_each_stage_leads_equally_often_so_drift_reaches_every_stage_alike():
    orders = throughput.orders(6)
    assert all(sorted(o) == sorted(throughput.STAGES) for o in orders)
    assert [o[0] for o in orders] == list(throughput.STAGES) * 2


def test_the_report_gives_each_stage_its_rate_and_the_group_against_the_floor():
    text = throughput.report({"build": 2.0, "floor": 6.0, "predict group": 15.0}, 10, 0,
                             "TF x, Keras y")
    assert text.splitlines() == [
        "throughput, TF x, Keras y, one process, 10 dev stacks:",
        "  build            300.0 stacks/min  (2.0 s)",
        "  floor            100.0 stacks/min  (6.0 s)",
        "  predict group     40.0 stacks/min  (15.0 s)",
        "  the predict group takes 2.5x the floor"]


def _run(*args):
    return subprocess.run([sys.executable, "-m", "equivalence.throughput", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("args", [["--stacks", "0"], ["--stacks", "two"], ["--fast"]])
def test_a_bad_option_is_one_line_and_exit_2(args):
    done = _run(*args)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "error" in done.stderr
    assert done.stdout == ""


def test_it_measures_every_stage_on_distinct_drawn_stacks():
    specs = throughput.drawn(3)
    assert len({s.digest for s in specs}) == 3
    seconds, found = throughput.measure(specs)
    assert found == 0
    assert set(seconds) == set(throughput.STAGES) and all(s > 0 for s in seconds.values())
