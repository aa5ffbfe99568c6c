"""Suite-wide pytest configuration: options, Hypothesis profiles, determinism, summary.

Options: --replay PATH (re-run every equivalence check on a saved spec), --shard I/N (this
run is shard I of N: its own Hypothesis seeds, 1/N of the examples), --results-dir DIR
(where failure artifacts and summaries go; default results/). Hypothesis profiles dev
(default), ci, nightly and features are chosen with Hypothesis' own --hypothesis-profile.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import hashlib  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from hypothesis import HealthCheck, Phase, settings  # noqa: E402

# Building and tracing a model takes 0.1-1 s, so there is no per-example deadline, and
# the too_slow health check (meant for accidentally slow data generation) is off.
_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow],
               print_blob=True)
# dev (the default) and ci are derandomized: the same examples every run, so a plain
# `pytest` is reproducible; nightly explores new examples and keeps failures in the
# Hypothesis database (.hypothesis/) so they are replayed first next time.
settings.register_profile("dev", max_examples=6, derandomize=True, database=None, **_COMMON)
settings.register_profile("ci", max_examples=25, derandomize=True, database=None, **_COMMON)
settings.register_profile("nightly", max_examples=300, **_COMMON)
# Only the feature-dense stacks every property test carries (equivalence/layers/examples.py):
# a few minutes' smoke run of every check with every feature, e.g. on a new environment.
settings.register_profile("features", phases=[Phase.explicit], database=None, **_COMMON)
# Those and one stack per layer family (strategies.family_stacks, explicit in ci and nightly
# too): what ci's families add, on a new environment in a few minutes.
settings.register_profile("families", phases=[Phase.explicit], database=None, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_addoption(parser):
    group = parser.getgroup("keras-parity")
    group.addoption("--replay", metavar="PATH", default=None,
                    help="re-run every equivalence check on the spec at PATH "
                         "(a spec.json or a results/failures/<id>/ directory)")
    group.addoption("--shard", metavar="I/N", default=None,
                    help="run shard I of N (1-based): every check with this shard's own "
                         "Hypothesis seeds and 1/N of the profile's examples, so N shards "
                         "make one run; summaries combine with "
                         "`python -m equivalence.summary combine`")
    group.addoption("--benchmark", action="store_true", default=False,
                    help="run the benchmarks only, timed (pytest-benchmark), with the "
                         "settings a user has (no op determinism); JSON goes to "
                         "results/benchmarks/ unless --benchmark-json is given")
    group.addoption("--device", metavar="cpu|gpu|all", default=None,
                    help="devices for the benchmarks (default: every device present); GPU "
                         "cases skip with a reason where there is none")
    group.addoption("--tf-threads", metavar="N|tf", default="tf",
                    help="under --benchmark, TensorFlow's intra- and inter-op thread pools "
                         "fixed at N threads each (default tf: TensorFlow's own choice, "
                         "from the cores it sees); recorded with every result")
    group.addoption("--parity-budget", metavar="MINUTES", default=None,
                    help="stop checking new examples after MINUTES of wall time; the run "
                         "still ends with its summary (the remaining tests skip, saying so)")
    group.addoption("--parity-progress", metavar="SECONDS", default="30",
                    help="print a progress line at most every SECONDS (default 30; 0: after "
                         "every test)")
    group.addoption("--parity-layers", metavar="MODULE[,MODULE]", default=None,
                    help="also draw the layer kinds these modules define (their LAYERS: "
                         "LayerInfo with cls=your layer); installed packages can instead "
                         "declare an entry point in the group keras_parity.layers")
    group.addoption("--parity-kinds", metavar="KIND[,KIND]", default=None,
                    help="start every drawn stack with one of these layer kinds (Keras' or "
                         "your own; `python -m equivalence.coverage` lists them): the whole "
                         "run's examples spent on them")
    group.addoption("--results-dir", metavar="DIR",
                    default=os.environ.get("KERAS_PARITY_RESULTS", "results"),
                    help="where failure artifacts and run summaries are written "
                         "(default: $KERAS_PARITY_RESULTS or results)")


@pytest.fixture
def isolated_results(tmp_path, monkeypatch):
    """Failure artifacts go to tmp_path and counts to a fresh summary: for tests that plant
    or provoke discrepancies on purpose, so they do not show up in the run's figures."""
    from equivalence import artifacts, summary

    monkeypatch.setattr(artifacts, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(summary, "_STATE", summary.fresh_state())
    return tmp_path


def _usage_error(message):
    pytest.exit(f"keras-parity: {message}", returncode=2)


def parse_shard(text):
    """'2/5' -> (2, 5); raises ValueError with a readable message otherwise."""
    try:
        index, total = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard expects I/N such as 1/4, got {text!r}") from None
    if not 1 <= index <= total:
        raise ValueError(f"--shard {text}: I must be between 1 and N")
    return index, total


def _check_options(config):
    """Refuse a bad option before anything imports TensorFlow (one line, exit 2)."""
    from benchmarks.devices import DEVICE_CHOICES

    device = config.getoption("device")
    if device is not None and device not in DEVICE_CHOICES:
        _usage_error(f"--device must be one of {', '.join(DEVICE_CHOICES)}, got {device!r}")
    if config.getoption("benchmark") and (
            getattr(config.option, "numprocesses", None)
            or getattr(config.option, "dist", "no") not in ("no", None)):
        _usage_error("--benchmark refuses pytest-xdist (-n/--dist): parallel workers share "
                     "the cores and distort every timing; use python -m benchmarks.run "
                     "--processes N for several processes")
    for name in ("parity_budget", "parity_progress"):
        text = config.getoption(name)
        try:
            value = None if text is None else float(text)
            if value is not None and not (value > 0 or name == "parity_progress" and value == 0):
                raise ValueError
        except ValueError:
            _usage_error(f"--{name.replace('_', '-')} expects a positive number, got {text!r}")
        setattr(config, f"_{name}", value)
    threads = config.getoption("tf_threads")
    if threads != "tf" and not (threads.isdigit() and int(threads) > 0):
        _usage_error(f"--tf-threads expects a positive number of threads or 'tf', "
                     f"got {threads!r}")
    shard = config.getoption("shard")
    if shard is not None:
        try:
            config._parity_shard = parse_shard(shard)
        except ValueError as exc:
            _usage_error(str(exc))
    replay = config.getoption("replay")
    if replay is not None:
        from equivalence.spec import SpecError, load_spec

        try:
            config._parity_replay = load_spec(replay)
        except SpecError as exc:
            _usage_error(f"--replay {replay}: {exc}")


def _configure_benchmarks(config):
    """--benchmark: timed, alone in the process; otherwise every benchmark runs once."""
    from benchmarks import cases

    if not config.getoption("benchmark"):
        config.option.benchmark_disable = True  # pytest-benchmark: one untimed call
        return False
    cases.SMOKE = False
    if not getattr(config.option, "benchmark_json", None):
        out = Path(config.getoption("results_dir")) / "benchmarks"
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.json"
        config.option.benchmark_json = str(path)  # pytest-benchmark writes it at exit
        config._parity_benchmark_json = path
    return True


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark reads its options
def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running; deselect with -m 'not slow'")
    config.addinivalue_line("markers", "perf: a benchmark (timed under --benchmark, "
                                       "run once untimed otherwise)")
    config.addinivalue_line("markers", "smoke_workloads(*names, cases=None): the untimed "
                                       "run smokes this benchmark on these workloads only "
                                       "(and its smoke_all cases on every workload); with "
                                       "cases, those case ids on these workloads only")
    _check_options(config)
    if config.getoption("benchmark") and config.getoption("tf_threads") != "tf":
        import tensorflow as tf  # fixed before anything runs TensorFlow's first op

        threads = int(config.getoption("tf_threads"))
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    from equivalence import artifacts, strategies, summary
    from equivalence.spec import SpecError

    artifacts.RESULTS_DIR = Path(config.getoption("results_dir"))
    benchmarking = _configure_benchmarks(config)
    from equivalence import plugins

    try:  # the user's own kinds, before anything draws or replays a stack
        plugins.load(config.getoption("parity_layers"))
    except plugins.BadPlugin as exc:
        _usage_error(str(exc))
    kinds = config.getoption("parity_kinds")
    if kinds is not None:
        try:
            strategies.FOCUS = strategies.parse_kinds(kinds)
        except ValueError as exc:
            _usage_error(f"--parity-kinds: {exc}")
    spec = getattr(config, "_parity_replay", None)
    if spec is not None:
        from equivalence.builders import validate

        try:
            validate(spec)  # needs the registry, so TensorFlow
        except SpecError as exc:
            _usage_error(f"--replay {config.getoption('replay')}: {exc}")
        strategies.REPLAY = spec
    import tensorflow as tf

    if not benchmarking:  # benchmarks run with the settings a user has
        tf.config.experimental.enable_op_determinism()
    config._parity_start = time.perf_counter()
    if config._parity_budget is not None:
        summary.DEADLINE = time.monotonic() + config._parity_budget * 60
    if not hasattr(config, "workerinput"):  # the controller (or the only process)
        config._parity_latest = {}  # worker id -> its last snapshot
        config._parity_progress_at = time.perf_counter()
        # A CI timeout's SIGTERM ends the run as Ctrl-C does: with the summary of what it
        # checked (pytest handles KeyboardInterrupt and still writes the terminal summary).
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_runtest_setup(item):
    from equivalence import summary

    if summary.budget_spent() and getattr(item.obj, "is_hypothesis_test", False):
        pytest.skip("--parity-budget spent: not started")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    config = item.config
    if call.when == "teardown" and hasattr(config, "workerinput"):
        from equivalence import summary

        # Each worker's counts travel with its reports (xdist serializes the attribute),
        # so the controller can show progress and sum up even when a run is cut short.
        outcome.get_result().parity_summary = json.dumps(
            {"worker": config.workerinput["workerid"], "snapshot": summary.snapshot()})


def _current(config) -> dict:
    """Everything checked so far: the workers' last snapshots, or this process's."""
    from equivalence import summary

    latest = getattr(config, "_parity_latest", None)
    parts = list(latest.values()) if latest else [summary.snapshot()]
    seconds = time.perf_counter() - getattr(config, "_parity_start", time.perf_counter())
    return summary.combine(parts, seconds=seconds)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    config = node.config
    config._parity_pending = dict.fromkeys(ids)  # every worker collects the same tests
    config._parity_workers = (getattr(config, "_parity_workers", set()) - {"main"}
                              | {node.gateway.id})


def pytest_runtest_logreport(report):
    config = _CONFIG.get("config")
    if config is None or not hasattr(config, "_parity_latest"):
        return
    if not hasattr(config, "_parity_durations"):  # each test's time so far, its phases summed
        config._parity_durations = {}
    durations = config._parity_durations
    durations[report.nodeid] = durations.get(report.nodeid, 0.0) + report.duration
    if report.when != "teardown":
        return
    getattr(config, "_parity_pending", {}).pop(report.nodeid, None)
    data = getattr(report, "parity_summary", None)
    if data:
        data = json.loads(data)
        config._parity_latest[data["worker"]] = data["snapshot"]
    config._parity_done = getattr(config, "_parity_done", 0) + 1
    now = time.perf_counter()
    if now - config._parity_progress_at < config._parity_progress:
        return
    config._parity_progress_at = now
    total = _current(config)
    if not total["stacks"]:
        return
    from equivalence import summary

    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        of = getattr(_CONFIG.get("session"), "testscollected", 0) or config._parity_done
        reporter.write("\n")  # after the progress dots (xdist writes them its own way)
        left = summary.time_left(durations, list(getattr(config, "_parity_pending", ())),
                                 len(getattr(config, "_parity_workers", ())))
        reporter.write_line(summary.progress(total, total["seconds"], config._parity_done, of,
                                             left))


def pytest_keyboard_interrupt(excinfo):
    # Ctrl-C or SIGTERM; not pytest.exit, which usage errors raise.
    if "config" in _CONFIG and excinfo.errisinstance(KeyboardInterrupt):
        _CONFIG["config"]._parity_interrupted = True


_CONFIG: dict = {}  # the session's config and session, for hooks that are not handed them


def pytest_sessionstart(session):
    _CONFIG.update(config=session.config, session=session)


def _keep(items, config, predicate):
    kept = [item for item in items if predicate(item)]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


def _is_smoke(item):
    params = getattr(item, "callspec", None)
    params = params.params if params else {}
    case = params.get("case")
    only = item.get_closest_marker("smoke_workloads")
    if only and "cases" in only.kwargs:  # these cases on these workloads, nothing else
        return params.get("workload") in only.args and case.id in only.kwargs["cases"]
    if only and params.get("workload") not in only.args:
        return bool(case and case.smoke_all)
    return case.smoke if case else True


# Under --benchmark only the perf-marked tests run, and they all live in benchmarks/: the
# other test folders (the testpaths but benchmarks) are not even imported (tests/ and
# equivalence/ cost each benchmark process seconds of collection, five processes a night
# per environment).
def pytest_ignore_collect(collection_path, config):
    # (testpaths are initial paths, which pytest does not ask about: ask of what is in them)
    if config.getoption("benchmark") and collection_path.is_relative_to(config.rootpath):
        parts = collection_path.relative_to(config.rootpath).parts
        if len(parts) > 1 and parts[0] in set(config.getini("testpaths")) - {"benchmarks"}:
            return True
    return None


def pytest_collection_modifyitems(config, items):
    shard = getattr(config, "_parity_shard", None)
    if config.getoption("benchmark"):
        _keep(items, config, lambda item: item.get_closest_marker("perf") is not None)
    else:
        _keep(items, config, lambda item: item.get_closest_marker("perf") is None
              or _is_smoke(item))
    if config.getoption("replay"):
        from equivalence import strategies

        # A replayed spec without the Dense head every training stack has (a known
        # entry's example, say) is not one the training tests draw: they are left out.
        trains = strategies.trains(strategies.REPLAY)
        _keep(items, config, lambda item: getattr(item.obj, "is_hypothesis_test", False)
              and (trains or getattr(item.obj, "parity_check", None) is None
                   or item.obj.parity_check.draws == "stacks"))
    if shard:
        if shard[0] > 1:  # a test that draws nothing runs once, in shard 1
            _keep(items, config, lambda item: getattr(item.obj, "is_hypothesis_test", False))
        _split(items, shard)


def _split(items, shard):
    """Shard I of N: every property test with its own seed and its 1/N of the profile's
    drawn examples (at least one), its explicit ones (the feature and family stacks) in
    shard 1 only, so N shards together make one run of the profile — the nightly run split
    over N CI jobs — each drawing other stacks."""
    done = set()
    for item in items:
        test = item.obj
        if not getattr(test, "is_hypothesis_test", False) or id(test) in done:
            continue  # a test parametrized over modes is one function: split it once
        done.add(id(test))
        digest = hashlib.sha256(f"{shard}:{test.__qualname__}".encode())
        test._hypothesis_internal_use_seed = int(digest.hexdigest()[:8], 16)
        whole = test._hypothesis_internal_use_settings
        part = {"max_examples": max(1, -(-whole.max_examples // shard[1]))}
        if shard[0] > 1:
            part["phases"] = [p for p in whole.phases if p is not Phase.explicit]
        test._hypothesis_internal_use_settings = settings(whole, **part)


def pytest_collection_finish(session):
    """Without xdist, the tests to come (for the progress line's estimate; under xdist the
    workers' collections say). Under --benchmark, an empty selection is a usage error;
    --collect-only runs nothing, so pytest-benchmark has nothing to save (and must not warn
    that it saved nothing)."""
    config = session.config
    if not hasattr(config, "workerinput"):  # the only process, or xdist's controller
        config._parity_pending = dict.fromkeys(item.nodeid for item in session.items)
        config._parity_workers = {"main"}
    if not config.getoption("benchmark"):
        return
    if config.option.collectonly or not session.items:
        bench = getattr(config, "_benchmarksession", None)
        if bench is not None:
            bench.json = None
        config._parity_benchmark_json = None
    if not session.items and not config.option.collectonly:
        _usage_error("--benchmark: no benchmark matches the selection (-k, -m or paths)")


def pytest_terminal_summary(terminalreporter, config):
    from equivalence import summary

    if hasattr(config, "workerinput"):
        return
    json_path = getattr(config, "_parity_benchmark_json", None)
    if json_path is not None:
        terminalreporter.write_sep("-", "keras-parity")
        terminalreporter.write_line(f"benchmark results: {json_path} (written at exit)")
    total = _current(config)
    interrupted = getattr(config, "_parity_interrupted", False)
    spent = getattr(config, "_parity_budget", None) is not None and summary.budget_spent()
    if not total["stacks"] and not (interrupted or spent):
        return
    terminalreporter.write_sep("-", "keras-parity")
    if interrupted:
        terminalreporter.write_line("interrupted: the summary of what was checked before")
    if spent:
        terminalreporter.write_line(f"--parity-budget of {config._parity_budget:g} min spent: "
                                    f"the tests it cut short skip, saying so")
    terminalreporter.write_line(summary.line(total))
    if not total["stacks"]:
        return  # nothing checked: the last run's summary file stays
    shard = getattr(config, "_parity_shard", None)
    name = f"summary-shard-{shard[0]}-of-{shard[1]}.json" if shard else "summary.json"
    from equivalence import strategies

    if config.getoption("replay"):  # its own file: the last full run's summary stays
        name = f"summary-replay-{strategies.REPLAY.digest}.json"
    elif strategies.FOCUS:  # so does a run spent on a few kinds
        focus = ",".join(sorted(strategies.FOCUS))
        terminalreporter.write_line(f"every stack started with one of: {focus}")
        name = f"summary-kinds-{hashlib.sha256(focus.encode()).hexdigest()[:8]}.json"
    path = Path(config.getoption("results_dir")) / "equivalence" / name
    from equivalence import compat, known

    # The known entries in range here, in full (pytest's xfail lines give only their names).
    entries = {e.name: {"cause": e.cause, "upstream": e.upstream, "where": e.where,
                        "keras": list(e.keras), "tf": list(e.tf),
                        "cells": [list(cell) for cell in e.cells()]}
               for e in known.KNOWN if e.in_range()}
    summary.write_json({"schema": summary.SCHEMA, "versions": compat.versions(), **total,
                        "interrupted": bool(interrupted), "budget_spent": spent,
                        "kinds": sorted(strategies.FOCUS),
                        "known_entries": entries}, path)
    terminalreporter.write_line(f"summary written to {path}")
