"""Preference pairs for EditReward training: the row schema, its validation, and the row helpers the converter and
the tie rule share.

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

Training rows, the output of `disentangle_ties` (`editreward.trainer.ties`), add:

=====================  =======================================  ================================================
``overall_target``     ``Value("float32")``                     1.0: the fused score must rank chosen over
                                                                rejected; 0.0: the row has no overall preference
``dimension_targets``  ``List(Value("int8"), length=D)``        +1 chosen wins that dimension, -1 rejected wins,
                                                                0 no supervision (equal or unknown scores)
=====================  =======================================  ================================================

Pipeline::

    pairs = from_editreward_data(load_dataset("TIGER-Lab/EditReward-Data", split="train"))
    pairs = validate_pairs(pairs, on_error="skip", validate_images=True)
    train_rows = disentangle_ties(pairs, mode="by_dimension")

Nothing in it decodes or copies an image: rows are rearranged with `select_columns`, `rename_columns`, `add_column`,
`concatenate_datasets` and `select` (`arrange_pairs`), which reuse the stored Arrow data.
"""

import logging
import math
import os
from collections import Counter
from collections.abc import Sequence

import datasets
import numpy as np
from datasets import Dataset, Features, List, Value, concatenate_datasets

from editreward.modeling_editreward import RUBRIC_PROMPTS

from .image_checks import image_problem, rows_to_decode

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_DIMENSIONS", "PAIR_FEATURES", "pair_features", "validate_pairs"]

DEFAULT_DIMENSIONS = tuple(RUBRIC_PROMPTS)  # EditRewardConfig's default: one dimension per released rubric prompt
IMAGE_COLUMNS = ("source", "chosen", "rejected")
SCORE_COLUMNS = ("chosen_scores", "rejected_scores")

_MAX_ROWS_LISTED = 20
# The observed-range rule for scores (no range declared): per dimension, over the known scores of both sides, a score
# is far outside when it lies beyond the 5th-95th percentile range by more than that range's width. It needs this
# many known scores, so that one outlier cannot set the range, and a nonzero width.
_OBSERVED_RANGE_PERCENTILES = (5, 95)
_MIN_SCORES_FOR_OBSERVED_RANGE = 20


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
# Validation
# --------------------------------------------------------------------------------------------------------------------


