"""Shared-prefix packing: compute the common start of many rows once, with gradients flowing through it.

Every row of an EditReward batch reads `[system + source image][edited image][rubric + instruction + suffix]`.
Rows of one source image share the first segment; rows of one edit (one per dimension) share the second too. A
packed row lays the tree out once: the source prefix, then for each edit its image segment followed by that edit's
rubric segments. A 4-D mask lets each token see only its own segment and its ancestors (causally), and each token
keeps the rotary position it has in its original row, so every rubric segment computes exactly what it would in
its own row, while the shared segments are computed once. No KV cache is involved, so this composes with gradient
checkpointing, and training a pair (2 edits x 2 dimensions) costs one prefix, two images and four rubric segments.
`RowStructure` finds the segments of each row; `plan_shared_prefix` lays the packed rows out. The attention over a
packed row computes only the blocks the tree allows (`attention_editreward`); eager attention takes the dense mask.
"""

from dataclasses import dataclass

import torch


@dataclass
class PackedLayout:
    """Where every packed token comes from, and how the packed rows map back to the original rows."""

    source_row: torch.LongTensor  # [packed_rows, packed_len] original row of each packed token
    source_col: torch.LongTensor  # [packed_rows, packed_len] its column in that row
    valid: torch.BoolTensor  # [packed_rows, packed_len] False on padding
    reward_index: torch.LongTensor  # [rows, rewards per row, 2] (packed row, column) of each row's reward tokens
    segments: list[list[tuple[int, int, int]]]  # per packed row: (start column, length, parent segment or -1)

    @property
    def packed_len(self) -> int:
        return self.valid.shape[1]

    def attention_mask(self) -> torch.BoolTensor:
        """[packed_rows, 1, packed_len, packed_len], True where attention is allowed: a token sees its own segment
        causally and its ancestors. Dense, for eager attention (`TreeAttentionPlan` computes only these blocks)."""
        n, length = self.valid.shape
        segment_id = torch.full((n, length), -1, dtype=torch.long)
        visible = torch.zeros(n, max(map(len, self.segments)), max(map(len, self.segments)), dtype=torch.bool)
        for i, segs in enumerate(self.segments):
            for s, (start, size, _) in enumerate(segs):
                segment_id[i, start : start + size] = s
                visible[i, s, [*ancestors(segs, s), s]] = True
        seg = segment_id.clamp(min=0)
        seg_visible = visible[torch.arange(n)[:, None, None], seg[:, :, None], seg[:, None, :]]
        causal = torch.ones(length, length, dtype=torch.bool).tril()
        mask = seg_visible & causal & (segment_id >= 0)[:, None, :]
        mask |= torch.eye(length, dtype=torch.bool)  # padding attends to itself: no empty softmax rows
        return mask.unsqueeze(1).to(self.valid.device)


def ancestors(segments: list[tuple[int, int, int]], s: int) -> list[int]:
    """The ancestors of segment `s` of one packed row (`PackedLayout.segments[row]`), the root first."""
    found, parent = [], segments[s][2]
    while parent >= 0:
        found.insert(0, parent)
        parent = segments[parent][2]
    return found


def plan_shared_prefix(input_ids, prefix_ends, edit_ends, source_keys, edit_keys, reward_cols):
    """Group rows by (source prefix) and then (edited image) and lay each group out as one packed row.

    `prefix_ends[r]`/`edit_ends[r]`: the column after row r's source / edited image segment. `source_keys[r]` and
    `edit_keys[r]` identify its images; `reward_cols[r]` lists its reward tokens' columns (one, or one per dimension
    in the compact format). Rows are grouped only if their shared segments' tokens are identical. A row ends at its
    last reward token: under causal attention the tokens after it cannot change its hidden states.
    """
    ids = input_ids.tolist()
    groups: dict = {}
    for r in range(len(ids)):
        p, e = prefix_ends[r], edit_ends[r]
        prefix_key = (source_keys[r], tuple(ids[r][:p]))
        edit_key = (edit_keys[r], tuple(ids[r][p:e]))
        groups.setdefault(prefix_key, {}).setdefault(edit_key, []).append(r)

    packed_rows, reward_index = [], [None] * len(ids)
    for edits in groups.values():
        first = next(iter(edits.values()))[0]
        segments = [(first, 0, prefix_ends[first], -1)]  # (row, start, end, parent segment)
        for rows in edits.values():
            edit_segment = len(segments)
            segments.append((rows[0], prefix_ends[rows[0]], edit_ends[rows[0]], 0))
            for r in rows:
                offset = sum(end - start for _, start, end, _ in segments)
                reward_index[r] = [(len(packed_rows), offset + col - edit_ends[r]) for col in reward_cols[r]]
                segments.append((r, edit_ends[r], reward_cols[r][-1] + 1, edit_segment))  # nothing after it counts
        packed_rows.append(segments)
    return _layout(packed_rows, reward_index, input_ids.device)


