"""`python -m equivalence.matrix [ENV ...]`: the suite on every tox environment, one table.

Runs `tox -e ENV -- -n auto --hypothesis-profile=PROFILE [ARGS]` for each environment in
turn (one at a time: they would share the cores), then reads what each left under
results/ENV/ (the JUnit XML of pytest and the equivalence summary) and writes

    results/matrix/ENV.json    one environment's row and its command's log beside it
    results/matrix/matrix.json every row, with the commit they were measured on
    results/matrix/matrix.md   the table (environment, TF, Keras, tests, stacks, checks,
                               stacks/min, discrepancies, known upstream, wall time)

Resumable: an environment already done for this code (the last commit that changed it) and
these arguments is not run again unless --rerun ENV. A folder holding results of other code
is refused without --force (which runs the named environments and keeps the other rows,
each labelled with its commit). Exit status: 0 when every environment passed, 1 otherwise, 2 for bad input.
"""
from __future__ import annotations

import argparse
import configparser
import importlib.util
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from equivalence.atomic import write_text
from equivalence.cli import Parser

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = "keras-parity-matrix/1"
COLUMNS = ("environment", "commit", "TF", "Keras", "tests", "stacks", "checks", "stacks/min",
           "discrepancies", "known upstream", "wall time")


class BadInput(Exception):
    """One line for the user; exit 2."""


def environments(tox_ini: Path = ROOT / "tox.ini") -> list[str]:
    """The envlist of tox.ini, in its order."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(tox_ini)
    return [e.strip() for e in parser.get("tox", "envlist").split(",") if e.strip()]


# What a run's outcome depends on: a commit that changes only documents keeps the rows.
CODE = ("equivalence", "benchmarks", "tests", "conftest.py", "tox.ini", "pyproject.toml")


def commit(root: Path = ROOT) -> str:
    """The last commit that changed the code (CODE), with '+dirty' when the code differs
    from it in the work tree."""
    head = subprocess.run(["git", "log", "-1", "--format=%h", "--", *CODE], cwd=root,
                          capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                            *CODE], cwd=root, capture_output=True, text=True).stdout.strip()
    return head + ("+dirty" if dirty else "")


def junit_counts(path: Path) -> dict:
    """{passed, failed, skipped, xfailed, errors} from pytest's JUnit XML."""
    suite = ET.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "xfailed": 0}
    for case in suite.iter("testcase"):
        kinds = [child.tag for child in case]
        skipped = case.find("skipped")
        if "failure" in kinds:
            counts["failed"] += 1
        elif "error" in kinds:
            counts["errors"] += 1
        elif skipped is not None:
            xfail = skipped.get("type") == "pytest.xfail"
            counts["xfailed" if xfail else "skipped"] += 1
        else:
            counts["passed"] += 1
    return counts


def row(env: str, results: Path, returncode: int, wall: float, args: list[str],
        commit_: str) -> dict:
    """One environment's row from the files its run wrote."""
    out = {"environment": env, "commit": commit_, "returncode": returncode,
           "wall_seconds": round(wall, 1), "args": args}
    junit = results / "junit.xml"
    if junit.is_file():
        out["tests"] = junit_counts(junit)
    summary = results / "equivalence" / "summary.json"
    if summary.is_file():
        data = json.loads(summary.read_text())
        out.update(tf=data["versions"]["tf"], keras=data["versions"]["keras"],
                   stacks=len(data["stacks"]), checks=data["checks"],
                   discrepancies=data["discrepancies"], known=data["known"],
                   equivalence_seconds=round(data.get("seconds", 0.0), 1))
    out["passed"] = returncode == 0
    return out


def run_one(env: str, args: list[str], out_dir: Path, commit_: str) -> dict:
    """tox -e ENV -- ARGS, its output in out_dir/ENV.log; the row it leaves."""
    results = ROOT / "results" / env
    for stale in (results / "junit.xml", results / "equivalence" / "summary.json"):
        stale.unlink(missing_ok=True)  # a row is only ever read from this run's files
    log = out_dir / f"{env}.log"
    start = time.perf_counter()
    with open(log, "w") as fh:
        code = subprocess.run([sys.executable, "-m", "tox", "-e", env, "--", *args], cwd=ROOT,
                              stdout=fh,
                              stderr=subprocess.STDOUT).returncode
    return row(env, results, code, time.perf_counter() - start, args, commit_)


