"""EditPairCollator: preference rows to one model batch holding chosen and rejected edits for every dimension."""

from dataclasses import dataclass

import torch

from editreward.modeling_editreward import EditRewardProcessor


@dataclass
class EditPairCollator:
    """Batches training rows (`editreward.trainer.pairs` schema, after `disentangle_ties`).

    The first half of the triplets are the chosen edits and the second half the rejected ones (TRL's convention).
    The processor encodes the source image shared by both edits of a pair once, and the model computes its prefix
    once for the four (edit, dimension) rows of the pair.
    """

    processor: EditRewardProcessor

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        sources = [row["source"] for row in rows] * 2
        instructions = [row["instruction"] for row in rows] * 2
        edits = [row["chosen"] for row in rows] + [row["rejected"] for row in rows]
        batch = dict(self.processor(source_images=sources, instructions=instructions, edited_images=edits))
        batch["overall_target"] = torch.tensor([float(row.get("overall_target", 1.0)) for row in rows])
        dims = len(self.processor.dimensions)
        batch["dimension_targets"] = torch.tensor([list(row.get("dimension_targets") or [0] * dims) for row in rows])
        batch["tie"] = torch.tensor([bool(row.get("tie", False)) for row in rows])
        scores = [row.get("chosen_scores") for row in rows] + [row.get("rejected_scores") for row in rows]
        if all(scores):
            batch["human_scores"] = torch.tensor(scores, dtype=torch.float32)
        return batch
