"""Markdown, HTML with matplotlib plots, CSV/Parquet, comparison.json and the
github-action-benchmark file — all written into one directory, atomically."""
from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.report.tables import version_key
from equivalence.atomic import atomic_directory


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub Markdown table (no tabulate needed)."""
    if frame.empty:
        return "_none_"
    head = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)


class Document:
    """Sections of (title, text, frame, figure): one source for Markdown and HTML."""

    def __init__(self, title: str):
        self.title = title
        self.parts: list[tuple[str, object]] = []
        self.figures: dict[str, bytes] = {}

    def heading(self, text: str) -> None:
        self.parts.append(("h2", text))

    def text(self, text: str) -> None:
        self.parts.append(("p", text))

    def table(self, frame: pd.DataFrame) -> None:
        self.parts.append(("table", frame))

    def figure(self, name: str, fig) -> None:
        """A matplotlib figure, saved as NAME.png next to the report."""
        import io

        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        self.figures[f"{name}.png"] = buf.getvalue()
        self.parts.append(("img", f"{name}.png"))

    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for kind, value in self.parts:
            if kind == "h2":
                out += [f"## {value}", ""]
            elif kind == "p":
                out += [value, ""]
            elif kind == "table":
                out += [markdown_table(value), ""]
            elif kind == "img":
                out += [f"![{value}]({value})", ""]
        return "\n".join(out)

    def html(self) -> str:
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for kind, value in self.parts:
            if kind == "h2":
                body.append(f"<h2>{html.escape(value)}</h2>")
            elif kind == "p":
                body.append(f"<p>{html.escape(value)}</p>")
            elif kind == "table":
                body.append(value.to_html(index=False, na_rep="", float_format=_fmt,
                                          border=0, classes="data")
                            if not value.empty else "<p><em>none</em></p>")
            elif kind == "img":
                body.append(f'<figure><img src="{html.escape(value)}" alt="{html.escape(value)}">'
                            "</figure>")
        return _PAGE.format(title=html.escape(self.title), body="\n".join(body))


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 80em; }}
table.data {{ border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }}
table.data th, table.data td {{ border-bottom: 1px solid #ddd; padding: 0.2em 0.6em;
  text-align: right; }}
table.data th {{ background: #f4f4f4; }}
img {{ max-width: 100%; }}
</style></head>
<body>
{body}
<script>
// For a headless check that the page renders: how many tables and loaded images it has.
window.addEventListener("load", () => {{
  const ok = [...document.images].filter(i => i.complete && i.naturalWidth > 0);
  document.documentElement.dataset.imagesRendered = ok.length + "/" + document.images.length;
  document.documentElement.dataset.tables = document.querySelectorAll("table").length;
}});
</script>
</body></html>
"""


# --- plots ---------------------------------------------------------------------------------

def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _log_ratio_axis(ax) -> None:
    """Ratios on a log axis (0.5x and 2x equally far from 1x), labelled as plain numbers."""
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FormatStrFormatter("%.3g"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _ratio_points(ax, part: pd.DataFrame, ys, low: str, high: str, **style) -> None:
    """Each row's ratio at its y, with its interval (columns `low`, `high`) as error bars."""
    below = (part["ratio"] - part[low]).clip(lower=0).fillna(0)
    above = (part[high] - part["ratio"]).clip(lower=0).fillna(0)
    # Plain lists: matplotlib probes the first error element with math.isfinite, which
    # NumPy 1.x warns about for a one-element array (a one-row part).
    ax.errorbar(part["ratio"].astype(float).tolist(), list(ys),
                xerr=[below.astype(float).tolist(), above.astype(float).tolist()], fmt="o",
                capsize=2, **style)


def plot_api_ratios(times: pd.DataFrame):
    """Functional/Sequential and subclassed/Sequential per case, with intervals."""
    plt = _plt()
    data = times[times["api"] != "sequential"].dropna(subset=["ratio"])
    labels = sorted({f"{r.workload} {r.case}" for r in data.itertuples()})
    vers = sorted(data["version"].unique(), key=version_key)
    fig, axes = plt.subplots(1, len(vers), figsize=(5 * len(vers), 0.28 * len(labels) + 1.5),
                             sharey=True, squeeze=False)
    for ax, version in zip(axes[0], vers):
        for offset, (api, color) in zip((-0.15, 0.15), (("functional", "tab:blue"),
                                                          ("subclassed", "tab:orange"))):
            part = data[(data["version"] == version) & (data["api"] == api)]
            ys = [labels.index(f"{r.workload} {r.case}") + offset for r in part.itertuples()]
            _ratio_points(ax, part, ys, "ratio_low", "ratio_high", color=color,
                          label=f"{api} / sequential", markersize=4)
        ax.axvline(1.0, color="grey", lw=0.8)
        _log_ratio_axis(ax)
        ax.set_title(version, fontsize=9)
        ax.set_xlabel("time ratio to Sequential (95% interval over processes)")
    axes[0][0].set_yticks(range(len(labels)), labels, fontsize=7)
    axes[0][0].legend(fontsize=7)
    return fig


def plot_version_bars(times: pd.DataFrame):
    """Sequential's time per case, one bar per version."""
    plt = _plt()
    seq = times[times["api"] == "sequential"]
    table = seq.pivot_table(index=["workload", "case"], columns="version", values="ms")
    table = table[sorted(table.columns, key=version_key)]
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(table) * len(table.columns) ** 0.5), 4))
    width = 0.8 / len(table.columns)
    x = np.arange(len(table))
    for i, version in enumerate(table.columns):
        ax.bar(x + i * width, table[version], width, label=version)
    ax.set_xticks(x + 0.4 - width / 2, [f"{w}\n{c}" for w, c in table.index], fontsize=6,
                  rotation=90)
    ax.set_yscale("log")
    ax.set_ylabel("ms (median over processes)")
    ax.set_title("Sequential, per TF version")
    ax.legend(fontsize=7)
    return fig


