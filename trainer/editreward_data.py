"""EditReward-Data (Hub: TIGER-Lab/EditReward-Data) rows -> preference pairs in the schema of `pairs`."""

import logging

import datasets
from datasets import Dataset

from .pairs import PAIR_FEATURES, arrange_pairs, is_missing_score, list_rows, require_columns

logger = logging.getLogger(__name__)

__all__ = ["EDITREWARD_VOTES", "INSTRUCTION_COLUMNS", "from_editreward_data"]

# EditReward-Data `vote_type` -> the preferred side. GenAI-Arena's two tie votes are read as ties too. The words are
# the metric script's `GENAI_VOTES` (their one home; the train extra does not install evaluate, so they are restated
# here and tests/test_pairs.py pins them to it) plus EditReward-Data's own "tie".
EDITREWARD_VOTES = {"leftvote": "left", "rightvote": "right", "tie": "tie", "tievote": "tie", "bothbad_vote": "tie"}
# Where the instruction may live, in order of preference: EditReward-Data, GenAI-Bench, others, the official JSON.
INSTRUCTION_COLUMNS = ("instruction", "instruct_prompt", "edit_instruction", "prompt")
# EditReward-Data score columns, in DEFAULT_DIMENSIONS order.
_EDITREWARD_SCORES = ("instruction_following_score", "quality_aesthetic_score")


def from_editreward_data(dataset: Dataset, *, instruction_column: str | None = None) -> Dataset:
    """Pairs (`PAIR_FEATURES`) from rows in the EditReward-Data schema.

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
    require_columns(dataset, [*image_columns, "vote_type", *score_columns], "EditReward-Data")

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
    return arrange_pairs(base, left_chosen, right_chosen, picks)


def _find_instruction_column(dataset: Dataset, instruction_column: str | None) -> str:
    if instruction_column is not None:
        require_columns(dataset, [instruction_column], "EditReward-Data")
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
    return None if any(is_missing_score(score) for score in scores) else [float(score) for score in scores]


def _warn_votes_against_scores(winners: list[str], left_overall: list, right_overall: list) -> None:
    """One warning counting rows whose overall scores point to another side than the vote (the vote is kept)."""
    disagree = []
    for row, (winner, left, right) in enumerate(zip(winners, left_overall, right_overall)):
        if is_missing_score(left) or is_missing_score(right):
            continue
        by_score = "left" if left > right else "right" if right > left else "tie"
        if by_score != winner:
            disagree.append(row)
    if disagree:
        logger.warning(
            "from_editreward_data: %d of %d rows have a vote_type that disagrees with their overall scores; the vote "
            "decides (rows %s)", len(disagree), len(winners), list_rows(disagree),
        )  # fmt: skip
