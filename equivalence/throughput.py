"""`python -m equivalence.throughput`: how many stacks a minute Keras itself allows here.

The suite's rate (the summary line's *stacks/min*) is bounded by what Keras takes to build
a stack three times and run it; this command measures that bound beside the suite, on the
same stacks, in one process (after one untimed warm-up stack):

    build          the three APIs' models of each stack (builders.build_all)
    floor          that, then one `model.predict` per API: the least any output check does
    predict group  the suite's `predict` group on the stack (verify_group: predict,
                   predict_on_batch, predict_vs_call, compared, known entries explained)

The stacks are the dev profile's kind (strategies.stacks, derandomized, `--stacks N`
distinct ones). Each stack runs every stage, the stages in a rotating order (stack i
starts with stage i mod 3), so the machine's drift reaches every stage alike; compare the
stages of one run, and runs in several processes (docs/checks.md, "Throughput"). Op
determinism is on, as in the suite. A discrepancy the group finds is counted and written
as pytest would (results/failures/). Bad options: one line, exit 2.
"""
from __future__ import annotations

import sys
import time

from equivalence.cli import Parser

STAGES = ("build", "floor", "predict group")


def orders(n: int) -> list[tuple[str, ...]]:
    """The order the stages run in for each of `n` stacks: rotated one place a stack."""
    return [STAGES[i % len(STAGES):] + STAGES[:i % len(STAGES)] for i in range(n)]


def drawn(n: int) -> list:
    """`n` distinct stacks as the dev profile draws them (derandomized, generation only)."""
    from hypothesis import HealthCheck, Phase, given, settings

    from equivalence.strategies import stacks

    found: dict = {}

    @settings(max_examples=20 * n, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(stacks())
    def collect(spec):
        if len(found) < n:
            found[spec.digest] = spec

    collect()
    return list(found.values())


def _run(stage: str, spec) -> bool:
    """Run one stage on one stack; False where the predict group found a discrepancy."""
    from equivalence.builders import build_all
    from equivalence.checks import Discrepancy, SharedModelsDiffer, verify_group
    from equivalence.data import feedable, make_inputs

    if stage == "predict group":
        try:
            verify_group("predict", spec)
        except (Discrepancy, SharedModelsDiffer):
            return False
        return True
    models = build_all(spec)
    if stage == "floor":
        x = feedable(make_inputs(spec))
        for model in models.values():
            model.predict(x, verbose=0)
    return True


def measure(specs: list) -> tuple[dict[str, float], int]:
    """({stage: seconds over all stacks}, discrepancies found). The first stack is built and
    predicted once untimed first (the build and floor stages): the process's first build
    and predict pay one-time costs (kernel registration, the first function traced) that no
    stage should carry alone."""
    seconds = dict.fromkeys(STAGES, 0.0)
    found = 0
    for stage in STAGES[:2]:
        _run(stage, specs[0])
    for spec, order in zip(specs, orders(len(specs))):
        for stage in order:
            start = time.perf_counter()
            found += not _run(stage, spec)
            seconds[stage] += time.perf_counter() - start
    return seconds, found


def report(seconds: dict[str, float], n: int, found: int, versions: str) -> str:
    """The lines printed: each stage's stacks a minute, and the group against the floor."""
    rate = {stage: 60 * n / s if s else float("inf") for stage, s in seconds.items()}
    lines = [f"throughput, {versions}, one process, {n} dev stacks:"]
    lines += [f"  {stage:<14} {rate[stage]:7.1f} stacks/min  ({seconds[stage]:.1f} s)"
              for stage in STAGES]
    lines.append(f"  the predict group takes {seconds['predict group'] / seconds['floor']:.1f}x "
                 f"the floor" + (f"; {found} discrepancies (results/failures/)" if found
                                 else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m equivalence.throughput",
                    description=__doc__.split("\n")[0])
    parser.add_argument("--stacks", type=int, default=20, metavar="N",
                        help="how many distinct dev stacks to measure (default 20)")
    ns = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if ns.stacks < 1:
        parser.error(f"--stacks must be at least 1, got {ns.stacks}")
    import tensorflow as tf

    from equivalence import compat

    tf.config.experimental.enable_op_determinism()
    tf.get_logger().setLevel("ERROR")
    specs = drawn(ns.stacks)
    seconds, found = measure(specs)
    print(report(seconds, len(specs), found,
                 f"TF {tf.__version__}, Keras {compat.KERAS_VERSION}"))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