def validate_pairs(
    dataset: Dataset, dimensions: Sequence[str] = DEFAULT_DIMENSIONS, on_error: str = "raise", *,
    require_scores: bool = False, validate_images: bool = False, score_range: tuple[float, float] | None = None,
) -> Dataset:
    """The pairs, checked row by row; with `on_error="skip"` the invalid rows are dropped and counted in one warning.

    A row is invalid when an image is missing (or is a local file path that does not exist), the instruction is
    missing or empty, `tie` is missing or not a boolean, chosen is the same image as rejected (same stored bytes, or
    same path when no bytes are stored) without `tie=True`, a score list has the wrong length or a non-finite score
    (NaN, inf), or, with `require_scores` (as `loss="pointwise"` needs), a score list is unknown. Images are compared
    undecoded. `on_error="raise"` raises a ValueError naming the first invalid row, its column and the fix.

    `validate_images=True` also finds images that would fail to decode mid-training (`image_checks.image_problem`):
    every image's header is parsed and its end checked for the format's end marker (a truncated PNG, JPEG, GIF or
    WebP), and every image of `image_checks.DECODE_SAMPLE_ROWS` (64) evenly spaced rows is decoded in full. Cost,
    beyond reading the stored bytes, which validation does anyway: 15-25 us per image (WebP 160 us), so about 6 s
    for 100,000 pairs, plus the sample's 192 decodes (3-40 ms each for a 1-megapixel photo: 1 to 7 s).

    Rows that stay are checked for implausible scores, each kind counted in one warning (the rows are kept): scores
    outside `score_range` (the scale the data declare, e.g. `(1, 4)`), or, without it, far outside the dataset's
    observed range (`_OBSERVED_RANGE_PERCENTILES`); and rows that are not ties although the rejected edit scores at
    least as well in every dimension and better in one (the chosen side decides the target: a swapped label?).
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error={on_error!r} is unknown. Fix: use 'raise' or 'skip'.")
    if score_range is not None and not (len(score_range) == 2 and score_range[0] < score_range[1]):
        raise ValueError(f"score_range={score_range!r}: give (lowest, highest) of the data's score scale, e.g. (1, 4).")
    required = [*IMAGE_COLUMNS, "instruction", "tie", *(SCORE_COLUMNS if require_scores else ())]
    require_columns(dataset, required, "pair")
    columns = [c for c in (*IMAGE_COLUMNS, "instruction", "tie", *SCORE_COLUMNS) if c in dataset.column_names]
    stored = dataset.select_columns(columns)
    for column in IMAGE_COLUMNS:
        if isinstance(stored.features[column], datasets.Image):
            stored = stored.cast_column(column, datasets.Image(decode=False))

    problems = {}
    decoded_rows = rows_to_decode(len(stored)) if validate_images else set()
    for start in range(0, len(stored), 1000):
        batch = stored[start : start + 1000]
        for offset in range(len(batch["tie"])):
            row = {column: batch[column][offset] for column in columns}
            problem = _pair_problem(row, dimensions, require_scores)
            if problem is None and validate_images:
                problem = _images_problem(row, decode=start + offset in decoded_rows)
            if problem is not None:
                problems[start + offset] = problem
    if problems and on_error == "raise":
        row, (column, reason, fix) = next(iter(problems.items()))
        raise ValueError(
            f"row {row}, column {column!r}: {reason}. Fix: {fix}. ({len(problems)} of {len(dataset)} rows are "
            "invalid; validate_pairs(..., on_error='skip') drops them with a warning.)"
        )
    _warn_on_implausible_scores(stored, dimensions, set(problems), score_range)
    if not problems:
        return dataset
    reasons = Counter(f"{column}: {reason}" for column, reason, _ in problems.values())
    logger.warning(
        "validate_pairs: skipped %d of %d rows: %s (rows %s)", len(problems), len(dataset),
        ", ".join(f"{count} x {reason}" for reason, count in reasons.items()), list_rows(list(problems)),
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
    problem = tie_problem(row["tie"])
    if problem is not None:
        return "tie", *problem
    if not row["tie"] and _stored_image(row["chosen"]) == _stored_image(row["rejected"]):
        return (
            "rejected",
            "same image as chosen but tie is False",
            "set tie=True if the humans judged the two edits equal, else give the other edit",
        )
    for column in SCORE_COLUMNS:
        if require_scores and not row.get(column):
            return column, "scores are unknown but required (loss='pointwise')", "give them, or drop the row"
        problem = scores_problem(row.get(column), dimensions)
        if problem is not None:
            return column, *problem
    return None


def scores_problem(scores: list | None, dimensions: Sequence[str]) -> tuple[str, str] | None:
    """`(reason, fix)` when a score list is malformed; None and [] mean unknown and are fine."""
    if not scores:
        return None
    if len(scores) != len(dimensions):
        return (
            f"{len(scores)} scores for {len(dimensions)} dimensions",
            f"give one score per dimension in the order {tuple(dimensions)}, or None when unknown",
        )
    for dimension, score in zip(dimensions, scores):
        if is_missing_score(score):
            return f"the {dimension!r} score is {score}", "give a number, or None for the whole list when unknown"
        if not math.isfinite(score):
            return (
                f"the {dimension!r} score is {score}",
                "give a finite number on the data's score scale, or None for the whole list when unknown",
            )
    return None


def tie_problem(tie) -> tuple[str, str] | None:
    """`(reason, fix)` when a `tie` cell is not a boolean (a 0/1 or "False" would read as a tie or not by accident)."""
    if tie is None:
        return "tie is missing", "set True when the humans judged the overall a tie, else False"
    if not isinstance(tie, bool):
        return (
            f"tie is {tie!r} ({type(tie).__name__}), not a boolean",
            "give True or False; cast a 0/1 column first (dataset.cast_column('tie', Value('bool')))",
        )
    return None


def _images_problem(row: dict, decode: bool) -> tuple[str, str, str] | None:
    """`(column, reason, fix)` for the first of the row's images that would fail to decode, or None."""
    for column in IMAGE_COLUMNS:
        problem = image_problem(row[column], decode=decode)
        if problem is not None:
            return column, *problem
    return None


