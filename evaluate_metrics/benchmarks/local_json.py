"""The official code's local JSON: one row per pair (`prompt`, `path_src`, `path1`, `path2`, per-model scores)."""

from .task import BenchmarkSpec, BenchmarkTask, Edit, Pair, apply_limit, pair_label, require_columns, text_column

__all__ = ["LOCAL_JSON", "from_official_json"]

COLUMNS = ["prompt", "path_src", "path1", "path2", "model1_dim1_score", "model2_dim1_score"]


def from_official_json(dataset, limit=None) -> BenchmarkTask:
    """The official code's JSON rows (`prompt`, `path_src`, `path1`, `path2`, `model{1,2}_dim{1,2}_score`, ...).

    As the official evaluation does, the human verdict compares the dimension-1 scores: "A>B" when
    model1_dim1_score > model2_dim1_score, "B>A" when lower, "A=B" when equal (path1 = A, path2 = B). Edits are
    keyed `row<i>:A` / `row<i>:B`; relative image paths are resolved against the JSON file's folder (or
    --image-root).
    """
    require_columns(dataset, COLUMNS, "local-json", "Pass the official JSON format: a list of rows with these keys.")
    prompts = text_column(dataset, "prompt")
    first_scores, second_scores = text_column(dataset, "model1_dim1_score"), text_column(dataset, "model2_dim1_score")
    task = BenchmarkTask(edits=[])
    for row in apply_limit(range(len(prompts)), limit):
        try:
            difference = float(first_scores[row]) - float(second_scores[row])
        except (TypeError, ValueError):
            raise ValueError(
                f"local-json row {row}: model1_dim1_score={first_scores[row]!r}, model2_dim1_score="
                f"{second_scores[row]!r}; both must be numbers."
            ) from None
        first, second = f"row{row}:A", f"row{row}:B"
        task.edits += [Edit(first, prompts[row], (row, "path_src"), (row, "path1")),
                       Edit(second, prompts[row], (row, "path_src"), (row, "path2"))]  # fmt: skip
        task.pairs.append(Pair(first, second, pair_label(difference)))
    return task


# A local file has no Hub dataset; its stem names the results ("valid_dataset" for valid_dataset.json).
LOCAL_JSON = BenchmarkSpec("local-json", "local-json", from_official_json, named_by_data=True)