def _tests_cell(tests: dict | None) -> str:
    if not tests:
        return "—"
    text = f"{tests['passed']} passed"
    for key in ("failed", "errors", "xfailed", "skipped"):
        if tests[key]:
            text += f", {tests[key]} {key}"
    return text


def markdown(rows: list[dict], commit_: str, args: list[str]) -> str:
    lines = [f"Code at `{commit_}`; `tox -e ENV -- {' '.join(args)}`, one environment at a "
             "time on this machine.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        secs = r.get("equivalence_seconds") or 0
        rate = f"{r['stacks'] / secs * 60:.0f}" if secs and "stacks" in r else "—"
        cells = (r["environment"] + ("" if r["passed"] else " **FAILED**"), r["commit"],
                 r.get("tf", "—"), r.get("keras", "—"), _tests_cell(r.get("tests")),
                 r.get("stacks", "—"), r.get("checks", "—"), rate,
                 r.get("discrepancies", "—"), r.get("known", "—"),
                 f"{r['wall_seconds'] / 60:.1f} min")
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = Parser(prog="python -m equivalence.matrix",
                                     description=__doc__.split("\n")[0],
                                     epilog="After --, more pytest arguments.")
    parser.add_argument("envs", nargs="*", metavar="ENV",
                        help="environments to run (default: tox.ini's envlist)")
    parser.add_argument("--profile", default="ci", help="Hypothesis profile (default: ci)")
    parser.add_argument("--out", default=str(ROOT / "results" / "matrix"), metavar="DIR")
    parser.add_argument("--force", action="store_true",
                        help="accept results of other code in the folder: the named "
                             "environments run again, the others keep their labelled rows")
    parser.add_argument("--rerun", action="append", default=[], metavar="ENV",
                        help="run this environment again even if done for this commit")
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    ns = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    ns.pytest_args = extra  # after --: more pytest arguments
    return ns


def _load_previous(path: Path, commit_: str, force: bool) -> dict:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        if data.get("schema") != SCHEMA:
            raise ValueError("not a keras-parity matrix")
    except ValueError as exc:
        raise BadInput(f"{path}: {exc}; remove it or pass --force") from None
    other = sorted({r["commit"] for r in data["rows"]} - {commit_})
    if other and not force:
        raise BadInput(f"{path} holds results of code at {', '.join(other)}, this is "
                       f"{commit_}: pass --force to run here and keep them labelled")
    return {r["environment"]: r for r in data["rows"]}


def main(argv: list[str] | None = None) -> int:
    ns = parse(sys.argv[1:] if argv is None else argv)
    try:
        known_envs = environments()
        unknown = [e for e in ns.envs + ns.rerun if e not in known_envs]
        if unknown:
            raise BadInput(f"unknown environment {unknown[0]!r}; tox.ini has "
                           + ", ".join(known_envs))
        if importlib.util.find_spec("tox") is None:
            raise BadInput(f"tox is not installed for {sys.executable}: "
                           f"pip install -e '.[tools]'")
        out = Path(ns.out)
        commit_ = commit()
        previous = _load_previous(out / "matrix.json", commit_, ns.force)
    except BadInput as exc:
        print(f"keras-parity matrix: {exc}", file=sys.stderr)
        return 2
    args = ["-n", "auto", f"--hypothesis-profile={ns.profile}", *ns.pytest_args]
    envs = ns.envs or known_envs
    rows = dict(previous)
    out.mkdir(parents=True, exist_ok=True)
    for env in envs:
        commit_ = commit()  # per environment: the code may change between two of them
        done = previous.get(env)
        if done and done["commit"] == commit_ and done["args"] == args \
                and env not in ns.rerun:
            print(f"{env}: done for {commit_} ({'passed' if done['passed'] else 'FAILED'})")
            continue
        print(f"{env}: running tox -e {env} -- {' '.join(args)}", flush=True)
        rows[env] = run_one(env, args, out, commit_)
        write_text(out / f"{env}.json", json.dumps(rows[env], indent=1))
        ordered = [rows[e] for e in known_envs if e in rows]
        write_text(out / "matrix.json", json.dumps(
            {"schema": SCHEMA, "commit": commit_, "rows": ordered}, indent=1))
        write_text(out / "matrix.md", markdown(ordered, commit_, args))
        print(f"{env}: {'passed' if rows[env]['passed'] else 'FAILED'} in "
              f"{rows[env]['wall_seconds'] / 60:.1f} min", flush=True)
    ordered = [rows[e] for e in known_envs if e in rows]
    print(markdown(ordered, commit_, args))
    return 0 if all(rows[e]["passed"] for e in envs if e in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
