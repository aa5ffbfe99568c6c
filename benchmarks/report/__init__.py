"""Reports on keras-parity results: tables, statistics, plots, nightly history.

    python -m benchmarks.report summary RESULTS... [--out DIR]
    python -m benchmarks.report compare BASELINE CANDIDATE [--threshold PCT]
                                        [--fail-on-regression] [--out DIR]
    python -m benchmarks.report nightly RESULTS... --history FILE [--out DIR]

RESULTS, BASELINE and CANDIDATE are files or directories (searched recursively) of
pytest-benchmark JSON written by `pytest --benchmark` or `python -m benchmarks.run`;
`summary` also reads equivalence summaries (results/equivalence/summary.json) and corpus
matrices (results/corpus/matrix-*.json). Markdown goes to stdout; with --out, a new
directory gets report.md, report.html (with its PNG plots), tidy CSV (and Parquet where
pyarrow is installed), comparison.json and benchmark-action.json (github-action-benchmark's
customSmallerIsBetter). Bad input: one line on stderr, exit 2, nothing written.
Exit 1: --fail-on-regression and a significant regression (compare), --fail-on-alert and
an alert (nightly).
"""