def plot_heat_map(table: pd.DataFrame, title: str):
    """benchmarks × versions: each cell the ratio to the first column (log colour)."""
    plt = _plt()
    ratios = table.div(table.iloc[:, 0], axis=0)
    fig, ax = plt.subplots(figsize=(2 + 1.3 * len(table.columns), 0.22 * len(table) + 1.5))
    limit = max(0.05, float(np.nanmax(np.abs(np.log2(ratios.to_numpy(dtype=float))))))
    image = ax.imshow(np.log2(ratios.to_numpy(dtype=float)), cmap="RdBu_r", aspect="auto",
                      vmin=-limit, vmax=limit)
    ax.set_xticks(range(len(table.columns)), table.columns, fontsize=7, rotation=30)
    ax.set_yticks(range(len(table)), table.index, fontsize=6)
    for (i, j), value in np.ndenumerate(ratios.to_numpy(dtype=float)):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=5)
    fig.colorbar(image, ax=ax, label=f"log2 time ratio to {table.columns[0]}")
    ax.set_title(title, fontsize=9)
    return fig


def plot_comparison(table: pd.DataFrame, baseline: str, candidate: str):
    """Each benchmark's ratio with its interval, coloured by verdict."""
    plt = _plt()
    colors = {"regression": "tab:red", "improvement": "tab:green", "no change": "tab:grey",
              "inconclusive": "tab:olive"}
    fig, ax = plt.subplots(figsize=(7, 0.2 * len(table) + 1.5))
    for verdict, color in colors.items():
        part = table[table["verdict"] == verdict]
        _ratio_points(ax, part, table.index.get_indexer(part.index), "low", "high",
                      color=color, label=verdict, markersize=3)
    ax.axvline(1.0, color="black", lw=0.8)
    _log_ratio_axis(ax)
    ax.set_yticks(range(len(table)), table["benchmark"], fontsize=5)
    ax.set_xlabel(f"time ratio {candidate} / {baseline} (95% interval; ÷seq: API / Sequential)")
    ax.legend(fontsize=7)
    return fig


def plot_trends(history: pd.DataFrame, alerts: pd.DataFrame):
    """Each benchmark's nightly median relative to its own median over the history."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, part in history.groupby("benchmark"):
        rel = part["median_s"] / part["median_s"].median()
        ax.plot(part["night"], rel, lw=0.6, alpha=0.6)
    for row in alerts.itertuples():
        ax.annotate(row.benchmark.split("/")[0], (row.night, row.ratio), fontsize=6,
                    color="tab:red")
        ax.plot([row.night], [row.ratio], "v", color="tab:red")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_ylabel("median / the benchmark's median over the nights")
    ax.set_title("nightly trends (alerts in red)")
    ax.tick_params(axis="x", rotation=45, labelsize=7)
    return fig


# --- files ---------------------------------------------------------------------------------

def write_tidy(frame: pd.DataFrame, directory: Path, stem: str) -> list[str]:
    """CSV always, Parquet where pyarrow (or fastparquet) is installed."""
    frame.to_csv(directory / f"{stem}.csv", index=False)
    written = [f"{stem}.csv"]
    try:
        frame.to_parquet(directory / f"{stem}.parquet", index=False)
        written.append(f"{stem}.parquet")
    except ImportError:
        pass
    return written


def benchmark_action(rows: list[dict]) -> str:
    """github-action-benchmark's customSmallerIsBetter format: name, unit, value, range."""
    return json.dumps([{"name": r["name"], "unit": "ms", "value": round(r["value"], 6),
                        **({"range": r["range"]} if r.get("range") else {}),
                        **({"extra": r["extra"]} if r.get("extra") else {})}
                       for r in rows], indent=1)


def write_report(directory: Path, doc: Document, files: dict[str, str],
                 frames: dict[str, pd.DataFrame]) -> None:
    """Everything into `directory`, which must not exist yet or be empty (the caller
    checks); written under a temporary name and renamed, so a failure leaves nothing."""
    with atomic_directory(directory) as tmp:
        (tmp / "report.md").write_text(doc.markdown())
        (tmp / "report.html").write_text(doc.html())
        for name, data in doc.figures.items():
            (tmp / name).write_bytes(data)
        for name, text in files.items():
            (tmp / name).write_text(text)
        for stem, frame in frames.items():
            write_tidy(frame, tmp, stem)
