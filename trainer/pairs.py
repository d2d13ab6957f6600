"""Preference pairs for EditReward training: the row schema, the EditReward-Data converter, the tie rule, the checks.

Pair schema: one `datasets` row per human comparison of two edits of the same source image.

=====================  =======================================  ================================================
column                 feature                                  meaning
=====================  =======================================  ================================================
``source``             ``Image()``                              the image before editing
``instruction``        ``Value("string")``                      the edit instruction
``chosen``             ``Image()``                              the preferred edit (for a tie: either one)
``rejected``           ``Image()``                              the other edit
``chosen_scores``      ``List(Value("float32"), length=D)``     human score per dimension, None when unknown
``rejected_scores``    ``List(Value("float32"), length=D)``     the same for ``rejected``
``tie``                ``Value("bool")``                        the humans judged the overall an equal tie
=====================  =======================================  ================================================

Image cells read as PIL images; PIL images, file paths, bytes and ``{"bytes", "path"}`` dicts are accepted when
building a dataset with `pair_features()`. Scores follow the order of ``dimensions`` (default
``("instruction_following", "visual_quality")``, D = 2); a side's unknown scores are None (an empty list means the
same in datasets built without `pair_features()`).

Training rows, the output of `disentangle_ties`, add:

=====================  =======================================  ================================================
``overall_target``     ``Value("float32")``                     1.0: the fused score must rank chosen over
                                                                rejected; 0.0: the row has no overall preference
``dimension_targets``  ``List(Value("int8"), length=D)``        +1 chosen wins that dimension, -1 rejected wins,
                                                                0 no supervision (equal or unknown scores)
=====================  =======================================  ================================================

Pipeline::

    pairs = from_editreward_data(load_dataset("TIGER-Lab/EditReward-Data", split="train"))
    pairs = validate_pairs(pairs, on_error="skip")
    train_rows = disentangle_ties(pairs, mode="by_dimension")

Nothing here decodes or copies an image: rows are rearranged with `select_columns`, `rename_columns`, `add_column`,
`concatenate_datasets` and `select`, which reuse the stored Arrow data. Targets are added to the Arrow table under a
dataset with an indices mapping (the output of `select`, `shuffle`, `validate_pairs(on_error="skip")` or
`from_editreward_data`), not to the dataset itself, which `datasets` would flatten by writing every image again; a
selection whose rows hold at most `FLATTEN_BUDGET` bytes is flattened instead, which copies only those rows.
"""

import logging
import math
import os
from collections import Counter
from collections.abc import Sequence

import datasets
from datasets import Dataset, Features, List, Value, concatenate_datasets
from datasets.fingerprint import Hasher


logger = logging.getLogger(__name__)

# A selection of rows holding at most this many bytes (images included) is copied before tie disentangling; a larger
# one gets its targets on the whole table under it (a few bytes per table row) rather than a copy of its images.
FLATTEN_BUDGET = 64 * 2**20

__all__ = [
    "DEFAULT_DIMENSIONS",
    "EDITREWARD_VOTES",
    "INSTRUCTION_COLUMNS",
    "PAIR_FEATURES",
    "TIE_MODES",
    "disentangle_ties",
    "from_editreward_data",
    "pair_features",
    "tie_rule",
    "validate_pairs",
]

DEFAULT_DIMENSIONS = ("instruction_following", "visual_quality")
IMAGE_COLUMNS = ("source", "chosen", "rejected")
SCORE_COLUMNS = ("chosen_scores", "rejected_scores")
TIE_MODES = ("drop", "both_orders", "by_dimension")

# EditReward-Data `vote_type` -> the preferred side. GenAI-Arena's two tie votes are read as ties too.
EDITREWARD_VOTES = {"leftvote": "left", "rightvote": "right", "tie": "tie", "tievote": "tie", "bothbad_vote": "tie"}
# Where the instruction may live, in order of preference: EditReward-Data, GenAI-Bench, others, the official JSON.
INSTRUCTION_COLUMNS = ("instruction", "instruct_prompt", "edit_instruction", "prompt")
# EditReward-Data score columns, in DEFAULT_DIMENSIONS order.
_EDITREWARD_SCORES = ("instruction_following_score", "quality_aesthetic_score")

_MAX_ROWS_LISTED = 20


