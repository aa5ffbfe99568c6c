"""fit / predict / evaluate / __call__ for each workload in the three APIs, with a floor.

`pytest --benchmark` times these (pytest-benchmark); the default run executes each once,
untimed, at its smallest size, so benchmark code cannot rot.
"""
import numpy as np
import pytest

from benchmarks import metadata
from benchmarks.cases import (COLD, FIT_STEPS, FLOOR, FLOOR_FIT, TIMED, compile_model,
                              dataset_size, op_callable, tracing_count, turn_order,
                              turn_plan)
from benchmarks.devices import (SyncedClock, gpu_peak_bytes, placement, reset_gpu_peak,
                                synchronizer)
from benchmarks.floor import raw_fit_epoch, raw_forward
from benchmarks.memory import host_peak_delta_bytes
from benchmarks.workloads import WORKLOADS
from equivalence.builders import build, output_shape
from equivalence.data import make_inputs, make_targets
from equivalence.portable import APIS

pytestmark = pytest.mark.perf
workloads = pytest.mark.parametrize("workload", sorted(WORKLOADS))
# The untimed run smokes a benchmark's every case on one workload, and each workload with
# the cases that build and run it in graph mode and under XLA (Case.smoke_all): the code
# of an op, a cold start or a memory reading is the same whatever the workload.
SMOKE_ON = pytest.mark.smoke_workloads("mlp_small")
apis = pytest.mark.parametrize("api", APIS)


def _ids(cases):
    return pytest.mark.parametrize("case", cases, ids=[c.id for c in cases])


def _data(spec):
    n = dataset_size()
    x = make_inputs(spec, batch=n)
    y = make_targets(spec, output_shape(spec), batch=n)
    return x, y


def _record(benchmark, workload, api, case, device, **extra):
    benchmark.extra_info.update({
        "workload": workload, "api": api, "op": case.op, "batch": case.batch,
        "jit_compile": case.jit_compile, "device": device.kind,
        **metadata.environment([device]), **extra})


def _record_cpu(benchmark, clock: SyncedClock) -> None:
    """The measured rounds' CPU time per call beside pytest-benchmark's wall time, as
    extra_info["cpu_time"] (median, q1, q3, min, rounds); nothing when not timed."""
    timed = getattr(benchmark, "stats", None)
    if timed is None:  # benchmarks disabled: run once, untimed
        return
    cpu = clock.cpu_per_call(list(timed.stats.data), timed.iterations)
    if cpu:
        q1, median, q3 = np.percentile(cpu, [25, 50, 75])
        benchmark.extra_info["cpu_time"] = {"median": float(median), "q1": float(q1),
                                       "q3": float(q3), "min": float(min(cpu)),
                                       "rounds": len(cpu)}


def _timed(benchmark, device, fn):
    """Time `fn`, already warmed up by the caller (tracing and compiling happen there),
    with a clock that synchronises the device at every read and reads CPU time too."""
    clock = benchmark._timer = SyncedClock(synchronizer(device))
    result = benchmark(fn)
    _record_cpu(benchmark, clock)
    return result


@workloads
@apis
@_ids(TIMED)
@SMOKE_ON
def test_op(benchmark, workload, api, case, device):
    spec = WORKLOADS[workload]
    with placement(device):
        model = compile_model(build(spec, api), case.jit_compile)
        x, y = _data(spec)
        fn = op_callable(model, case, x, y)
        fn()  # warm-up outside the timed region
        traces = tracing_count(model, case.op)
        _record(benchmark, workload, api, case, device, traces=traces)
        _timed(benchmark, device, fn)
    # Tracing is counted once, in the warm-up: a retrace in the timed rounds would time
    # the tracer, not the model.
    assert tracing_count(model, case.op) == traces


