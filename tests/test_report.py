"""The report command on real result files: A/A calls nothing, a planted 10% slowdown is
called by the statistics, bad input exits 2 with one line, the HTML renders in a browser.

results/examples/aa/ holds 20 processes of one subset measured on this machine with
`python -m benchmarks.run --processes 20 --out results/examples/aa -- -k ...` (the command
is in the README; the rounds' raw timings are stripped to keep the files small): the same
code measured again and again. Odd and even processes alternated, so splitting them gives
two samples of 10 processes of the same code under the same conditions.
"""
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.report import stats
from benchmarks.report.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
AA = ROOT / "results" / "examples" / "aa"
FILES = sorted(AA.glob("current/p*.json"), key=lambda p: int(p.stem[1:]))
PLANTED_API = "subclassed"


def _split(tmp_path, count=10, plant=None):
    """Odd processes as baseline, even ones as candidate (first `count` of each);
    `plant` multiplies one API's timings in the candidate."""
    base, cand = tmp_path / "baseline", tmp_path / "candidate"
    base.mkdir(), cand.mkdir()
    for i, path in enumerate(FILES):
        side = base if i % 2 == 0 else cand
        if len(list(side.iterdir())) >= count:
            continue
        data = json.loads(path.read_text())
        if plant and side is cand:
            for bench in data["benchmarks"]:
                if bench["extra_info"]["api"] == PLANTED_API:
                    for key in ("median", "q1", "q3", "min", "max", "mean"):
                        bench["stats"][key] *= plant
        (side / path.name).write_text(json.dumps(data))
    return base, cand


def _compare(tmp_path, base, cand, *extra):
    out = tmp_path / "out"
    code = main(["compare", str(base), str(cand), "--out", str(out), *extra])
    return code, json.loads((out / "comparison.json").read_text())


needs_examples = pytest.mark.skipif(len(FILES) < 20, reason="results/examples/aa/ holds "
                                    "the 20 example processes; regenerate it (README)")


@needs_examples
def test_a_a_comparison_calls_nothing(tmp_path, capsys):
    base, cand = _split(tmp_path)
    code, result = _compare(tmp_path, base, cand, "--fail-on-regression")
    assert code == 0
    verdicts = {row["verdict"] for row in result["rows"]}
    assert verdicts <= {"no change", "inconclusive"}, result["counts"]
    assert result["counts"].get("no change", 0) > 0  # the rule was applied, not skipped
    assert 0.9 < result["geometric_mean"] < 1.1


@needs_examples
def test_planted_slowdown_in_one_api_is_called_by_the_statistics(tmp_path, capsys):
    # Every Subclassed timing 40% slower in the candidate half: the processes of these
    # files spread 6-17% (one is 1.8x its neighbours), so a planted change must be this
    # large for 10 against 10 to call it past the Benjamini-Hochberg adjustment over 23
    # rows (measured: 6 of 7 called, the seventh at q = 0.07).
    base, cand = _split(tmp_path, plant=1.40)
    code, result = _compare(tmp_path, base, cand, "--fail-on-regression")
    rows = result["rows"]
    planted = [r for r in rows if r["api"] == PLANTED_API]
    others = [r for r in rows if r["api"] != PLANTED_API]
    called = [r for r in planted if r["verdict"] == "regression"]
    assert code == 1 and len(called) >= len(planted) - 2, result["counts"]
    for row in called:  # called with the statistics: significant, interval above 1
        assert row["q"] < stats.ALPHA and row["low"] > 1.0 and row["ratio"] > 1.10
    # every planted benchmark is called or inconclusive, never "no change"
    assert {r["verdict"] for r in planted} <= {"regression", "inconclusive"}
    assert not [r for r in others if r["verdict"] in ("regression", "improvement")]