def pair_features(dimensions: Sequence[str] = DEFAULT_DIMENSIONS, *, targets: bool = False) -> Features:
    """The pair schema as `datasets.Features`; `targets=True` adds the training columns of `disentangle_ties`."""
    features = Features(
        {
            "source": datasets.Image(),
            "instruction": Value("string"),
            "chosen": datasets.Image(),
            "rejected": datasets.Image(),
            "chosen_scores": List(Value("float32"), length=len(dimensions)),
            "rejected_scores": List(Value("float32"), length=len(dimensions)),
            "tie": Value("bool"),
        }
    )
    if targets:
        features["overall_target"] = Value("float32")
        features["dimension_targets"] = List(Value("int8"), length=len(dimensions))
    return features


PAIR_FEATURES = pair_features()


# --------------------------------------------------------------------------------------------------------------------
# EditReward-Data -> pairs
# --------------------------------------------------------------------------------------------------------------------


def from_editreward_data(dataset: Dataset, *, instruction_column: str | None = None) -> Dataset:
    """Pairs (`PAIR_FEATURES`) from rows in the EditReward-Data schema (Hub: TIGER-Lab/EditReward-Data).

    `vote_type` decides the preferred side, because it is the human label: `leftvote` makes the left edit `chosen`,
    `rightvote` the right one, and `tie` (or GenAI-Arena's `tievote` / `bothbad_vote`) gives `tie=True` with the left
    edit as `chosen`. The overall scores only cross-check the vote: rows where they disagree are counted in one
    warning. `chosen_scores` / `rejected_scores` are each side's (instruction_following_score,
    quality_aesthetic_score), None when either is missing or NaN. Other columns are not kept.

    The instruction is read from `instruction_column`, else from the first of `INSTRUCTION_COLUMNS` present.
    """
    instruction_column = _find_instruction_column(dataset, instruction_column)
    score_columns = [f"{side}_{name}" for side in ("left", "right") for name in ("overall_score", *_EDITREWARD_SCORES)]
    image_columns = ["source_img", "left_output_image", "right_output_image"]
    _require_columns(dataset, [*image_columns, "vote_type", *score_columns], "EditReward-Data")

    labels = dataset.select_columns(["vote_type", *score_columns]).to_dict()
    winners = [_parse_vote(vote, row) for row, vote in enumerate(labels["vote_type"])]
    _warn_votes_against_scores(winners, labels["left_overall_score"], labels["right_overall_score"])

    rows = range(len(dataset))
    base = dataset.select_columns([*image_columns, instruction_column])
    scores_feature, tie_feature = PAIR_FEATURES["chosen_scores"], PAIR_FEATURES["tie"]
    for side in ("left", "right"):
        scores = [_editreward_scores(labels, side, row) for row in rows]
        base = base.add_column(f"{side}_scores", scores, feature=scores_feature)
    base = base.add_column("tie", [winner == "tie" for winner in winners], feature=tie_feature)
    for column in image_columns:
        base = base.cast_column(column, datasets.Image())

    common = {"source": "source_img", "instruction": instruction_column}
    left_chosen = {**common, "chosen": "left_output_image", "rejected": "right_output_image",
                   "chosen_scores": "left_scores", "rejected_scores": "right_scores", "tie": "tie"}  # fmt: skip
    right_chosen = {**common, "chosen": "right_output_image", "rejected": "left_output_image",
                    "chosen_scores": "right_scores", "rejected_scores": "left_scores", "tie": "tie"}  # fmt: skip
    picks = [(row, winner == "right") for row, winner in enumerate(winners)]
    return _arrange(base, left_chosen, right_chosen, picks)


def _find_instruction_column(dataset: Dataset, instruction_column: str | None) -> str:
    if instruction_column is not None:
        _require_columns(dataset, [instruction_column], "EditReward-Data")
        return instruction_column
    for column in INSTRUCTION_COLUMNS:
        if column in dataset.column_names:
            return column
    raise ValueError(
        f"EditReward-Data dataset has no instruction column: looked for {list(INSTRUCTION_COLUMNS)}, found "
        f"{dataset.column_names}. Fix: pass instruction_column='<the column holding the edit instruction>'."
    )


def _parse_vote(vote: str, row: int) -> str:
    if vote not in EDITREWARD_VOTES:
        raise ValueError(
            f"row {row}, column 'vote_type': unknown vote {vote!r}. Fix: use one of {list(EDITREWARD_VOTES)}, or drop "
            "the row before converting."
        )
    return EDITREWARD_VOTES[vote]


def _editreward_scores(labels: dict, side: str, row: int) -> list[float] | None:
    scores = [labels[f"{side}_{name}"][row] for name in _EDITREWARD_SCORES]
    return None if any(_is_missing(score) for score in scores) else [float(score) for score in scores]