@workloads
@_ids(TIMED)
# The untimed run smokes the turns once: the op's code is test_op's, smoked for every op.
@pytest.mark.smoke_workloads("mlp_small", cases=("predict-b32-jit0",))
def test_api_turns(benchmark, workload, case, device):
    """The three APIs' `case` timed in turns inside one process: after each API's warm-up,
    round r times a turn of Sequential, Functional and Subclassed in an order rotated by r
    (cases.turn_plan calibrates calls per turn and rounds). Each API's turns land in
    extra_info["turns"] (wall seconds per call) and ["turns_cpu"]; the report takes an
    API's ratio to Sequential from the turns beside each other, which share the machine's
    state of that moment, not only the process. pytest-benchmark's own figure is a round."""
    spec = WORKLOADS[workload]
    with placement(device):
        fns, traces = {}, {}
        x, y = _data(spec)
        for api in APIS:
            model = compile_model(build(spec, api), case.jit_compile)
            fns[api] = op_callable(model, case, x, y)
            fns[api]()  # warm-up outside the timed region
            traces[api] = (model, tracing_count(model, case.op))
        clock = SyncedClock(synchronizer(device))

        def turn(api: str, calls: int) -> tuple[float, float]:
            clock()
            for _ in range(calls):
                fns[api]()
            clock()
            (wall0, cpu0), (wall1, cpu1) = clock.log[-2:]
            return (wall1 - wall0) / calls, (cpu1 - cpu0) / calls

        if benchmark.disabled:  # the untimed smoke run: one round of single calls
            plan_rounds, calls = 1, 1
        else:
            one = {api: turn(api, 1)[0] for api in APIS}
            plan = turn_plan(one, budget=len(APIS) * getattr(benchmark, "_max_time", 1.0),
                             min_rounds=getattr(benchmark, "_min_rounds", 5))
            plan_rounds, calls = plan.rounds, plan.calls
        walls = {api: [] for api in APIS}
        cpus = {api: [] for api in APIS}
        rounds = iter(range(plan_rounds))

        def one_round():
            for api in turn_order(APIS, next(rounds)):
                wall, cpu = turn(api, calls)
                walls[api].append(wall)
                cpus[api].append(cpu)

        _record(benchmark, workload, "all", case, device, calls_per_turn=calls)
        benchmark.pedantic(one_round, rounds=plan_rounds, iterations=1)
        benchmark.extra_info.update(turns=walls, turns_cpu=cpus)
    for model, count in traces.values():
        assert tracing_count(model, case.op) == count  # no retrace inside the turns
    assert all(len(w) == plan_rounds for w in walls.values())


@workloads
@_ids(FLOOR)
def test_floor(benchmark, workload, case, device):
    spec = WORKLOADS[workload]
    with placement(device):
        model = build(spec, "sequential")
        floor = raw_forward(spec, model)
        if floor is None:
            pytest.skip(f"{workload}: no raw-TF implementation of its layers")
        x = make_inputs(spec, batch=case.batch)
        # also the warm-up: the floor traces here, outside the timed region
        np.testing.assert_allclose(floor(x), model(x, training=False), rtol=1e-5, atol=1e-6)
        _record(benchmark, workload, "floor", case, device)
        _timed(benchmark, device, lambda: floor(x))


@workloads
@_ids(FLOOR_FIT)
def test_floor_fit(benchmark, workload, case, device):
    spec = WORKLOADS[workload]
    with placement(device):
        model = compile_model(build(spec, "sequential"), False)
        made = raw_fit_epoch(spec, model, FIT_STEPS, case.batch)
        if made is None:
            pytest.skip(f"{workload}: no raw-TF implementation of its layers")
        epoch, variables = made
        n = FIT_STEPS * case.batch
        x, y = make_inputs(spec, batch=n), make_targets(spec, output_shape(spec), batch=n)
        # The floor must train like fit(optimizer="sgd", loss="mse") from the same weights;
        # this first epoch is also the warm-up (tracing).
        epoch(x, y)
        model.fit(x, y, batch_size=case.batch, epochs=1, verbose=0, shuffle=False)
        trained = [w for layer in model.layers for w in layer.get_weights()]
        for var, value in zip(variables, trained, strict=True):
            np.testing.assert_allclose(var.numpy(), value, rtol=1e-4, atol=1e-6)
        _record(benchmark, workload, "floor", case, device)
        _timed(benchmark, device, lambda: epoch(x, y))


@workloads
@apis
@_ids(COLD)
@SMOKE_ON
def test_cold_start(benchmark, workload, api, case, device):
    spec = WORKLOADS[workload]

    def fresh_model():  # setup, outside the timed region: a new model and its data
        model = compile_model(build(spec, api), False)
        return (model, *_data(spec)), {}

    if case.op == "build":
        setup, target = None, lambda: build(spec, api)
    elif case.op == "first_predict":
        setup, target = fresh_model, lambda m, x, y: m.predict(x[:32], batch_size=32, verbose=0)
    else:
        setup, target = fresh_model, lambda m, x, y: m.fit(x[:32], y[:32], batch_size=32,
                                                            verbose=0)
    _record(benchmark, workload, api, case, device)
    with placement(device):
        clock = benchmark._timer = SyncedClock(synchronizer(device))
        benchmark.pedantic(target, setup=setup, rounds=3, iterations=1)
        _record_cpu(benchmark, clock)


@workloads
@apis
@SMOKE_ON
def test_memory_predict(benchmark, workload, api, device):
    spec = WORKLOADS[workload]
    with placement(device):
        model = compile_model(build(spec, api), False)
        x, _ = _data(spec)
        model.predict(x[:256], batch_size=256, verbose=0)
        reset_gpu_peak(device)
        host = host_peak_delta_bytes(lambda: model.predict(x, batch_size=256, verbose=0))
        case = TIMED[2]  # predict-b256
        _record(benchmark, workload, api, case, device, host_peak_bytes=host,
                gpu_peak_bytes=gpu_peak_bytes(device))
        benchmark.pedantic(lambda: model.predict(x, batch_size=256, verbose=0), rounds=1,
                           iterations=1)