def _warn_on_implausible_scores(
    stored: Dataset, dimensions: Sequence[str], invalid: set[int], score_range: tuple[float, float] | None
) -> None:
    """One counted warning per kind: scores off the scale, and non-tie rows whose scores favour the rejected edit."""
    if not set(SCORE_COLUMNS) & set(stored.column_names):
        return
    labels = stored.select_columns([c for c in (*SCORE_COLUMNS, "tie") if c in stored.column_names]).to_dict()
    rows = [row for row in range(len(stored)) if row not in invalid]
    chosen, rejected = (labels.get(column, [None] * len(stored)) for column in SCORE_COLUMNS)
    off_scale, scale = _off_scale_rows([(row, side[row]) for side in (chosen, rejected) for row in rows if side[row]],
                                       dimensions, score_range)
    if off_scale:
        logger.warning(
            "validate_pairs: %d of %d rows have scores %s; check for typos or rows on another scale (rows %s)",
            len(off_scale), len(stored), scale, list_rows(off_scale),
        )  # fmt: skip
    contradicting = [row for row in rows if not labels["tie"][row] and _rejected_dominates(chosen[row], rejected[row])]
    if contradicting:
        logger.warning(
            "validate_pairs: %d of %d rows are not ties but the rejected edit scores at least as well in every "
            "dimension and better in one; chosen decides the training target, so check that chosen and rejected are "
            "not swapped (rows %s)", len(contradicting), len(stored), list_rows(contradicting),
        )  # fmt: skip


def _off_scale_rows(
    known: list[tuple[int, list]], dimensions: Sequence[str], score_range: tuple[float, float] | None
) -> tuple[list[int], str]:
    """The rows of `known` (row, score list) holding a score outside `score_range`, or, without one, far outside the
    observed range of its dimension (the module's rule); and the scale they miss, in words."""
    if not known or (score_range is None and len(known) < _MIN_SCORES_FOR_OBSERVED_RANGE):
        return [], ""
    values = np.array([scores for _, scores in known], dtype=np.float64)  # (score lists, dimensions)
    if score_range is not None:
        outside = (values < score_range[0]) | (values > score_range[1])
        scale = f"outside the declared score_range {tuple(score_range)}"
    else:
        low, high = np.percentile(values, _OBSERVED_RANGE_PERCENTILES, axis=0, method="inverted_cdf")
        width = high - low
        outside = ((values < low - width) | (values > high + width)) & (width > 0)
        ranges = "; ".join(f"{dimension}: {low[d]:g} to {high[d]:g}" for d, dimension in enumerate(dimensions)
                           if outside[:, d].any())  # fmt: skip
        first, last = _OBSERVED_RANGE_PERCENTILES
        scale = (f"far outside the observed range of their dimension ({ranges}, the {first}th to {last}th "
                 "percentile, exceeded by more than its width)")
    return sorted({row for (row, _), off in zip(known, outside.any(axis=1)) if off}), scale


def _rejected_dominates(chosen: list | None, rejected: list | None) -> bool:
    if not chosen or not rejected:
        return False
    return all(r >= c for c, r in zip(chosen, rejected)) and any(r > c for c, r in zip(chosen, rejected))


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
# Row helpers shared with the EditReward-Data converter and the tie rule
# --------------------------------------------------------------------------------------------------------------------


def arrange_pairs(
    base: Dataset, as_is: dict[str, str], swapped: dict[str, str], picks: list[tuple[int, bool]]
) -> Dataset:
    """Rows `(row, swap)` of `base`, in `picks` order, read through one of two column mappings (new name -> base name).

    Both mappings are renamed views of the same Arrow table and the result is an indices mapping over them, so no image
    is decoded or copied.
    """
    views = [
        base.select_columns(list(mapping.values())).rename_columns({old: new for new, old in mapping.items()})
        for mapping in (as_is, swapped)
    ]
    return concatenate_datasets(views).select([row + len(base) if swap else row for row, swap in picks])


def require_columns(dataset: Dataset, required: Sequence[str], kind: str) -> None:
    """Raise a ValueError naming the columns of `required` that `dataset` (a `kind` dataset) lacks."""
    missing = [column for column in required if column not in dataset.column_names]
    if missing:
        raise ValueError(
            f"{kind} dataset is missing column(s) {missing}; it has {dataset.column_names}. Fix: add or rename them "
            f"(rename_columns), or pass the right dataset."
        )


def is_missing_score(score) -> bool:
    return score is None or (isinstance(score, float) and math.isnan(score))


def list_rows(rows: list[int]) -> str:
    """The first row numbers of `rows` for a log line, and how many more there are."""
    listed = ", ".join(str(row) for row in rows[:_MAX_ROWS_LISTED])
    return listed + (f", ... ({len(rows) - _MAX_ROWS_LISTED} more)" if len(rows) > _MAX_ROWS_LISTED else "")