def _layout(packed_rows, reward_index, device) -> PackedLayout:
    packed_len = max(sum(end - start for _, start, end, _ in segs) for segs in packed_rows)
    n = len(packed_rows)
    source_row = torch.zeros(n, packed_len, dtype=torch.long)
    source_col = torch.zeros(n, packed_len, dtype=torch.long)
    valid = torch.zeros(n, packed_len, dtype=torch.bool)
    segments = []
    for i, segs in enumerate(packed_rows):
        at, placed = 0, []
        for row, start, end, parent in segs:
            source_row[i, at : at + end - start] = row
            source_col[i, at : at + end - start] = torch.arange(start, end)
            valid[i, at : at + end - start] = True
            placed.append((at, end - start, parent))
            at += end - start
        segments.append(placed)
    return PackedLayout(
        source_row=source_row.to(device), source_col=source_col.to(device), valid=valid.to(device),
        reward_index=torch.tensor(reward_index, dtype=torch.long, device=device), segments=segments,
    )


@dataclass
class RowStructure:
    """Where each row's segments, images and reward tokens are: `[prefix + source image][edited image][rubric]`."""

    images: torch.LongTensor  # [rows, 2] source and edited image of each row
    prefix_end: torch.LongTensor  # [rows] column after the source image's <|vision_end|>
    edit_end: torch.LongTensor  # [rows] column after the edited image's <|vision_end|>
    reward_cols: torch.LongTensor  # [rows, rewards per row] columns of the reward tokens, in order
    input_ids: torch.LongTensor
    image_token_id: int

    @property
    def reward_col(self) -> torch.LongTensor:
        """[rows] column of each row's last reward token, where the row's computation ends."""
        return self.reward_cols[:, -1]

    @classmethod
    def of(cls, input_ids, attention_mask, row_images, config) -> "RowStructure":
        if config.reward_token_id is None:
            raise ValueError(
                "config.reward_token_id is not set, so the reward token cannot be found; set it to the processor's: "
                "EditRewardConfig(..., reward_token_id=processor.reward_token_id)."
            )
        vision_end = (input_ids == config.vlm_config.vision_end_token_id) & attention_mask.bool()
        is_reward = (input_ids == config.reward_token_id) & attention_mask.bool()
        if not torch.equal(vision_end.sum(-1), torch.full_like(vision_end[:, 0], 2, dtype=torch.long)):
            raise ValueError("Every row needs exactly two images (source, then edited); build inputs with EditRewardProcessor.")
        rewards = config.rewards_per_row
        if not torch.equal(is_reward.sum(-1), torch.full_like(is_reward[:, 0], rewards, dtype=torch.long)):
            raise ValueError(
                f"Every row needs exactly {rewards} reward token{'s' if rewards > 1 else ''} {config.reward_token!r} "
                f"(id {config.reward_token_id}) in the {config.input_format!r} input format; build inputs with the "
                "model's own EditRewardProcessor."
            )
        ends = vision_end.nonzero()[:, 1].view(-1, 2) + 1
        reward_cols = is_reward.nonzero()[:, 1].view(-1, rewards)
        return cls(row_images, ends[:, 0], ends[:, 1], reward_cols, input_ids, config.vlm_config.image_token_id)

    def feature_index(self, image_grid_thw, merge_size: int) -> torch.LongTensor:
        """[rows, seq]: for each image token, its row in the concatenated image features; -1 elsewhere."""
        tokens_per_image = image_grid_thw.prod(-1) // merge_size**2
        offsets = torch.cumsum(tokens_per_image, 0) - tokens_per_image
        is_image = self.input_ids == self.image_token_id
        cols = torch.arange(self.input_ids.shape[1], device=self.input_ids.device).expand_as(self.input_ids)
        in_edit = cols >= self.prefix_end[:, None]
        first_source = (is_image & ~in_edit).int().argmax(-1, keepdim=True)
        first_edit = (is_image & in_edit).int().argmax(-1, keepdim=True)
        image = torch.where(in_edit, self.images[:, 1:], self.images[:, :1])
        within = cols - torch.where(in_edit, first_edit, first_source)
        counts = (is_image & ~in_edit).sum(-1), (is_image & in_edit).sum(-1)
        if not (torch.equal(counts[0], tokens_per_image[self.images[:, 0]]) and torch.equal(counts[1], tokens_per_image[self.images[:, 1]])):
            raise ValueError("The image tokens of input_ids do not match the images image_index selects; "
                             "inputs and images do not belong together.")
        return torch.where(is_image, offsets[image] + within, torch.full_like(within, -1))
