"""AURORA-Bench human ratings: one row per rated edit; pairs with ties and Spearman inputs are derived from them."""

from collections import defaultdict

from .task import (
    BenchmarkSpec, BenchmarkTask, Edit, Pair, Rating, apply_limit, pair_label, require_columns, text_column,
)  # fmt: skip

__all__ = ["AURORA_BENCH", "from_aurora_bench"]

COLUMNS = ["id", "instruction", "input", "output", "model", "human_score"]


def from_aurora_bench(dataset, limit=None) -> BenchmarkTask:
    """AURORA-Bench human ratings: one row per rated edit -> pairs with ties, and Spearman inputs.

    ASSUMED SCHEMA (the ratings are not on the Hub: `McGill-NLP/aurora-bench` holds only `input`, `instruction`,
    `source`; the ratings and the paper's pair file are unpublished), named after AURORA's own JSON keys:
    `id` (the AURORA-Bench example; rows of one id share source and instruction), `instruction`, `input` (source
    image), `output` (an editor's edit), `model` (the editor), `human_score` (its rating; higher is better).

    Derived, per id, over its editors in first-appearance order:
    - one edit per (id, model), keyed `<id>:<model>`; repeated rows of one (id, model) are averaged into one rating;
    - every pair of editors (C(n, 2) pairs): "A>B" / "B>A" by the ratings, "A=B" when they are exactly equal;
    - one Spearman point per edit, grouped by editor (the paper's pointwise variant: per-editor correlation,
      averaged).
    The paper's own pair set may differ (e.g. which pairs it kept), so its 63.62 is not directly comparable.
    `limit` keeps the first N ids.
    """
    require_columns(dataset, COLUMNS, "aurora-bench",
                    "Provide one row per rated edit with these columns (see from_aurora_bench's docstring).")
    ids, models = text_column(dataset, "id"), text_column(dataset, "model")
    instructions, scores = text_column(dataset, "instruction"), text_column(dataset, "human_score")
    rows_of = defaultdict(dict)  # id -> model -> rows
    for row, (item, model) in enumerate(zip(ids, models)):
        rows_of[str(item)].setdefault(str(model), []).append(row)
    task = BenchmarkTask(edits=[])
    for item in apply_limit(list(rows_of), limit):
        editors = rows_of[item]
        ratings = {model: _mean_rating(scores, rows, item, model) for model, rows in editors.items()}
        keys = {model: f"{item}:{model}" for model in editors}
        for model, rows in editors.items():
            task.edits.append(Edit(keys[model], instructions[rows[0]], (rows[0], "input"), (rows[0], "output")))
            task.ratings.append(Rating(keys[model], ratings[model], model))
        names = list(editors)
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                task.pairs.append(Pair(keys[first], keys[second], pair_label(ratings[first] - ratings[second])))
    return task


def _mean_rating(scores, rows, item, model):
    values = []
    for row in rows:
        try:
            values.append(float(scores[row]))
        except (TypeError, ValueError):
            raise ValueError(
                f"aurora-bench row {row} (id {item!r}, model {model!r}): human_score={scores[row]!r} is not a number."
            ) from None
    return sum(values) / len(values)


AURORA_BENCH = BenchmarkSpec("aurora-bench", "AURORA-Bench", from_aurora_bench)
