"""GRPO groups: the edits of one (source image, instruction) are scored in one packed call (the model computes
their shared prefix once), and their rewards are turned into per-prompt z-scores."""

from collections.abc import Hashable, Sequence

import numpy as np
import torch

DEFAULT_EPSILON = 1e-4  # flow_grpo's PerPromptStatTracker adds 1e-4 to the group's standard deviation


def plan_batches(keys: Sequence[Hashable], max_edits: int) -> list[list[int]]:
    """Positions of the edits per forward call: whole groups (equal keys), in order of first appearance, packed
    greedily up to `max_edits` edits; a group larger than `max_edits` is cut into consecutive calls of its own."""
    if max_edits < 1:
        raise ValueError(f"max_batch_edits must be at least 1, got {max_edits}.")
    groups: dict[Hashable, list[int]] = {}
    for position, key in enumerate(keys):
        groups.setdefault(key, []).append(position)
    batches, current = [], []
    for members in groups.values():
        if len(current) + len(members) > max_edits and current:
            batches.append(current)
            current = []
        while len(members) > max_edits:
            batches.append(members[:max_edits])
            members = members[max_edits:]
        current = current + members
    if current:
        batches.append(current)
    return batches


def group_ids(keys: Sequence[Hashable]) -> list[int]:
    """0, 1, 2, ... per distinct key, in order of first appearance."""
    ids: dict[Hashable, int] = {}
    return [ids.setdefault(key, len(ids)) for key in keys]


def per_prompt_zscores(rewards, groups: Sequence[Hashable], epsilon: float = DEFAULT_EPSILON,
                       global_std: bool = False) -> torch.Tensor:  # fmt: skip
    """GRPO advantages: (reward - mean of its group) / (standard deviation of its group + epsilon), the population
    standard deviation as flow_grpo's `PerPromptStatTracker` computes it (`global_std`: the whole batch's). A group
    of one gets 0. Differentiable in `rewards` (a tensor keeps its device; lists and arrays give float64 on CPU)."""
    values = rewards if isinstance(rewards, torch.Tensor) else torch.as_tensor(np.asarray(rewards, dtype=np.float64))
    if values.ndim != 1 or len(values) != len(groups):
        raise ValueError(f"rewards ({tuple(values.shape)}) and groups ({len(groups)}) must be one entry per edit.")
    if epsilon < 0:
        raise ValueError(f"epsilon must be >= 0, got {epsilon}.")
    index = torch.as_tensor(group_ids(groups), device=values.device)
    count = torch.zeros(int(index.max()) + 1, dtype=values.dtype, device=values.device).index_add_(
        0, index, torch.ones_like(values))
    mean = torch.zeros_like(count).index_add_(0, index, values) / count
    centred = values - mean[index]
    if global_std:
        std = values.std(correction=0).expand_as(values)
    else:
        std = (torch.zeros_like(count).index_add_(0, index, centred**2) / count).sqrt()[index]
    return centred / (std + epsilon)
