"""Benchmark logic that needs no GPU and no timing: devices, clocks, metadata, runner."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import cases, metadata, run
from benchmarks.devices import Device, SyncedClock, device_for, selected_kinds, synchronizer

CPU, GPU = Device("cpu", "/CPU:0"), Device("gpu", "/GPU:0")
ROOT = Path(__file__).resolve().parents[1]


def test_default_devices_are_every_kind_present():
    assert selected_kinds(None, [CPU]) == ["cpu"]
    assert selected_kinds(None, [CPU, GPU]) == ["cpu", "gpu"]


def test_asking_for_an_absent_gpu_keeps_the_case_so_it_can_skip():
    assert selected_kinds("gpu", [CPU]) == ["gpu"]
    assert device_for("gpu", [CPU]) is None
    with pytest.raises(ValueError, match="--device must be one of"):
        selected_kinds("tpu", [CPU])


def test_synced_clock_synchronises_at_every_read():
    calls = []
    clock = SyncedClock(lambda: calls.append("sync"), clock=lambda: len(calls))
    assert [clock(), clock(), clock()] == [1, 2, 3]
    assert calls == ["sync"] * 3 and clock.reads == 3


def test_cpu_time_pairs_up_with_the_measured_rounds():
    # pytest-benchmark reads the timer before and after each round, calibration first:
    # the last reads are the measured rounds, whose wall times it reports per call.
    wall = iter([0, 5, 10, 12, 20, 24, 30, 33])   # calibration, then rounds of 2 / 4 / 3
    cpu = iter([0, 1, 2, 3, 10, 11, 20, 22])
    clock = SyncedClock(lambda: None, clock=lambda: next(wall), cpu_clock=lambda: next(cpu))
    for _ in range(8):
        clock()
    assert clock.cpu_per_call([1.0, 2.0, 1.5], iterations=2) == [0.5, 0.5, 1.0]
    # Reads that are not those rounds (another count, other wall times): no CPU time.
    assert clock.cpu_per_call([1.0, 2.0, 9.0], iterations=2) is None
    assert clock.cpu_per_call([1.0] * 5, iterations=1) is None


def test_cpu_needs_no_synchronisation_and_gpu_uses_tf_sync_devices():
    import tensorflow as tf

    assert synchronizer(CPU)() is None
    assert synchronizer(GPU) is tf.test.experimental.sync_devices


def test_metadata_carries_versions_machine_and_settings():
    env = metadata.environment([CPU])
    for key in ("tf_version", "keras_version", "keras_generation", "python", "cpu", "cores",
                "intra_op_threads", "onednn", "xla_flags", "schema_version", "git_revision",
                "gpu", "driver", "cuda", "cudnn", "op_determinism"):
        assert key in env
    assert env["gpu"] is None
    json.dumps(env)  # JSON-serialisable, as pytest-benchmark stores it


def test_case_ids_are_stable_names():
    assert [c.id for c in cases.TIMED][:2] == ["predict-b32-jit0", "predict-b32-jit1"]
    # every (op, jit) runs in the smoke run, at its smallest batch
    variants = {(c.op, c.jit_compile) for c in cases.TIMED}
    smoke = {(c.op, c.jit_compile): c.batch for c in cases.TIMED if c.smoke}
    assert set(smoke) == variants
    assert all(smoke[(c.op, c.jit_compile)] <= c.batch for c in cases.TIMED)


def test_retracing_is_detected_through_the_traced_function():
    class FakeFunction:
        count = 1

        def experimental_get_tracing_count(self):
            return self.count

    class FakeModel:
        predict_function = FakeFunction()

    model = FakeModel()
    assert cases.tracing_count(model, "predict") == 1
    model.predict_function.count = 2
    assert cases.tracing_count(model, "predict") == 2
    assert cases.tracing_count(model, "call") is None


def test_runner_interleaves_environments():
    assert run.schedule(2, ["tf220", "tf221"]) == [("tf220", 1), ("tf221", 1),
                                                    ("tf220", 2), ("tf221", 2)]


@pytest.mark.parametrize("args, words", [
    (["--processes", "0", "--out", "x"], "--processes"),
    (["--processes", "1", "--out", "x", "--envs", "tf999"], "tf999"),
])
def test_runner_bad_input_is_one_line_and_exit_2(args, words, tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks.run", *args], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2 and words in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_runner_writes_one_json_per_process_and_never_overwrites(tmp_path):
    argv = ["--processes", "2", "--out", str(tmp_path), "--",
            "benchmarks", "-k", "mlp_small and floor-b1", "--benchmark-max-time=0.05"]
    assert run.main(argv) == 0
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.json"))
    assert files == ["current/p1.json", "current/p2.json"]
    data = json.loads((tmp_path / files[0]).read_text())
    bench = data["benchmarks"][0]
    assert bench["extra_info"]["workload"] == "mlp_small"
    # CPU time per call beside the wall time, from the same measured rounds
    cpu = bench["extra_info"]["cpu_time"]
    assert cpu["rounds"] == bench["stats"]["rounds"] and 0 < cpu["median"]
    assert run.main(argv) == 2  # the same --out again: refused, nothing overwritten


def test_benchmark_refuses_xdist():
    done = subprocess.run([sys.executable, "-m", "pytest", "--benchmark", "-n", "2",
                           "--collect-only", "-q"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "refuses pytest-xdist" in done.stdout + done.stderr


def _bench(api, op, batch, median, workload="w"):
    return {"extra_info": {"workload": workload, "api": api, "op": op, "batch": batch,
                           "jit_compile": False}, "stats": {"median": median}}


def test_table_puts_the_apis_and_the_floor_side_by_side(tmp_path):
    from benchmarks import table

    path = tmp_path / "r.json"
    path.write_text(json.dumps({"benchmarks": [
        _bench("sequential", "call", 1, 0.002), _bench("functional", "call", 1, 0.003),
        _bench("subclassed", "call", 1, 0.004), _bench("floor", "floor", 1, 0.001)]}))
    wide = table.side_by_side(table.load(path))
    row = wide.loc[("w", "call b1")]
    assert (row["sequential"], row["floor"], row["fun/seq"], row["sub/seq"]) == (2, 1, 1.5, 2)


@pytest.mark.parametrize("content, words", [
    (None, "no such file"), ("{trunc", "not valid JSON"), ('{"x": 1}', "not pytest-benchmark"),
    ('{"benchmarks": []}', "no benchmarks")])
def test_table_bad_input_is_one_line_and_exit_2(tmp_path, content, words):
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    done = subprocess.run([sys.executable, "-m", "benchmarks.table", str(path)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2 and words in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_turn_plan_calibrates_calls_and_rounds():
    # 1 ms a call: 20 calls make a 20 ms turn; 3 s over rounds of 60 ms is 50 rounds
    plan = cases.turn_plan({"sequential": 1e-3, "functional": 1e-3, "subclassed": 1e-3},
                     budget=3.0, min_rounds=5)
    assert (plan.calls, plan.rounds) == (20, 50)
    slow = cases.turn_plan({"sequential": 0.5, "functional": 0.6, "subclassed": 0.4},
                     budget=3.0, min_rounds=5)
    assert (slow.calls, slow.rounds) == (1, 5)  # never fewer than min_rounds
    long = cases.turn_plan({"sequential": 1e-3, "functional": 1e-3, "subclassed": 1e-3},
                     budget=100.0, min_rounds=5, max_rounds=200)
    assert long.rounds == 200  # never more than max_rounds
    apis = ("sequential", "functional", "subclassed")
    assert [cases.turn_order(apis, r)[0] for r in range(3)] == list(apis)


def test_tf_threads_are_fixed_before_tensorflow_runs_and_recorded(tmp_path):
    from test_cli import run_pytest

    out = tmp_path / "one.json"
    run = run_pytest("--benchmark", "--tf-threads=1", f"--benchmark-json={out}",
                     f"--results-dir={tmp_path}", "-k",
                     "test_op and mlp_small and call-b1 and sequential")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    info = json.loads(out.read_text())["benchmarks"][0]["extra_info"]
    assert (info["intra_op_threads"], info["inter_op_threads"]) == (1, 1)
