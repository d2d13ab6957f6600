"""GenAI-Bench `image_edition`: one row per human vote on two edits of one source image."""

from .. import load_metric_script
from .task import BenchmarkSpec, BenchmarkTask, Edit, Pair, apply_limit, require_columns, text_column

__all__ = ["GENAI_BENCH", "from_genai_bench"]

COLUMNS = ["instruct_prompt", "source_image", "left_output_image", "right_output_image", "vote_type"]


def from_genai_bench(dataset, limit=None) -> BenchmarkTask:
    """GenAI-Bench `image_edition`: each row is a pair (left = A, right = B) with its vote as the reference.

    Edits are keyed `row<i>:A` / `row<i>:B`; the instruction is `instruct_prompt`. Votes stay as written (the
    metric's `GENAI_VOTES`: leftvote, rightvote, tievote, bothbad_vote): the metric maps them, both tie kinds to one
    tie class.
    """
    require_columns(dataset, COLUMNS, "genai-bench", "Load config 'image_edition' of TIGER-Lab/GenAI-Bench.")
    known_votes = list(load_metric_script().GENAI_VOTES)
    instructions, votes = text_column(dataset, "instruct_prompt"), text_column(dataset, "vote_type")
    task = BenchmarkTask(edits=[])
    for row in apply_limit(range(len(votes)), limit):
        vote = str(votes[row]).strip()
        if vote not in known_votes:
            raise ValueError(f"genai-bench row {row}: vote_type={votes[row]!r}; expected one of {known_votes}.")
        first, second = f"row{row}:A", f"row{row}:B"
        task.edits += [
            Edit(first, instructions[row], (row, "source_image"), (row, "left_output_image")),
            Edit(second, instructions[row], (row, "source_image"), (row, "right_output_image")),
        ]
        task.pairs.append(Pair(first, second, vote))
    return task


GENAI_BENCH = BenchmarkSpec("genai-bench", "GenAI-Bench", from_genai_bench, "TIGER-Lab/GenAI-Bench", "image_edition",
                            "test_v1")  # fmt: skip
