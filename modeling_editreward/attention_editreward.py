"""Tree attention: the attention of shared-prefix packed rows, computed only where the tree mask allows it.

A packed row lays out a tree of segments (the source prefix; each edited image; each rubric), and a token may see
only its own segment (causally) and its ancestors. A dense 4-D mask over the whole packed row computes every masked
block too: for 4 edits and 2 dimensions the row is about 5 times one prompt long and attention over it about 25
times one prompt's. Here each segment attends only to its ancestors' keys and its own, one SDPA call per tree depth
(the prefix; the edited images; the rubrics) with the segments of that depth batched and padded to the longest. The
result is the same attention (same keys, same scores, same softmax) and gradients flow through the gathers.

It is registered with transformers as the attention implementation `editreward_tree` (and its mask function as
SDPA's), so it runs inside the backbone's own decoder layers, gradient checkpointing included. The plan reaches it as
the keyword argument `editreward_tree`; called without one it is plain SDPA.
"""

from dataclasses import dataclass

import torch
from torch.nn import functional as F
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

from .packing_editreward import PackedLayout, ancestors

TREE_ATTENTION = "editreward_tree"


@dataclass
class TreeLevel:
    """The segments of one tree depth, batched: where their queries and keys are in the flattened packed rows."""

    query_index: torch.LongTensor  # [segments, max_len] flat position (row * packed_len + col) of each query; 0 pads
    query_valid: torch.BoolTensor  # [segments, max_len] False on padding
    query_flat: torch.LongTensor  # [real queries] `query_index[query_valid]`, where the outputs go
    key_index: torch.LongTensor  # [segments, max_keys] flat position of each key: ancestors first, then its own
    mask: torch.BoolTensor  # [segments, 1, max_len, max_keys] True where attention is allowed


@dataclass
class TreeAttentionPlan:
    """One `TreeLevel` per tree depth of the packed rows; built once per forward, used by every layer."""

    levels: list[TreeLevel]

    @classmethod
    def of(cls, layout: PackedLayout) -> "TreeAttentionPlan":
        """The plan of a packed layout's tree (`PackedLayout.segments`), on the layout's device."""
        by_depth: dict[int, list[tuple[list[int], list[int]]]] = {}
        for row, segs in enumerate(layout.segments):
            base = row * layout.packed_len
            for s, (start, length, _) in enumerate(segs):
                lineage = ancestors(segs, s)
                keys = [base + c for a in [*lineage, s] for c in range(segs[a][0], segs[a][0] + segs[a][1])]
                queries = list(range(base + start, base + start + length))
                by_depth.setdefault(len(lineage), []).append((queries, keys))
        return cls([_level(items, layout.valid.device) for _, items in sorted(by_depth.items())])


def _level(items, device) -> TreeLevel:
    max_len = max(len(queries) for queries, _ in items)
    max_keys = max(len(keys) for _, keys in items)
    query_index = torch.zeros(len(items), max_len, dtype=torch.long)
    query_valid = torch.zeros(len(items), max_len, dtype=torch.bool)
    key_index = torch.zeros(len(items), max_keys, dtype=torch.long)
    visible = torch.zeros(len(items), max_len, dtype=torch.long)  # keys each query sees: ancestors + itself causally
    for i, (queries, keys) in enumerate(items):
        query_index[i, : len(queries)] = torch.tensor(queries)
        query_valid[i, : len(queries)] = True
        key_index[i, : len(keys)] = torch.tensor(keys)
        visible[i] = len(keys) - len(queries) + 1 + torch.arange(max_len).clamp(max=len(queries) - 1)
    mask = torch.arange(max_keys)[None, None, :] < visible[:, :, None]
    return TreeLevel(query_index.to(device), query_valid.to(device), query_index[query_valid].to(device),
                     key_index.to(device), mask.unsqueeze(1).to(device))  # fmt: skip


def tree_attention_forward(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None,
                           editreward_tree: TreeAttentionPlan | None = None, **kwargs):  # fmt: skip
    """transformers' attention-function signature: query [batch, heads, len, dim], key and value [batch, kv_heads,
    len, dim]; returns ([batch, len, heads, dim], None). Without a plan it is transformers' SDPA attention."""
    if editreward_tree is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)  # fmt: skip
    batch, heads, length, dim = query.shape
    flat = lambda states: states.transpose(1, 2).reshape(batch * length, states.shape[1], dim)  # noqa: E731
    query, key, value = flat(query), flat(key), flat(value)
    output = query.new_zeros(query.shape)
    for level in editreward_tree.levels:
        attended = F.scaled_dot_product_attention(
            query[level.query_index].transpose(1, 2), key[level.key_index].transpose(1, 2),
            value[level.key_index].transpose(1, 2), attn_mask=level.mask, scale=scaling,
            dropout_p=dropout, enable_gqa=key.shape[1] != heads,
        )  # fmt: skip
        output = output.index_copy(0, level.query_flat, attended.transpose(1, 2)[level.query_valid])
    return output.view(batch, length, heads, dim), None


ALL_ATTENTION_FUNCTIONS.register(TREE_ATTENTION, tree_attention_forward)
ALL_MASK_ATTENTION_FUNCTIONS.register(TREE_ATTENTION, sdpa_mask)
