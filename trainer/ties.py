"""Tie-disentanglement: preference pairs -> training rows with `overall_target` and `dimension_targets`.

`tie_rule` decides what one pair becomes; `disentangle_ties` applies it to a dataset without decoding or copying an
image. Targets are added to the Arrow table under a dataset with an indices mapping (the output of `select`,
`shuffle`, `validate_pairs(on_error="skip")` or `from_editreward_data`), not to the dataset itself, which `datasets`
would flatten by writing every image again; a selection whose rows hold at most `FLATTEN_BUDGET` bytes is flattened
instead, which copies only those rows.
"""

import logging
from collections.abc import Sequence

from datasets import Dataset
from datasets.fingerprint import Hasher

from .pairs import (
    DEFAULT_DIMENSIONS, SCORE_COLUMNS, arrange_pairs, pair_features, require_columns, scores_problem, tie_problem,
)

logger = logging.getLogger(__name__)

__all__ = ["FLATTEN_BUDGET", "TIE_MODES", "disentangle_ties", "tie_rule"]

TIE_MODES = ("drop", "both_orders", "by_dimension")
# A selection of rows holding at most this many bytes (images included) is copied before tie disentangling; a larger
# one gets its targets on the whole table under it (a few bytes per table row) rather than a copy of its images.
FLATTEN_BUDGET = 64 * 2**20


def tie_rule(tie: bool, dimension_signs: Sequence[int], mode: str) -> list[tuple[bool, float]]:
    """The training rows one pair becomes, as `(swap chosen and rejected, overall_target)` per row.

    A non-tie stays one row with overall_target 1.0. For an overall tie (the official training script is
    unpublished):
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
    require_columns(dataset, ["chosen", "rejected", "tie"], "pair")
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
        problem = tie_problem(tie)
        if problem is not None:
            raise ValueError(f"row {row}, column 'tie': {problem[0]}. Fix: {problem[1]}.")
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
    rows = arrange_pairs(base, as_is, swapped, [(positions[row], swap) for row, swap in picks])

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
        problem = scores_problem(scores, dimensions)
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
