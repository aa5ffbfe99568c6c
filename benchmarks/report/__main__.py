"""python -m benchmarks.report summary|compare|nightly — see benchmarks/report/__init__.py."""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from benchmarks.report import history, render, stats
from benchmarks.report.documents import compare_document, summary_document
from benchmarks.report.inputs import BadInput, collect

PROG = "python -m benchmarks.report"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2, as for every other bad input
        raise BadInput(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=__import__("benchmarks.report").report.__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    summary = sub.add_parser("summary", help="tables and plots of one or many runs")
    summary.add_argument("results", nargs="+", type=Path, metavar="RESULTS")
    compare = sub.add_parser("compare", help="candidate against baseline, with statistics")
    compare.add_argument("baseline", type=Path, metavar="BASELINE")
    compare.add_argument("candidate", type=Path, metavar="CANDIDATE")
    compare.add_argument("--fail-on-regression", action="store_true",
                         help="exit 1 when a significant regression passes the threshold")
    nightly = sub.add_parser("nightly", help="append tonight's medians to the history and "
                                             "alert on changes far outside the recent nights")
    nightly.add_argument("results", nargs="+", type=Path, metavar="RESULTS")
    nightly.add_argument("--history", type=Path, required=True,
                         help="the history CSV (created if missing), e.g. "
                              "results/nightly/history.csv")
    nightly.add_argument("--night", help="this night's label (default: the results' date)")
    nightly.add_argument("--window", type=int, default=history.WINDOW,
                         help=f"nights the robust z-score looks back over "
                              f"(default {history.WINDOW})")
    nightly.add_argument("--z", type=float, default=history.Z_LIMIT,
                         help=f"robust z-score beyond which a change is far outside the "
                              f"recent spread (default {history.Z_LIMIT})")
    nightly.add_argument("--fail-on-alert", action="store_true", help="exit 1 on an alert")
    for each in (summary, compare, nightly):
        each.add_argument("--out", type=Path, help="also write the report into this new "
                                                   "directory (Markdown, HTML, plots, CSV)")
    for each in (summary, compare):
        each.add_argument("--metric", choices=("wall", "cpu"), default="wall",
                          help="time by the wall clock (default) or by the process's CPU "
                               "time, which does not count time another tenant held the "
                               "core")
    compare.add_argument("--threshold", type=float, default=10.0, metavar="PCT",
                         help="smallest change that counts, in percent (default 10)")
    nightly.add_argument("--threshold", type=float, default=history.THRESHOLD_PCT,
                         metavar="PCT", help=f"smallest change that counts, in percent "
                                             f"(default {history.THRESHOLD_PCT:g}: see "
                                             f"benchmarks/report/history.py)")
    compare.add_argument("--alpha", type=float, default=stats.ALPHA,
                         help=f"significance level of the test (default {stats.ALPHA})")
    return parser


def _check_out(out: Path | None) -> None:
    if out is not None and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BadInput(f"{out}: exists and is not empty; refusing to overwrite (choose a "
                       f"new --out)")


def _threshold(args) -> float:
    if not 0 < args.threshold < 1000 or not math.isfinite(args.threshold):
        raise BadInput(f"--threshold must be a percentage between 0 and 1000, got "
                       f"{args.threshold:g}")
    return args.threshold / 100


# --- main ----------------------------------------------------------------------------------

def run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    _check_out(args.out)
    code = 0
    if args.command == "summary":
        doc, files, frames = summary_document(collect(args.results).with_metric(args.metric))
    elif args.command == "compare":
        threshold = _threshold(args)
        if not 0 < args.alpha < 1:
            raise BadInput(f"--alpha must be between 0 and 1, got {args.alpha:g}")
        doc, files, frames, regressions = compare_document(
            collect([args.baseline]).with_metric(args.metric),
            collect([args.candidate]).with_metric(args.metric), threshold, args.alpha)
        code = 1 if args.fail_on_regression and regressions else 0
    else:
        threshold = _threshold(args)
        if args.window < 2:
            raise BadInput(f"--window must be at least 2 nights, got {args.window}")
        night = history.Night(collect(args.results), args.history, args.night,
                              threshold, args.window, args.z)
        doc, files, frames = night.document()
        code = 1 if args.fail_on_alert and night.alerts_found else 0
    print(doc.markdown())
    if args.out is not None:
        render.write_report(args.out, doc, files, frames)
        print(f"report written to {args.out}/ (report.md, report.html, plots, CSV)",
              file=sys.stderr)
    if args.command == "nightly":
        night.save()
    return code


def main(argv=None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except BadInput as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