def _warn_votes_against_scores(winners: list[str], left_overall: list, right_overall: list) -> None:
    """One warning counting rows whose overall scores point to another side than the vote (the vote is kept)."""
    disagree = []
    for row, (winner, left, right) in enumerate(zip(winners, left_overall, right_overall)):
        if _is_missing(left) or _is_missing(right):
            continue
        by_score = "left" if left > right else "right" if right > left else "tie"
        if by_score != winner:
            disagree.append(row)
    if disagree:
        logger.warning(
            "from_editreward_data: %d of %d rows have a vote_type that disagrees with their overall scores; the vote "
            "decides (rows %s)", len(disagree), len(winners), _list_rows(disagree),
        )  # fmt: skip


# --------------------------------------------------------------------------------------------------------------------
# Tie-disentanglement
# --------------------------------------------------------------------------------------------------------------------


def tie_rule(tie: bool, dimension_signs: Sequence[int], mode: str) -> list[tuple[bool, float]]:
    """The training rows one pair becomes, as `(swap chosen and rejected, overall_target)` per row.

    A non-tie stays one row with overall_target 1.0. For an overall tie (the original script is unpublished; see
    SPEC section 5):
      - "drop": no row.
      - "both_orders": A>B and B>A, both with overall_target 1.0; under the pairwise loss the two pull the fused
        scores together (the rule the paper describes).
      - "by_dimension": if some dimension has a winner, one row with overall_target 0.0 whose dimension targets
        supervise each head by the edit that wins that dimension; if no dimension has a winner (all equal or
        unknown), it falls back to both orders, so the tie still pulls the fused scores together.
    The row's dimension_targets are the signs of chosen minus rejected scores, negated in a swapped row.
    """
    if mode not in TIE_MODES:
        raise ValueError(f"tie mode {mode!r} is unknown. Fix: use one of {list(TIE_MODES)}.")
    if not tie:
        return [(False, 1.0)]
    if mode == "drop":
        return []
    if mode == "by_dimension" and any(dimension_signs):
        return [(False, 0.0)]
    return [(False, 1.0), (True, 1.0)]


def disentangle_ties(dataset: Dataset, mode: str, *, dimensions: Sequence[str] = DEFAULT_DIMENSIONS) -> Dataset:
    """Training rows (`pair_features(dimensions, targets=True)` plus any extra columns) from pairs, by `tie_rule`.

    Each pair's rows follow it in input order (a swapped copy right after its original). Swapped rows exchange every
    `chosen*` column with its `rejected*` counterpart. Score columns are optional (absent means unknown). One INFO log
    line reports how many pairs were ties and how many rows came out, so `drop` never removes rows unannounced.
    """
    if mode not in TIE_MODES:
        raise ValueError(f"tie mode {mode!r} is unknown. Fix: use one of {list(TIE_MODES)}.")
    _require_columns(dataset, ["chosen", "rejected", "tie"], "pair")
    applied = [column for column in ("overall_target", "dimension_targets") if column in dataset.column_names]
    if applied:
        raise ValueError(
            f"pair dataset already has {applied}: disentangle_ties was applied to it. "
            "Fix: apply it once, to the pairs."
        )
    if dataset._indices is not None and len(dataset) * dataset.data.nbytes <= FLATTEN_BUDGET * len(dataset.data):
        dataset = dataset.flatten_indices()  # a small selection: copying its rows is cheaper than targets for the table

    labels = dataset.select_columns([c for c in ("tie", *SCORE_COLUMNS) if c in dataset.column_names]).to_dict()
    n_rows = len(dataset)
    chosen_scores, rejected_scores = (labels.get(column, [None] * n_rows) for column in SCORE_COLUMNS)
    signs = [_dimension_signs(chosen_scores[row], rejected_scores[row], dimensions, row) for row in range(n_rows)]
    picks, overall = [], {False: [1.0] * n_rows, True: [1.0] * n_rows}  # overall_target per (swapped?, pair)
    for row, tie in enumerate(labels["tie"]):
        if tie is None:
            raise ValueError(f"row {row}, column 'tie': tie is missing. Fix: set True for an overall tie, else False.")
        for swap, target in tie_rule(tie, signs[row], mode):
            overall[swap][row] = target
            picks.append((row, swap))

    base, positions = _unindexed(dataset)
    base = _with_targets(base, positions, overall, signs, dimensions)
    columns = dataset.column_names
    as_is = {column: column for column in columns}
    as_is.update(overall_target="straight__overall_target", dimension_targets="straight__dimension_targets")
    swapped = {column: _other_side(column, columns) for column in columns}
    swapped.update(overall_target="swapped__overall_target", dimension_targets="swapped__dimension_targets")
    rows = _arrange(base, as_is, swapped, [(positions[row], swap) for row, swap in picks])

    n_ties = sum(bool(tie) for tie in labels["tie"])
    logger.info(
        "disentangle_ties(mode=%r): %d of %d pairs are overall ties -> %d training rows",
        mode, n_ties, n_rows, len(rows),
    )  # fmt: skip
    return rows


