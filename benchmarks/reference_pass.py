"""The reference-style pass of the benchmarks: the official way of running EditReward, one backbone pass per
(edit, dimension) row, each re-encoding both of its images, on this package's own modules and weights."""

from dataclasses import dataclass

import torch

@dataclass
class Row:
    """One (triplet, dimension) row as the official code feeds it: its tokens and its own two images."""

    dimension: str
    input_ids: torch.LongTensor  # [1, length], no padding
    pixel_values: torch.Tensor  # patches of the source, then the edited image
    image_grid_thw: torch.LongTensor  # [2, 3]


def split_rows(inputs, dimensions) -> list[Row]:
    """The rows of a processor batch, each with its own copy of its two images' patches (row = triplet * D + d)."""
    grids = inputs["image_grid_thw"]
    sizes = grids.prod(-1)
    starts = torch.cumsum(sizes, 0) - sizes
    rows = []
    for r in range(inputs["input_ids"].shape[0]):
        source, edited = inputs["image_index"][r // len(dimensions)].tolist()
        patches = torch.cat([inputs["pixel_values"][starts[i] : starts[i] + sizes[i]] for i in (source, edited)])
        length = int(inputs["attention_mask"][r].sum())
        rows.append(Row(dimensions[r % len(dimensions)], inputs["input_ids"][r : r + 1, :length], patches,
                        grids[[source, edited]]))  # fmt: skip
    return rows


def reference_row_output(model, row: Row) -> torch.Tensor:
    """`[mu, log_sigma]` of one row's head from its own backbone pass: the vision tower on the row's two images,
    the features scattered into the token embeddings (the reward token's trained vector in place), the language
    model on the one row with the positions the model uses (sequential or M-RoPE) and, for Qwen3-VL, the row's
    DeepStack features, the dimension's float32 head on the final hidden state at the reward token."""
    config, backbone = model.config, model.model
    ids = row.input_ids
    is_image = ids == config.vlm_config.image_token_id
    is_reward = ids == config.reward_token_id
    vision = backbone.visual(row.pixel_values.to(backbone.visual.dtype), grid_thw=row.image_grid_thw)
    features = vision.pooler_output
    deepstack = ({"visual_pos_masks": is_image, "deepstack_visual_embeds": vision.deepstack_features}
                 if config.backbone_family.deepstack else {})  # fmt: skip
    embeds = backbone.get_input_embeddings()(ids.masked_fill(is_image | is_reward, 0))
    embeds = torch.where(is_reward.unsqueeze(-1), model.reward_token().to(embeds.dtype), embeds)
    embeds = embeds.masked_scatter(is_image.unsqueeze(-1), features.to(embeds.dtype))
    mask = torch.ones_like(ids)
    if config.position_mode == "sequential":
        positions = torch.arange(ids.shape[1], device=ids.device).expand(3, 1, -1)
    else:
        positions, _ = backbone.get_rope_index(ids, mm_token_type_ids=is_image.int(), image_grid_thw=row.image_grid_thw,
                                               attention_mask=mask)  # fmt: skip
    hidden = backbone.language_model(inputs_embeds=embeds, attention_mask=mask, position_ids=positions,
                                     use_cache=False, **deepstack).last_hidden_state  # fmt: skip
    head = model.heads[row.dimension]
    return head(hidden[is_reward].to(next(head.parameters()).dtype)).float()[0]


def reference_triplet_output(model, processor, source, instruction, edited) -> torch.Tensor:
    """[dimensions, 2] for one triplet, the official way: one backbone pass per dimension (fused mean: `.mean(0)`).
    The processor runs once per triplet (the official code preprocesses once per dimension, so this favours it)."""
    inputs = processor(source_images=[source], instructions=[instruction], edited_images=[edited])
    return torch.stack([reference_row_output(model, row) for row in split_rows(inputs, processor.dimensions)])