@needs_examples
def test_a_small_plant_is_inconclusive_and_says_why(tmp_path, capsys):
    # 10% slower at --threshold 5: call-b1 (spread 4%) has its interval past 1 and
    # p = 0.002, but q = 0.051 over the 23 rows: the report says exactly that.
    base, cand = _split(tmp_path, plant=1.10)
    code, result = _compare(tmp_path, base, cand, "--fail-on-regression", "--threshold", "5")
    planted = {r["op"]: r for r in result["rows"] if r["api"] == PLANTED_API}
    assert code == 0 and "no change" not in {r["verdict"] for r in planted.values()}
    call = planted["call"]
    assert call["low"] > 1 and call["p"] < stats.ALPHA <= call["q"]
    assert "not below 0.05 once adjusted over the 23 rows" in call["why"]


@needs_examples
def test_metric_cpu_reads_cpu_time_and_refuses_files_without_it(tmp_path, capsys):
    base, cand = _split(tmp_path, count=5)
    # The example files predate CPU time: --metric cpu is one line and exit 2.
    assert main(["compare", str(base), str(cand), "--metric", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no CPU time recorded" in err[0] and "--metric wall" in err[0]
    # Given CPU time (here: the candidate's is half its wall time), cpu compares it.
    for side, factor in ((base, 1.0), (cand, 0.5)):
        for path in side.iterdir():
            data = json.loads(path.read_text())
            for bench in data["benchmarks"]:
                bench["extra_info"]["cpu_time"] = {"median": bench["stats"]["median"] * factor}
            path.write_text(json.dumps(data))
    code, result = _compare(tmp_path, base, cand, "--metric", "cpu")
    assert result["metric"] == "cpu"
    timed = [r for r in result["rows"] if r["kind"] != "memory"]
    assert all(abs(r["ratio"] - 0.5) < 0.2 for r in timed), [r["ratio"] for r in timed]
    assert "Timed by CPU time" in capsys.readouterr().out


@needs_examples
def test_the_ratio_alone_does_not_call_a_change(tmp_path, capsys):
    # The same plant with 3 processes a side: some ratios pass the threshold, but
    # Mann-Whitney's smallest p with 3 a side is 0.1, so every row is inconclusive
    # (printed with a "?"), says how many processes could call, and nothing fails.
    base, cand = _split(tmp_path, count=3, plant=1.10)
    code, result = _compare(tmp_path, base, cand, "--fail-on-regression", "--threshold", "5")
    assert code == 0
    assert {r["verdict"] for r in result["rows"]} == {"inconclusive"}
    assert all("smallest possible p is 0.1" in r["why"] and r["processes_needed"] == 4
               for r in result["rows"])
    past = [r for r in result["rows"] if r["ratio"] > 1.05]
    assert past, "no ratio passed the threshold: the test shows nothing"
    out = capsys.readouterr().out
    assert all(f"{r['ratio']:.2f}x?" in out for r in past) and "geometric mean" in out


@needs_examples
def test_summary_writes_every_output(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["summary", str(AA), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"report.md", "report.html", "benchmarks.csv", "api_times.csv",
            "benchmark-action.json", "api_ratios.png"} <= names
    action = json.loads((out / "benchmark-action.json").read_text())
    assert action and all({"name", "unit", "value"} <= set(a) for a in action)
    markdown = capsys.readouterr().out
    assert markdown == (out / "report.md").read_text() + "\n"
    assert "Overhead over the plain tf.function floor" in markdown
    assert "Cold start" in markdown and "Peak memory" in markdown


@needs_examples
def test_a_search_of_results_passes_over_the_committed_examples(tmp_path, capsys):
    # A user's results/ holds their own run and, committed, results/examples/: searching
    # results/ reads only the former; naming the examples reads them; the header says
    # which path held what.
    results = tmp_path / "results"
    (results / "runs" / "mine").mkdir(parents=True)
    shutil.copy(FILES[0], results / "runs" / "mine" / "p0.json")
    shutil.copytree(AA, results / "examples" / "aa")
    assert main(["summary", str(results)]) == 0
    header = capsys.readouterr().out
    version = json.loads(FILES[0].read_text())["benchmarks"][0]["extra_info"]
    assert "1 result files: 1 benchmark processes" in header
    assert (f"Read from `{results}` (benchmark processes: 1 tf{version['tf_version']}-"
            f"keras{version['keras_version']})") in header
    assert main(["summary", str(results / "runs"), str(results / "examples" / "aa")]) == 0
    header = capsys.readouterr().out
    assert f"`{results / 'examples' / 'aa'}` (benchmark processes: {len(FILES)} tf" in header


@needs_examples
def test_html_report_renders_in_a_headless_browser(tmp_path, capsys):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium); .ci/run "
                    "installs it")
    out = tmp_path / "report"
    assert main(["summary", str(AA), "--out", str(out)]) == 0
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
         "--dump-dom", (out / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120).stdout
    images = (out / "report.html").read_text().count("<img ")
    assert images >= 1
    assert f'data-images-rendered="{images}/{images}"' in dom, dom[:300]
    tables = (out / "report.html").read_text().count("<table")
    assert f'data-tables="{tables}"' in dom and tables >= 3
    assert "mlp_small" in dom


# --- bad input: one line, exit 2, nothing written -------------------------------------------

def _benchmark_file(path: Path, schema=1, workload="mlp_small"):
    bench = {"name": "test_op[x]", "extra_info": {
        "schema_version": schema, "tf_version": "2.21.0", "keras_version": "3.13.2",
        "workload": workload, "op": "call", "batch": 1, "jit_compile": False, "device": "cpu",
        "api": "sequential"}, "stats": {"median": 1.0, "q1": 1.0, "q3": 1.0, "rounds": 5}}
    path.write_text(json.dumps({"machine_info": {}, "benchmarks": [bench], "version": "5"}))
    return path


def _bad(tmp_path, name):
    good = _benchmark_file(tmp_path / "good.json")
    bad = tmp_path / "bad.json"
    if name == "missing path":
        return ["summary", str(tmp_path / "nowhere")]
    if name == "not pytest-benchmark JSON":
        bad.write_text(json.dumps({"hello": "world"}))
    elif name == "truncated JSON":
        bad.write_text(good.read_text()[:60])
    elif name == "mixed schema versions":
        _benchmark_file(bad, schema=2)
    elif name == "nothing in common":
        _benchmark_file(bad, workload="lstm")
        return ["compare", str(good), str(bad)]
    elif name == "bad threshold":
        return ["compare", str(good), str(good), "--threshold", "-5"]
    elif name == "unknown option":
        return ["summary", str(good), "--colour"]
    return ["summary", str(good), str(bad)]


@pytest.mark.parametrize("name", ["missing path", "not pytest-benchmark JSON",
                                  "truncated JSON", "mixed schema versions",
                                  "nothing in common", "bad threshold", "unknown option"])
def test_bad_input_is_one_line_and_exit_2_and_writes_nothing(tmp_path, capsys, name):
    out = tmp_path / "out"
    out.mkdir()  # an empty --out directory: must stay empty
    code = main(_bad(tmp_path, name) + ["--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert not list(out.iterdir())


def test_an_existing_report_is_never_overwritten(tmp_path, capsys):
    good = _benchmark_file(tmp_path / "good.json")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("yesterday")
    assert main(["summary", str(good), "--out", str(out)]) == 2
    assert (out / "report.md").read_text() == "yesterday"
    assert "refusing to overwrite" in capsys.readouterr().err


def test_command_line_exit_code_and_single_line(tmp_path):
    """Through the interpreter, as CI calls it: no traceback on bad input."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.report", "compare",
                           str(tmp_path / "a"), str(tmp_path / "b")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr


# --- nightly history ------------------------------------------------------------------------

@needs_examples
def _night(tmp_path, k, per=5, step=7, plant=None):
    """Night k: `per` of the 20 example processes (k, k+7, k+14, ... mod 20), as the
    nightly job runs several processes a night; `plant` slows one API down."""
    night = tmp_path / f"night{k}"
    night.mkdir()
    for j in range(per):
        data = json.loads(FILES[(k + j * step) % len(FILES)].read_text())
        for bench in data["benchmarks"]:
            if plant and bench["extra_info"]["api"] == PLANTED_API:
                bench["stats"]["median"] *= plant
        (night / f"p{j}.json").write_text(json.dumps(data))
    return night


@needs_examples
def test_nightly_alerts_only_on_a_change_far_outside_the_recent_nights(tmp_path, capsys):
    history = tmp_path / "history.csv"
    for k in range(14):  # fourteen ordinary nights of the same code: no alert on any
        assert main(["nightly", str(_night(tmp_path, k)), "--history", str(history),
                     "--night", f"2026-11-{k + 1:02d}", "--fail-on-alert"]) == 0, k
    slow = _night(tmp_path, 14, plant=1.5)  # a 50% slowdown of one API tonight
    out = tmp_path / "tonight"
    code = main(["nightly", str(slow), "--history", str(history), "--night", "2026-11-15",
                 "--fail-on-alert", "--out", str(out)])
    alerts = __import__("pandas").read_csv(out / "alerts.csv").to_dict("records")
    assert code == 1 and alerts
    assert all(f"/{PLANTED_API}" in a["benchmark"] and a["ratio"] > 1.2 for a in alerts)
    assert (out / "trends.png").exists()
    rows = history.read_text().splitlines()
    assert sum("2026-11-15" in r for r in rows) > 0
    # the same night again is bad input: exit 2, the history unchanged
    before = history.read_text()
    assert main(["nightly", str(slow), "--history", str(history), "--night",
                 "2026-11-15"]) == 2
    assert history.read_text() == before


def test_noise_floor_keeps_a_tight_history_from_alerting():
    from benchmarks.report import history as hist
    import pandas as pd

    # five nights that happen to agree within 1%, a sixth 15% off: the benchmark's own MAD
    # says z = 20; the version's other benchmarks (spread 8%) say it is ordinary noise
    past, now = [], []
    for b, values in {"tight": [1.0, 1.01, 0.99, 1.0, 1.005],
                      "a": [1.0, 1.1, 0.92, 1.05, 0.95], "b": [2.0, 2.2, 1.85, 2.1, 1.9],
                      "c": [3.0, 3.3, 2.8, 3.1, 2.75]}.items():
        past += [{"night": f"n{i}", "version": "v", "benchmark": b, "median_s": v}
                 for i, v in enumerate(values)]
        now.append({"night": "n9", "version": "v", "benchmark": b,
                    "median_s": values[0] * (1.15 if b == "tight" else 1.0)})
    past, now = pd.DataFrame(past), pd.DataFrame(now)
    assert stats.robust_z(past[past.benchmark == "tight"].median_s, 1.15) > 10
    assert hist.alerts(past, now, 0.10, 14, 3.5).empty
    assert not hist.alerts(past, now.assign(median_s=now.median_s * 1.4),
                           0.10, 14, 3.5).empty


def test_robust_z_and_labels():
    assert stats.robust_z([1.0, 1.0, 1.0], 1.0) == 0.0
    assert stats.robust_z([1.0, 1.1, 0.9, 1.0, 1.05], 2.0) > 10
    few = stats.judge([1.0, 1.1, 0.9], [2.0, 2.1, 1.9], 0.1)
    assert few["verdict"] == "inconclusive" and stats.label(few) == "2.00x?"
    called = stats.judge([1.0, 1.01, 0.99, 1.0, 1.02], [1.2, 1.21, 1.19, 1.2, 1.22], 0.1)
    assert called["verdict"] == "regression" and stats.label(called) == "1.20x"
    small = stats.judge([1.0, 1.01, 0.99, 1.0, 1.02], [1.03, 1.04, 1.02, 1.03, 1.05], 0.1)
    assert small["verdict"] == "no change" and stats.label(small) == "~1.03x"
    assert small["p"] < stats.ALPHA  # significant, but below the threshold: not a change


def test_smallest_p_decides_whether_a_test_can_call():
    # 2 / C(n+m, n): 3 a side can never reach 0.05, 4 a side can, 3 against 5 can.
    assert stats.smallest_p(3, 3) == pytest.approx(0.1)
    assert stats.smallest_p(4, 4) == pytest.approx(2 / 70)
    assert stats.smallest_p(3, 4) > stats.ALPHA > stats.smallest_p(3, 5)
    assert stats.judge([1.0] * 3 + [1.01], [2.0] * 4, 0.1)["verdict"] == "regression"


def test_interval_is_the_rank_tests():
    # 5 a side: from the 3rd smallest to the 3rd largest of the 25 pairwise ratios (exact
    # confidence 1 - 2 * 4/252); it lies past 1 exactly when Mann-Whitney rejects.
    rng = np.random.default_rng(0)
    for _ in range(200):
        b = rng.lognormal(0, 0.1, 5)
        c = rng.lognormal(rng.normal(0, 0.15), 0.1, 5)
        ratio, low, high = stats.shift_interval(b, c)
        pairs = np.sort(np.ravel(c[None, :] / b[:, None]))
        assert (low, high) == pytest.approx((pairs[2], pairs[-3]))
        assert ratio == pytest.approx(np.exp(np.median(np.log(pairs))))
        assert (low > 1 or high < 1) == (stats.mann_whitney_p(b, c) < stats.ALPHA)


def test_mean_interval_is_welch_s_and_calls_below_the_rank_test_s_floor():
    # The ratio rows' test: Welch's t on log values (scipy's p), the interval past 1 exactly
    # when p < alpha; and with 5 tight processes a side it reaches a p the rank test cannot
    # (its smallest is 0.008), so a judged row can pass an adjustment over many rows.
    from scipy import stats as scipy_stats
    rng = np.random.default_rng(1)
    for _ in range(200):
        b = rng.lognormal(0, 0.02, 5)
        c = rng.lognormal(rng.normal(0, 0.03), 0.02, rng.integers(2, 8))
        ratio, low, high, p = stats.mean_interval(b, c)
        # Welch by hand: the t interval of the mean log difference, Welch-Satterthwaite df
        lb, lc = np.log(b), np.log(c)
        vb, vc = lb.var(ddof=1) / len(lb), lc.var(ddof=1) / len(lc)
        df = (vb + vc) ** 2 / (vb ** 2 / (len(lb) - 1) + vc ** 2 / (len(lc) - 1))
        diff, se = lc.mean() - lb.mean(), np.sqrt(vb + vc)
        half = scipy_stats.t.ppf(1 - stats.ALPHA / 2, df) * se
        assert (low, high) == pytest.approx((np.exp(diff - half), np.exp(diff + half)))
        assert p == pytest.approx(2 * scipy_stats.t.sf(abs(diff) / se, df))
        assert ratio == pytest.approx(np.exp(diff))
        assert (low > 1 or high < 1) == (p < stats.ALPHA)
    b, c = rng.lognormal(0, 0.02, 5), rng.lognormal(np.log(1.1), 0.02, 5)
    called = stats.judge(b, c, 0.05, q=stats.row_p(b, c, "mean") * 8, test="mean")
    assert called["p"] < 1e-4 and called["verdict"] == "regression"
    assert stats.judge(b, c, 0.05, q=0.008 * 8)["verdict"] != "regression"  # rank: floor
    one = stats.judge(b, c[:1], 0.05, test="mean")
    assert one["verdict"] == "inconclusive" and "needs 2" in one["why"]


def test_no_change_needs_the_whole_interval_inside_the_threshold():
    tight = stats.judge([1.0, 1.01, 0.99, 1.0, 1.02], [1.0, 1.02, 0.99, 1.01, 1.0], 0.1)
    assert tight["verdict"] == "no change"
    wide = stats.judge([1.0, 1.3, 0.8, 1.0, 1.2], [1.0, 1.25, 0.85, 1.1, 0.9], 0.1)
    assert wide["verdict"] == "inconclusive" and wide["processes_needed"] > 5
    assert "processes a side would decide it" in wide["why"]
    # A wider spread needs more processes and can see less.
    wider = stats.judge([1.0, 1.6, 0.6, 1.0, 1.4], [1.0, 1.5, 0.7, 1.2, 0.8], 0.1)
    assert wider["detectable"] > wide["detectable"] > 0.1
    assert (wider["processes_needed"] or math.inf) > wide["processes_needed"]


def test_processes_to_decide_closes_the_interval():
    # A 30% change whose interval straddles 1 at 5 a side: at the processes it names, the
    # same spread gives an interval past 1 (in the normal approximation it is read from);
    # a 2% change inside a wide interval: one inside ±10%.
    for ratio, low, high, fits in ((1.3, 0.9, 1.9, lambda r, h: math.log(r) - h > 0),
                                   (1.02, 0.85, 1.2, lambda r, h: abs(math.log(r)) + h
                                    < math.log(1.1))):
        needed = stats.processes_to_decide(ratio, low, high, 5, 5, 0.1)
        half = (math.log(high) - math.log(low)) / 2 * math.sqrt((2 / needed) / (2 / 5))
        assert needed > 5 and fits(ratio, half)


def test_geometric_mean_has_an_interval_over_whole_processes():
    rng = np.random.default_rng(0)
    machine = rng.lognormal(0, 0.2, (6, 1))  # each process slows all its benchmarks
    base = machine[:3] * rng.lognormal(0, 0.02, (3, 8))
    cand = machine[3:] * rng.lognormal(0, 0.02, (3, 8)) * 1.5
    ratio, low, high = stats.geometric_mean_interval(base, cand)
    assert low < ratio < high and low < 1.5 < high
    one = stats.geometric_mean_interval(base[:1], cand[:1])
    assert math.isnan(one[1]) and math.isnan(one[2])


# --- the equivalence matrix: from the checks to the report ----------------------------------

def test_equivalence_matrix_cells_come_from_the_checks(isolated_results, tmp_path, capsys):
    """A bitwise check counts `exact`; a check with a named tolerance records that name and
    the largest difference it allowed; the report shows both per check × API."""
    from equivalence import compat, summary
    from equivalence.checks import verify
    from equivalence.spec import InputSpec, LayerSpec, StackSpec

    spec = StackSpec(InputSpec("vector", (3,)), (LayerSpec.of("Dense", units=2),), seed=1)
    verify("call", spec)
    verify("predict_vs_call", spec)
    matrix = summary.snapshot()["matrix"]
    assert matrix["call"]["functional"] == {"exact": 1}
    cell = matrix["predict_vs_call"]["subclassed"]
    assert cell["tolerance"] == 1 and cell["tolerances"] == ["predict_vs_call/float32"]
    assert 0.0 <= cell["largest_difference"] <= 1e-5
    path = tmp_path / "summary.json"
    summary.write_json({"schema": summary.SCHEMA, "versions": compat.versions(),
                        **summary.combine([summary.snapshot(), summary.snapshot()])}, path)
    assert main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| call | exact ×2 | exact ×2 | exact ×2 |" in out
    assert "within predict_vs_call/float32 (max" in out


def test_passing_hypothesis_examples_fill_the_matrix(isolated_results):
    """Hypothesis replays only failing examples as final: passing ones must count as they
    run (a full run once wrote an empty matrix because only final examples counted)."""
    from hypothesis import given, settings, strategies as st

    from equivalence import summary
    from equivalence.checks import verify
    from equivalence.spec import InputSpec, LayerSpec, StackSpec

    specs = st.sampled_from([StackSpec(InputSpec("vector", (n,)),
                                       (LayerSpec.of("Dense", units=2),), seed=1)
                             for n in (2, 3)])

    @settings(max_examples=2, database=None, derandomize=True)
    @given(specs)
    def run(spec):
        verify("call", spec)

    run()
    cell = summary.snapshot()["matrix"]["call"]["sequential"]
    assert cell.get("exact", 0) >= 1 and "failing" not in cell


def test_api_ratios_pair_the_apis_one_process_timed():
    # Two APIs timed in one process share its noise: the ratio to Sequential is the median
    # of each process's own ratio. On the 20-process A/A files its interval is narrower
    # than two independent samples' rank interval, and a 10% slowdown planted in every
    # process's Subclassed timings is seen past 1 on more rows.
    from benchmarks.report import tables
    from benchmarks.report.inputs import collect

    frame = collect([AA / "current"]).benchmarks
    ops = frame[frame["kind"] == "op"]

    def intervals(data):
        """Subclassed/Sequential per row: (paired low, high), (independent low, high)."""
        times = tables.api_times(data)
        rows = times[times["api"] == "subclassed"]
        assert (rows["ratio_pairs"] == rows["processes"]).all() and len(rows) > 3
        out = []
        for r in rows.itertuples():
            part = data[(data["workload"] == r.workload)
                        & (data.apply(tables.case_of, axis=1) == r.case)]
            _, low, high = stats.shift_interval(part[part["api"] == "sequential"]["median"],
                                                part[part["api"] == "subclassed"]["median"])
            out.append(((r.ratio_low, r.ratio_high), (low, high)))
        return out

    def width(interval):
        return math.log(interval[1] / interval[0])

    same = intervals(ops)
    assert (np.median([width(p) for p, _ in same])
            < 0.8 * np.median([width(u) for _, u in same]))
    planted = ops.copy()
    planted.loc[planted["api"] == "subclassed", "median"] *= 1.10
    slow = intervals(planted)
    assert sum(p[0] > 1 for p, _ in slow) > sum(u[0] > 1 for _, u in slow)


def _turns_file(path, process_noise, round_noise, slower=1.0, rounds=30, seed=0):
    """A pytest-benchmark JSON of one process holding one test_api_turns benchmark: the
    process runs `process_noise` slower than usual, each round drifts by `round_noise`
    (shared by the three turns of that round, as the machine's load is), and Subclassed
    takes `slower` times Sequential's time."""
    from benchmarks.metadata import SCHEMA_VERSION

    rng = np.random.default_rng(seed)
    drift = np.exp(rng.normal(0, round_noise, rounds))
    own = {"sequential": 1.0, "functional": 1.0, "subclassed": slower}
    turns = {api: list(1e-3 * process_noise * factor * drift
                       * np.exp(rng.normal(0, 0.01, rounds))) for api, factor in own.items()}
    info = {"schema_version": SCHEMA_VERSION, "tf_version": "2.21.0", "keras_version": "3.13.2",
            "workload": "mlp_small", "op": "call", "batch": 1, "jit_compile": False,
            "device": "cpu", "api": "all", "calls_per_turn": 10, "turns": turns,
            "turns_cpu": {api: [t * 0.9 for t in times] for api, times in turns.items()}}
    stats_ = {"median": 3e-3, "q1": 3e-3, "q3": 3e-3, "rounds": rounds}
    path.write_text(json.dumps({"machine_info": {}, "datetime": f"2026-11-27T00:00:0{seed}",
                                "benchmarks": [{"name": "test_api_turns[cpu-call-b1-jit0-"
                                                        "mlp_small]",
                                                "extra_info": info, "stats": stats_}]}))


def test_round_robin_turns_give_each_api_a_row_and_a_ratio_beside_sequential(tmp_path):
    # Five processes up to 1.6x apart whose rounds drift by 20%: the turns' ratios cancel
    # both, so a 10% slower Subclassed is seen past 1.05 and Functional's interval holds 1;
    # the same medians taken per process (what separate benchmarks give) cannot tell.
    from benchmarks.report import tables
    from benchmarks.report.inputs import collect

    for i, noise in enumerate((1.0, 1.6, 0.9, 1.3, 1.1)):
        _turns_file(tmp_path / f"p{i}.json", noise, 0.2, slower=1.10, seed=i)
    results = collect([tmp_path])
    frame = results.benchmarks
    assert set(frame["kind"]) == {"turns"} and len(frame) == 15
    times = tables.api_times(frame).set_index("api")
    assert (times.loc[["functional", "subclassed"], "ratio_from"] == "turns").all()
    assert times.loc["subclassed", "ratio_low"] > 1.05
    assert times.loc["functional", "ratio_low"] < 1 < times.loc["functional", "ratio_high"]
    _, low, high = stats.shift_interval(frame[frame["api"] == "sequential"]["median"],
                                        frame[frame["api"] == "subclassed"]["median"])
    assert low < 1 < high  # independent samples of the per-process medians: no call
    cpu = tables.api_times(results.with_metric("cpu").benchmarks).set_index("api")
    assert cpu.loc["sequential", "ms"] == pytest.approx(0.9 * times.loc["sequential", "ms"])



def test_compare_calls_one_api_slower_beside_sequential_where_process_noise_hides_it(
        tmp_path, capsys):
    # The same 10% slower Subclassed, five processes a side whose own speed differs up to
    # 1.6x: the per-API time rows cannot call it; the turns' ratio row calls a regression,
    # and Functional's ratio row does not move.
    base, cand = tmp_path / "base", tmp_path / "cand"
    base.mkdir(), cand.mkdir()
    for i, noise in enumerate((1.0, 1.6, 0.9, 1.3, 1.1)):
        _turns_file(base / f"p{i}.json", noise, 0.2, seed=i)
        _turns_file(cand / f"p{i}.json", (1.2, 0.9, 1.5, 1.0, 1.1)[i], 0.2, slower=1.10,
                    seed=10 + i)
    code, result = _compare(tmp_path, base, cand, "--threshold", "5")
    rows = {r["benchmark"]: r for r in result["rows"]}
    name = "mlp_small/call-b1-jit0/cpu/"
    assert rows[name + "subclassed÷seq"]["verdict"] == "regression"
    assert rows[name + "functional÷seq"]["verdict"] != "regression"
    assert result["regressions"] == [name + "subclassed÷seq"]
    from benchmarks.report.inputs import collect

    def medians(path):  # what per-API time rows would compare: each process's median
        frame = collect([path]).benchmarks
        return frame[frame["api"] == "subclassed"]["median"].to_numpy()
    # the same processes' Subclassed times: the rank test cannot call the 10%
    assert stats.judge(medians(base), medians(cand), 0.05)["verdict"] != "regression"
    report = (tmp_path / "out" / "report.md").read_text()
    assert "subclassed÷seq" in report and "×" in report


QUIET = ROOT / "results" / "examples" / "aa-quiet" / "default"


@pytest.mark.skipif(len(list(QUIET.glob("p*.json"))) < 20,
                    reason="results/examples/aa-quiet/default holds the 20 quiet A/A processes")
@pytest.mark.parametrize("plant, side, threshold, wanted", [
    (1.0, 5, 0.10, None),     # A/A: nothing called
    (1.0, 8, 0.025, None),
    (1.10, 5, 0.05, 0.9),     # issue 13's targets: 10% at 5 a side on >= 90% of the rows
    (1.05, 8, 0.025, 0.7),    # 5% at 8 a side on >= 70%
])
def test_a_one_api_change_is_called_by_its_turns_on_the_quiet_a_a(plant, side, threshold,
                                                                   wanted):
    # Ten random splits of the 20 quiet A/A processes (TensorFlow's own threads), Functional's
    # predict slowed by `plant` in the candidate (its time and its turns beside Sequential).
    # The threshold sits below the plant: a change equal to the threshold is called half the
    # time by design (the estimate must pass it). Time rows cannot see these changes at the
    # processes' 18% spread; the ÷seq rows (a t test on the processes' turn ratios, a family
    # of their own for the adjustment) must.
    from benchmarks.report import tables
    from benchmarks.report.inputs import collect

    frame = collect([QUIET]).benchmarks
    processes = sorted(frame["process"].unique())
    rng = np.random.default_rng(13)
    false = rows = hit = planted = 0
    for _ in range(10):
        pick = rng.permutation(processes)
        base = frame[frame["process"].isin(pick[:side])]
        cand = frame[frame["process"].isin(pick[side:2 * side])].copy()
        slowed = (cand["api"] == "functional") & cand["op"].astype(str).str.startswith("predict")
        cand.loc[slowed & cand["kind"].isin(["op", "turns"]), "median"] *= plant
        cand.loc[slowed & (cand["kind"] == "turns"), "turn_ratio"] *= plant
        table, _ = tables.compare(base, cand, threshold)
        planted_rows = ((table["api"] == "functional") & (plant != 1.0)
                         & table["op"].astype(str).str.startswith("predict"))
        affected = planted_rows & (table["kind"] == tables.RATIO_KIND)
        calls = table["verdict"].isin(["regression", "improvement"])
        false += int(calls[~planted_rows].sum())
        rows += int((~planted_rows).sum())
        hit += int((table["verdict"] == "regression")[affected].sum())
        planted += int(affected.sum())
    assert false <= 0.01 * rows, f"{false} of {rows} unplanted rows called"
    if wanted is not None:
        assert planted == 20 and hit >= wanted * planted, f"{hit} of {planted} called"