def _unindexed(dataset: Dataset) -> tuple[Dataset, Sequence[int]]:
    """The Arrow table under `dataset` as a dataset, and the position in it of each of `dataset`'s rows."""
    if dataset._indices is None:
        return dataset, range(len(dataset))
    fingerprint = Hasher.hash((dataset._fingerprint, "unindexed"))  # hashing the table itself would read it whole
    table = Dataset(dataset.data, info=dataset.info.copy(), split=dataset.split, fingerprint=fingerprint)
    return table, dataset._indices.column(0).to_pylist()


def _with_targets(
    base: Dataset, positions: Sequence[int], overall: dict, signs: list[list[int]], dimensions: Sequence[str]
) -> Dataset:
    """`base` plus the targets of each pair, at its position in `base`, as it is ("straight__*") and swapped
    ("swapped__*"); rows of `base` that are no pair get unused defaults."""
    features = pair_features(dimensions, targets=True)
    for orientation, direction in (("straight", 1), ("swapped", -1)):
        overall_target, dimension_targets = [1.0] * len(base), [[0] * len(dimensions)] * len(base)
        for row, position in enumerate(positions):
            overall_target[position] = overall[orientation == "swapped"][row]
            dimension_targets[position] = [direction * sign for sign in signs[row]]
        for name, values in (("overall_target", overall_target), ("dimension_targets", dimension_targets)):
            base = base.add_column(f"{orientation}__{name}", values, feature=features[name])
    return base


def _dimension_signs(chosen: list | None, rejected: list | None, dimensions: Sequence[str], row: int) -> list[int]:
    """sign(chosen - rejected) per dimension; all 0 when either side's scores are unknown."""
    for column, scores in zip(SCORE_COLUMNS, (chosen, rejected)):
        problem = _scores_problem(scores, dimensions)
        if problem is not None:
            reason, fix = problem
            raise ValueError(
                f"row {row}, column {column!r}: {reason}. Fix: {fix}. (validate_pairs lists every such row.)"
            )
    if not chosen or not rejected:
        return [0] * len(dimensions)
    return [(c > r) - (c < r) for c, r in zip(chosen, rejected)]


def _other_side(column: str, columns: list[str]) -> str:
    """`chosen*` <-> `rejected*` when the counterpart exists, else the column itself."""
    for this, other in (("chosen", "rejected"), ("rejected", "chosen")):
        if column.startswith(this) and other + column[len(this) :] in columns:
            return other + column[len(this) :]
    return column


def _arrange(base: Dataset, as_is: dict[str, str], swapped: dict[str, str], picks: list[tuple[int, bool]]) -> Dataset:
    """Rows `(row, swap)` of `base`, in `picks` order, read through one of two column mappings (new name -> base name).

    Both mappings are renamed views of the same Arrow table and the result is an indices mapping over them, so no image
    is decoded or copied.
    """
    views = [
        base.select_columns(list(mapping.values())).rename_columns({old: new for new, old in mapping.items()})
        for mapping in (as_is, swapped)
    ]
    return concatenate_datasets(views).select([row + len(base) if swap else row for row, swap in picks])


# --------------------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------------------


