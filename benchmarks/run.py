"""Run benchmark processes, interleaved between tox environments, one JSON file each.

    python -m benchmarks.run --processes N --out DIR [--envs ENV,ENV] [-- PYTEST ARGS]

Timings vary more between processes than inside one on a shared machine, so the process is
the unit of replication: N processes per environment, run A B A B … so that two TF versions
are measured under the same conditions. Each writes DIR/<env>/p<i>.json (pytest-benchmark
JSON), so `python -m benchmarks.report compare DIR/<env A> DIR/<env B>` compares them;
existing files are never overwritten.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = "current"  # the environment this command runs in


class UsageError(Exception):
    pass


def schedule(processes: int, envs: list[str]) -> list[tuple[str, int]]:
    """[(env, process index)], interleaved: A1 B1 A2 B2 …"""
    return [(env, i) for i in range(1, processes + 1) for env in envs]


def python_for(env: str) -> str:
    if env == HERE:
        return sys.executable
    exe = ROOT / ".tox" / env / "bin" / "python"
    if not exe.exists():
        raise UsageError(f"tox environment {env!r} not found at {exe.parent.parent}: "
                         f"create it first with `tox -e {env} --notest`")
    return str(exe)


def command(env: str, out: Path, extra: list[str]) -> list[str]:
    return [python_for(env), "-m", "pytest", "--benchmark", "-q", "-p", "no:randomly",
            f"--benchmark-json={out}", *extra]


def environment_for(env: str) -> dict:
    # Without the parent's PYTEST_* variables: an xdist worker's would make the child
    # believe it is one, and pytest-benchmark disables timing under xdist.
    variables = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    variables["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if "legacy" in env:
        variables["TF_USE_LEGACY_KERAS"] = "1"
    return variables


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    extra = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--processes", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--envs", default=HERE,
                        help="comma-separated tox environments (default: this one)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed one usage line and the error
        raise SystemExit(2) from exc
    if args.processes < 1:
        raise UsageError("--processes must be at least 1")
    return args, extra


def run(argv: list[str]) -> int:
    args, extra = parse(argv)
    envs = [e for e in args.envs.split(",") if e]
    plan = schedule(args.processes, envs)
    outputs = [args.out / env / f"p{i}.json" for env, i in plan]
    clash = [str(p) for p in outputs if p.exists()]
    if clash:
        raise UsageError(f"refusing to overwrite {clash[0]} (choose a new --out)")
    commands = [command(env, out, extra) for (env, _), out in zip(plan, outputs)]
    for env in envs:
        (args.out / env).mkdir(parents=True, exist_ok=True)
    failed = 0
    for k, ((env, i), cmd, out) in enumerate(zip(plan, commands, outputs), 1):
        start = time.perf_counter()
        sys.stderr.write(f"[{k}/{len(plan)}] {env} process {i} … ")
        sys.stderr.flush()
        done = subprocess.run(cmd, cwd=ROOT, env=environment_for(env),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - start
        status = "ok" if done.returncode == 0 and out.exists() else f"exit {done.returncode}"
        failed += status != "ok"
        sys.stderr.write(f"{status} in {seconds:.0f} s → {out}\n")
        if status != "ok":
            sys.stderr.write(done.stderr[-2000:] + "\n")
    return 1 if failed else 0


def main(argv=None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        sys.stderr.write(f"python -m benchmarks.run: error: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
