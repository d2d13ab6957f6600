"""The quickstart's printed report: the accuracy table, the estimated scores per kind of edit, the closing note."""

from pathlib import Path


def format_table(evaluation: dict) -> str:
    """Plain-text table: pairs, human ties, tie-calibrated accuracy and accuracy without ties, per group."""
    overall = evaluation["overall"]
    interval = ""
    if "accuracy_ci_low" in overall:
        interval = f" [{overall['accuracy_ci_low']:.3f}, {overall['accuracy_ci_high']:.3f}]"
    sections = [
        [("overall", overall, interval)],
        [(f"family: {name}", m, "") for name, m in evaluation["by_family"].items()],
        [(f"rejected: {name}", m, "") for name, m in evaluation["by_rejection"].items()],
    ]
    header = ("group", "pairs", "human ties", "accuracy", "accuracy without ties")
    cells = [[[name, str(m["num_pairs"]), str(m["num_human_ties"]), f"{m['accuracy']:.3f}{extra}",
               format_accuracy(m["accuracy_without_ties"])] for name, m, extra in section]
             for section in sections]  # fmt: skip
    widths = [max(len(row[i]) for row in [header, *sum(cells, [])]) for i in range(len(header))]

    def line(row):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))

    blocks = ["\n".join(line(row) for row in section) for section in cells]
    eps = overall["epsilon"]
    rule = "no pair is predicted a tie" if eps < 0 else f"a tie is predicted where |score difference| <= {eps:.3g}"
    note = f"accuracy: tie-calibrated on all {overall['num_pairs']} pairs ({rule}); every group uses that threshold"
    return "\n".join([line(header), line(["-" * w for w in widths])]) + "\n" + "\n\n".join(blocks) + "\n\n" + note


def format_scores_by_kind(by_kind: dict, center: float | None) -> str:
    """Plain-text table of `scores_by_kind`: per kind of edit, each dimension's mean +- spread beside the human score.
    ``center`` None means the scores are not on the human scale (a pairwise loss): only their order means something."""
    dimensions = list(next(iter(by_kind.values())))
    scale = f"mu + {center:g}, the 1-4 human scale" if center is not None else "mu; a pairwise loss fixes no scale"
    header = ("edit", *dimensions)
    rows = [[kind, *(f"{m['mean']:.2f} +- {m['std']:.2f} (human {m['human']:.1f})" for m in dims.values())]
            for kind, dims in by_kind.items()]  # fmt: skip
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row):
        return "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()

    title = f"estimated score per kind of edit ({scale}; mean +- spread over the edits in the held-out pairs)"
    return "\n".join([title, line(header), line(["-" * w for w in widths]), *map(line, rows)])


def closing_note(evaluation: dict, timings: dict, steps: int, output_dir: Path) -> str:
    """The run in a few lines: the held-out accuracy, per family, where the time went, where the model is."""
    overall = evaluation["overall"]
    families = ", ".join(f"{name} {m['accuracy']:.2f}" for name, m in evaluation["by_family"].items())
    minutes = {key: f"{value / 60:.1f}" for key, value in timings.items()}
    return (
        f"Held-out accuracy (tie-calibrated, {overall['num_pairs']} pairs on photos never seen in training): "
        f"{overall['accuracy']:.3f}; without ties {format_accuracy(overall['accuracy_without_ties'])}.\n"
        f"Per family: {families}.\n"
        f"Wall time {minutes['total']} min (data {minutes['data']}, training {minutes['training']} for {steps} steps, "
        f"evaluation {minutes['evaluation']}, saving and demo {minutes['saving_and_demo']}).\n"
        f"Model folder: {output_dir / 'model'} (README.md is its model card; `editreward push --model "
        f"{output_dir / 'model'} --repo-id ORG/NAME` uploads it)."
    )


def format_accuracy(value) -> str:
    """Three decimals, or "n/a" for a metric without a value (None or NaN)."""
    return "n/a" if value is None or value != value else f"{value:.3f}"

