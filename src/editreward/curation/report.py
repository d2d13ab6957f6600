"""The curation report: counts and score quantiles (OUT/report.json, OUT/report.md) and plots (OUT/*.png)."""

import json
from pathlib import Path

import numpy as np

QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)


def value_columns(dimensions) -> list[str]:
    """The columns the report describes: the fused score, then each dimension's mu, then the spreads."""
    return ["score", *(f"{d}_mu" for d in dimensions), "score_sigma", *(f"{d}_sigma" for d in dimensions)]


def quantiles(scores: dict, columns: list[str], rows=None) -> dict:
    """{column: {"mean": ..., "q0": ..., "q50": ..., ...}} over the scored rows (of `rows` when given)."""
    table = {}
    for name in columns:
        values = np.asarray(scores[name], dtype=float)
        values = values[rows] if rows is not None else values
        values = values[~np.isnan(values)]
        entry = {"mean": float(values.mean()) if len(values) else None}
        for q, v in zip(QUANTILES, np.quantile(values, QUANTILES) if len(values) else [None] * len(QUANTILES)):
            entry[f"q{round(q * 100)}"] = None if v is None else float(v)
        table[name] = entry
    return table


def build_report(result, rule, model: str, model_revision=None, data=None) -> dict:
    """Everything the card and the table state: model and data, the rule, the counts, the cut and the quantiles."""
    columns = value_columns(result.dimensions)
    return {
        "model": str(model), "model_revision": model_revision, "model_fingerprint": result.model_fingerprint,
        "data": None if data is None else str(data), "data_fingerprint": result.data_fingerprint,
        "rule": rule.describe(), "rule_arguments": rule.to_dict(), "counts": result.selection.counts,
        "cut": result.selection.cut,
        "quantiles": {"all": quantiles(result.scores, columns), "selected": quantiles(result.scores, columns,
                                                                                      result.selection.rows)},
    }  # fmt: skip


def render_markdown(report: dict, title: str = "# Curation report") -> str:
    """The report as markdown: counts, then one quantile table of all scored rows and one of the selection."""
    lines = [f"{title}\n", f"Model: `{report['model']}` (fingerprint {report['model_fingerprint']})  ",
             f"Rule: {report['rule']}" + ("" if report["cut"] is None else f" (last kept value {report['cut']:.4f})"),
             "", "| count | rows |", "|---|---:|"]  # fmt: skip
    lines += [f"| {name.replace('_', ' ')} | {value:,} |" for name, value in report["counts"].items()]
    for part, table in report["quantiles"].items():
        keys = ["mean", *(f"q{round(q * 100)}" for q in QUANTILES)]
        lines += ["", f"**{'All scored rows' if part == 'all' else 'Selected rows'}**", "",
                  "| column | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys)]  # fmt: skip
        lines += [f"| {name} | " + " | ".join("" if row[k] is None else f"{row[k]:+.3f}" for k in keys) + " |"
                  for name, row in table.items()]  # fmt: skip
    return "\n".join(lines) + "\n"


def write_report(output_dir, report: dict) -> str:
    """Write report.json and report.md under `output_dir`; returns the markdown."""
    output_dir = Path(output_dir)
    (output_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    markdown = render_markdown(report)
    (output_dir / "report.md").write_text(markdown, encoding="utf-8")
    return markdown


def write_plots(output_dir, result, rule) -> list[Path]:
    """histograms.png (each score's distribution, all rows against the kept ones, the cut and minimums marked) and
    mu_sigma.png (each score's mu against its sigma, the kept rows highlighted). Needs matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .selection import ranking_value

    output_dir, scores, rows = Path(output_dir), result.scores, result.selection.rows
    names = ["score", *result.dimensions]
    panels = [(name, np.asarray(scores["score" if name == "score" else f"{name}_mu"], float)) for name in names]
    if rule.lower_bound is not None:
        panels.append((f"{rule.by} mu - {rule.lower_bound:g} sigma", ranking_value(scores, rule)))
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for axis, (name, values) in zip(axes[0], panels):
        valid = values[~np.isnan(values)]
        bins = np.histogram_bin_edges(valid, bins=40) if len(valid) else 10
        axis.hist(valid, bins=bins, color="#b0b0b0", label=f"all ({len(valid):,})")
        axis.hist(values[rows], bins=bins, color="#2a7ab9", label=f"kept ({len(rows):,})")
        ranked_here = name == rule.by if rule.lower_bound is None else name.startswith(f"{rule.by} mu -")
        if ranked_here and result.selection.cut is not None:
            axis.axvline(result.selection.cut, color="#d62728", linewidth=1.5, label=f"cut {result.selection.cut:.3f}")
        if name in rule.minimums:
            axis.axvline(rule.minimums[name], color="#ff7f0e", linestyle="--", label=f"minimum {rule.minimums[name]:g}")
        axis.set_title(name.replace("_", " "))
        axis.set_xlabel("mu" if name in result.dimensions else "value")
        axis.legend(fontsize=7)
    axes[0][0].set_ylabel("rows")
    figure.tight_layout()
    histograms = output_dir / "histograms.png"
    figure.savefig(histograms, dpi=110)
    plt.close(figure)

    figure, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
    kept = np.zeros(len(scores["score"]), dtype=bool)
    kept[rows] = True
    for axis, name in zip(axes[0], names):
        mu, sigma = (scores["score"], scores["score_sigma"]) if name == "score" else (scores[f"{name}_mu"],
                                                                                     scores[f"{name}_sigma"])  # fmt: skip
        axis.scatter(mu[~kept], sigma[~kept], s=6, color="#b0b0b0", label="not kept")
        axis.scatter(mu[kept], sigma[kept], s=6, color="#2a7ab9", label="kept")
        axis.set_title(name.replace("_", " "))
        axis.set_xlabel("mu")
        axis.set_ylabel("sigma")
        axis.legend(fontsize=7)
    figure.tight_layout()
    scatter = output_dir / "mu_sigma.png"
    figure.savefig(scatter, dpi=110)
    plt.close(figure)
    return [histograms, scatter]
