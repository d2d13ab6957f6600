"""Tree attention: packed rows attend only where the tree mask allows, with the dense mask's results and gradients,
through the backbone's own layers (gradient checkpointing included), and plain SDPA wherever no plan is given."""

import pytest
import torch
from PIL import Image
from torch.nn import functional as F

from editreward.modeling_editreward.attention_editreward import (
    TREE_ATTENTION,
    TreeAttentionPlan,
    tree_attention_forward,
)
from editreward.modeling_editreward.packing_editreward import PackedLayout, RowStructure, plan_shared_prefix


def _group_inputs(processor, photos, count=4):
    """One source, `count` edits, plus a second source: two packed rows of different lengths."""
    a, b = photos["astronaut"], photos["rocket"].resize((200, 120))
    edits = [a.convert("L").convert("RGB"), a.transpose(Image.Transpose.FLIP_LEFT_RIGHT), photos["coffee"], a.rotate(9)]
    sources = [a] * count + [b]
    instructions = ["make it black and white", "mirror it", "swap in a coffee", "tilt it"][:count] + ["rotate it"]
    return processor(sources, instructions, edits[:count] + [b.rotate(180)])


def _layout(model, inputs) -> PackedLayout:
    dims = len(model.config.dimensions)
    rows = RowStructure.of(inputs["input_ids"], inputs["attention_mask"],
                           inputs["image_index"].repeat_interleave(dims, dim=0), model.config)  # fmt: skip
    return plan_shared_prefix(inputs["input_ids"], rows.prefix_end.tolist(), rows.edit_end.tolist(),
                              rows.images[:, 0].tolist(), rows.images[:, 1].tolist(), rows.reward_cols.tolist())


class _Attention(torch.nn.Module):
    """What transformers' attention functions read of their module."""

    def __init__(self, groups: int):
        super().__init__()
        self.num_key_value_groups, self.is_causal = groups, True


def test_tree_attention_equals_attention_under_the_dense_mask_with_its_gradients(make_model, processor, photos):
    layout = _layout(make_model(), _group_inputs(processor, photos))
    rows, length = layout.valid.shape
    generator = torch.Generator().manual_seed(0)
    query = torch.randn(rows, 4, length, 8, generator=generator, dtype=torch.float64, requires_grad=True)
    key, value = (torch.randn(rows, 2, length, 8, generator=generator, dtype=torch.float64, requires_grad=True)
                  for _ in range(2))  # float64: the same computation, not merely close  # fmt: skip
    plan = TreeAttentionPlan.of(layout)
    tree, _ = tree_attention_forward(_Attention(2), query, key, value, None, scaling=0.3, editreward_tree=plan)
    dense = F.scaled_dot_product_attention(query, key, value, attn_mask=layout.attention_mask(), scale=0.3,
                                           enable_gqa=True).transpose(1, 2)  # fmt: skip
    valid = layout.valid
    torch.testing.assert_close(tree[valid], dense[valid], atol=1e-12, rtol=1e-10)
    weights = torch.randn(dense[valid].shape, generator=generator, dtype=torch.float64)
    grads = [torch.autograd.grad((out[valid] * weights).sum(), (query, key, value)) for out in (tree, dense)]
    for got, expected in zip(*grads):
        torch.testing.assert_close(got, expected, atol=1e-12, rtol=1e-10)


def test_a_group_of_four_computes_a_fraction_of_the_dense_square(make_model, processor, photos):
    """The point of it: each rubric sees its prefix, its image and itself, not the other edits' tokens."""
    layout = _layout(make_model(), _group_inputs(processor, photos))
    plan = TreeAttentionPlan.of(layout)
    computed = sum(level.mask.shape[0] * level.mask.shape[2] * level.mask.shape[3] for level in plan.levels)
    dense = layout.valid.shape[0] * layout.packed_len**2
    allowed = int(layout.attention_mask()[:, 0][layout.valid].sum())  # the dense mask's True entries on real queries
    assert [level.mask.shape[0] for level in plan.levels] == [2, 5, 10]  # 2 prefixes, 5 edited images, 10 rubrics
    assert computed < 0.45 * dense and computed < 2.2 * allowed  # causal halves aside, little is computed for nothing


def test_the_model_builds_no_dense_mask_under_sdpa(make_model, processor, photos, monkeypatch):
    model = make_model()
    inputs = _group_inputs(processor, photos)
    monkeypatch.setattr(PackedLayout, "attention_mask", lambda self: pytest.fail("the dense mask was built"))
    with torch.no_grad():
        model(**inputs)
    assert model.model.language_model.config._attn_implementation == TREE_ATTENTION


def test_gradient_checkpointing_recomputes_the_tree_attention(make_model, processor, photos):
    inputs = _group_inputs(processor, photos, count=2)
    model = make_model(head_dropout=0.0).train()
    grads = {}
    for checkpointing in (False, True):
        if checkpointing:
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        model.zero_grad()
        out = model(**inputs)
        out.mu.sum().backward()
        grads[checkpointing] = (out.mu.detach(), model.model.language_model.layers[0].self_attn.k_proj.weight.grad.clone())
    for plain, checkpointed in zip(grads[False], grads[True]):
        torch.testing.assert_close(plain, checkpointed, atol=1e-6, rtol=1e-5)


def test_without_a_plan_it_is_sdpa_for_any_other_caller(make_model, processor, photos):
    """After a packed forward switched the language model to tree attention, a direct call of the language model
    (padding included) is what SDPA gives."""
    model = make_model()
    inputs = _group_inputs(processor, photos, count=2)
    with torch.no_grad():
        model(**inputs)
        language = model.model.language_model
        embeds = language.embed_tokens(inputs["input_ids"])
        tree = language(inputs_embeds=embeds, attention_mask=inputs["attention_mask"]).last_hidden_state
        language.config._attn_implementation = "sdpa"
        sdpa = language(inputs_embeds=embeds, attention_mask=inputs["attention_mask"]).last_hidden_state
    real = inputs["attention_mask"].bool()
    torch.testing.assert_close(tree[real], sdpa[real], atol=1e-6, rtol=1e-5)


def test_packed_attention_is_checked_by_name():
    from editreward import EditRewardConfig

    with pytest.raises(ValueError, match="packed_attention='sparse'.*tree.*mask"):
        EditRewardConfig(packed_attention="sparse")