def validate_pairs(
    dataset: Dataset, dimensions: Sequence[str] = DEFAULT_DIMENSIONS, on_error: str = "raise", *,
    require_scores: bool = False,
) -> Dataset:
    """The pairs, checked row by row; with `on_error="skip"` the invalid rows are dropped and counted in one warning.

    A row is invalid when an image is missing (or is a local file path that does not exist), the instruction is
    missing or empty, `tie` is missing, chosen is the same image as rejected (same stored bytes, or same path when no
    bytes are stored) without `tie=True`, a score list has the wrong length or a NaN, or, with `require_scores` (as
    `loss="pointwise"` needs), a score list is unknown. Images are compared undecoded. `on_error="raise"` raises a
    ValueError naming the first invalid row, its column and the fix.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error={on_error!r} is unknown. Fix: use 'raise' or 'skip'.")
    required = [*IMAGE_COLUMNS, "instruction", "tie", *(SCORE_COLUMNS if require_scores else ())]
    _require_columns(dataset, required, "pair")
    columns = [c for c in (*IMAGE_COLUMNS, "instruction", "tie", *SCORE_COLUMNS) if c in dataset.column_names]
    stored = dataset.select_columns(columns)
    for column in IMAGE_COLUMNS:
        if isinstance(stored.features[column], datasets.Image):
            stored = stored.cast_column(column, datasets.Image(decode=False))

    problems = {}
    for start in range(0, len(stored), 1000):
        batch = stored[start : start + 1000]
        for offset in range(len(batch["tie"])):
            problem = _pair_problem({column: batch[column][offset] for column in columns}, dimensions, require_scores)
            if problem is not None:
                problems[start + offset] = problem
    if not problems:
        return dataset

    if on_error == "raise":
        row, (column, reason, fix) = next(iter(problems.items()))
        raise ValueError(
            f"row {row}, column {column!r}: {reason}. Fix: {fix}. ({len(problems)} of {len(dataset)} rows are "
            "invalid; validate_pairs(..., on_error='skip') drops them with a warning.)"
        )
    reasons = Counter(f"{column}: {reason}" for column, reason, _ in problems.values())
    logger.warning(
        "validate_pairs: skipped %d of %d rows: %s (rows %s)", len(problems), len(dataset),
        ", ".join(f"{count} x {reason}" for reason, count in reasons.items()), _list_rows(list(problems)),
    )  # fmt: skip
    return dataset.select([row for row in range(len(dataset)) if row not in problems])


def _pair_problem(row: dict, dimensions: Sequence[str], require_scores: bool = False) -> tuple[str, str, str] | None:
    """`(column, reason, fix)` for the first problem of one row (images undecoded), or None."""
    for column in IMAGE_COLUMNS:
        image = _stored_image(row[column])
        if image is None:
            return column, "image is missing", "give a PIL image, a file path or bytes, or drop the row"
        kind, value = image
        if kind == "path" and "://" not in value and not os.path.exists(value):
            return column, "image file not found", f"correct the path {value!r}, or drop the row"
    instruction = row["instruction"]
    if not isinstance(instruction, str) or not instruction.strip():
        return "instruction", "instruction is missing or empty", "give the edit instruction text, or drop the row"
    if row["tie"] is None:
        return "tie", "tie is missing", "set True when the humans judged the overall a tie, else False"
    if not row["tie"] and _stored_image(row["chosen"]) == _stored_image(row["rejected"]):
        return (
            "rejected",
            "same image as chosen but tie is False",
            "set tie=True if the humans judged the two edits equal, else give the other edit",
        )
    for column in SCORE_COLUMNS:
        if require_scores and not row.get(column):
            return column, "scores are unknown but required (loss='pointwise')", "give them, or drop the row"
        problem = _scores_problem(row.get(column), dimensions)
        if problem is not None:
            return column, *problem
    return None


def _scores_problem(scores: list | None, dimensions: Sequence[str]) -> tuple[str, str] | None:
    """`(reason, fix)` when a score list is malformed; None and [] mean unknown and are fine."""
    if not scores:
        return None
    if len(scores) != len(dimensions):
        return (
            f"{len(scores)} scores for {len(dimensions)} dimensions",
            f"give one score per dimension in the order {tuple(dimensions)}, or None when unknown",
        )
    for dimension, score in zip(dimensions, scores):
        if _is_missing(score):
            return f"the {dimension!r} score is {score}", "give a number, or None for the whole list when unknown"
    return None


def _stored_image(value) -> tuple[str, object] | None:
    """An undecoded image cell as ("bytes", data) or ("path", path); None when there is no image."""
    if isinstance(value, dict):
        if value.get("bytes") is not None:
            return "bytes", value["bytes"]
        return ("path", value["path"]) if value.get("path") else None
    if isinstance(value, bytes):
        return "bytes", value
    if isinstance(value, str):
        return ("path", value) if value else None
    return None if value is None else ("object", value)


# --------------------------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------------------------


def _require_columns(dataset: Dataset, required: Sequence[str], kind: str) -> None:
    missing = [column for column in required if column not in dataset.column_names]
    if missing:
        raise ValueError(
            f"{kind} dataset is missing column(s) {missing}; it has {dataset.column_names}. Fix: add or rename them "
            f"(rename_columns), or pass the right dataset."
        )


def _is_missing(score) -> bool:
    return score is None or (isinstance(score, float) and math.isnan(score))


def _list_rows(rows: list[int]) -> str:
    listed = ", ".join(str(row) for row in rows[:_MAX_ROWS_LISTED])
    return listed + (f", ... ({len(rows) - _MAX_ROWS_LISTED} more)" if len(rows) > _MAX_ROWS_LISTED else "")
