"""EditRewardModel: output contract, one vision pass per distinct image, float32 heads, positions, loading."""

import copy

import pytest
import torch
from conftest import packed_and_flat
from PIL import Image

from editreward import EditRewardModel, preference_probability


def _group(photos, processor, count=3):
    src = photos["astronaut"]
    edits = [src.convert("L").convert("RGB"), src.transpose(Image.Transpose.FLIP_LEFT_RIGHT), photos["coffee"]][:count]
    return processor([src] * count, ["make it black and white"] * count, edits)


def test_output_shapes_and_fusion(make_model, processor, photos):
    inputs = _group(photos, processor)
    for fusion in ("mean", "min", "sum"):
        with torch.no_grad():
            out = make_model(fusion=fusion)(**inputs)
        assert out.mu.shape == out.log_sigma.shape == out.sigma.shape == (3, 2)
        assert out.score.shape == out.score_log_sigma.shape == (3,) and out.logits.shape == (3, 1)
        assert torch.equal(out.logits[:, 0], out.score) and torch.allclose(out.sigma, out.log_sigma.exp())
        expected = {"mean": out.mu.mean(-1), "min": out.mu.min(-1).values, "sum": out.mu.sum(-1)}[fusion]
        assert torch.allclose(out.score, expected)
    sum_sigma = torch.sqrt((out.sigma**2).sum(-1))
    assert torch.allclose(out.score_log_sigma.exp(), sum_sigma, rtol=1e-5)


def test_each_distinct_image_goes_through_the_vision_tower_once(make_model, processor, photos):
    model = make_model()
    encoded = []
    model.model.visual.register_forward_hook(
        lambda module, args, kwargs, output: encoded.append(kwargs["grid_thw"].clone()), with_kwargs=True
    )
    inputs = _group(photos, processor, count=3)  # 3 triplets x 2 dimensions = 6 rows, 4 distinct images
    with torch.no_grad():
        model(**inputs)
    assert len(encoded) == 1  # one vision call for the whole batch
    assert encoded[0].shape[0] == 4  # source once, each edit once: not 12 (rows x images)


def test_batched_scores_equal_one_by_one(make_model, processor, photos):
    model = make_model()
    inputs = _group(photos, processor)
    with torch.no_grad():
        batched = model(**inputs)
        src = photos["astronaut"]
        single = model(**processor([src], ["make it black and white"], [photos["coffee"]]))
    torch.testing.assert_close(batched.mu[2], single.mu[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(batched.log_sigma[2], single.log_sigma[0], atol=1e-5, rtol=1e-5)


def test_sequential_positions_count_the_columns_on_every_axis(make_model, processor, photos):
    inputs = _group(photos, processor, count=2)
    positions = make_model(position_mode="sequential")._position_ids(inputs["input_ids"], inputs["attention_mask"], None)
    assert positions.shape == (3, 4, inputs["input_ids"].shape[1])
    for row, mask in enumerate(inputs["attention_mask"].bool()):
        expected = torch.arange(int(mask.sum()))
        for axis in range(3):
            assert torch.equal(positions[axis, row, mask], expected), (axis, row)


def test_mrope_gives_image_tokens_two_dimensional_positions(make_model, processor, photos):
    inputs = _group(photos, processor, count=2)
    grids = inputs["image_grid_thw"][inputs["image_index"].repeat_interleave(2, 0).flatten()]
    positions = make_model(position_mode="mrope")._position_ids(inputs["input_ids"], inputs["attention_mask"], grids)
    is_image = inputs["input_ids"] == processor.image_token_id
    text = inputs["attention_mask"].bool() & ~is_image
    assert torch.equal(positions[0][text], positions[1][text]) and torch.equal(positions[1][text], positions[2][text])
    assert not torch.equal(positions[1][is_image], positions[2][is_image])  # height and width differ in an image


def test_the_position_mode_changes_the_scores(make_model, processor, photos):
    inputs = _group(photos, processor, count=2)
    model = make_model(position_mode="mrope")
    with torch.no_grad():
        mrope = model(**inputs).mu
        model.config.position_mode = "sequential"
        sequential = model(**inputs).mu
    assert not torch.allclose(mrope, sequential)


def test_heads_stay_float32_when_the_backbone_is_bfloat16(make_model, processor, photos, tmp_path):
    model = make_model().to(torch.bfloat16)
    assert model.model.language_model.layers[0].mlp.up_proj.weight.dtype == torch.bfloat16
    assert all(p.dtype == torch.float32 for p in model.heads.parameters())
    model.save_pretrained(tmp_path)
    loaded = EditRewardModel.from_pretrained(tmp_path, dtype=torch.bfloat16)
    assert loaded.model.visual.blocks[0].mlp.up_proj.weight.dtype == torch.bfloat16
    assert all(p.dtype == torch.float32 for p in loaded.heads.parameters())
    inputs = _group(photos, processor, count=1)
    inputs["pixel_values"] = inputs["pixel_values"].to(torch.bfloat16)
    with torch.no_grad():
        out = loaded(**inputs)
    assert out.mu.dtype == torch.float32 and torch.isfinite(out.mu).all()


def test_reward_token_trains_while_embeddings_are_frozen(make_model, processor, photos):
    model = make_model().train()
    model.get_input_embeddings().weight.requires_grad_(False)
    model(**_group(photos, processor, count=2)).score.sum().backward()
    assert model.reward_token.weight.grad is not None and model.reward_token.weight.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.heads.parameters())


def test_save_and_load_round_trip(make_model, processor, photos, tmp_path):
    model = make_model(seed=3)
    model.save_pretrained(tmp_path)
    loaded = EditRewardModel.from_pretrained(tmp_path, dtype=torch.float32).eval()
    inputs = _group(photos, processor, count=2)
    with torch.no_grad():
        torch.testing.assert_close(model(**inputs).mu, loaded(**inputs).mu)


def test_checkpoints_with_missing_or_unexpected_weights_are_refused(make_model, tmp_path):
    from safetensors.torch import load_file, save_file

    make_model().save_pretrained(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    save_file({k: v for k, v in weights.items() if not k.startswith("heads.visual_quality")} | {"rm_heads.head_0.0.weight": torch.zeros(2)},
              tmp_path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"missing_keys \(6\): heads\.visual_quality.*unexpected_keys \(1\): rm_heads"):
        EditRewardModel.from_pretrained(tmp_path)


def test_from_backbone_keeps_the_pretrained_weights(tokenizer, tmp_path, photos):
    from transformers import Qwen2_5_VLForConditionalGeneration

    from editreward import EditRewardProcessor
    from editreward.offline import backbone_config, image_processor, qwen25_vl_chat_template

    torch.manual_seed(0)
    vlm = Qwen2_5_VLForConditionalGeneration(backbone_config(tokenizer))
    vlm.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    image_processor(112 * 112).save_pretrained(tmp_path)
    (tmp_path / "chat_template.jinja").write_text(qwen25_vl_chat_template())

    processor = EditRewardProcessor.from_backbone(str(tmp_path), image_pixels=112 * 112)
    model = EditRewardModel.from_backbone(str(tmp_path), processor, dtype=torch.float32).eval()
    torch.testing.assert_close(model.model.language_model.layers[1].mlp.up_proj.weight,
                               vlm.model.language_model.layers[1].mlp.up_proj.weight)
    torch.testing.assert_close(model.reward_token.weight, vlm.model.get_input_embeddings().weight.mean(0))
    assert model.config.reward_token_id == processor.reward_token_id == processor.tokenizer.convert_tokens_to_ids("<|Reward|>")
    with torch.no_grad():
        out = model(**processor([photos["rocket"]], ["brighten it"], [photos["chelsea"]]))
    assert torch.isfinite(out.score).all()


def test_preference_probability():
    mu_a, mu_b = torch.tensor([1.0, 0.0, -2.0]), torch.tensor([0.0, 0.0, 1.0])
    tight, wide = torch.full((3,), -8.0), torch.full((3,), 1.0)
    p_tight = preference_probability(mu_a, tight, mu_b, tight)
    torch.testing.assert_close(p_tight, torch.sigmoid(mu_a - mu_b), atol=1e-4, rtol=0)
    p_wide = preference_probability(mu_a, wide, mu_b, wide)
    assert p_wide[1] == pytest.approx(0.5, abs=1e-6)
    assert 0.5 < p_wide[0] < p_tight[0] and p_tight[2] < p_wide[2] < 0.5  # uncertainty pulls towards 1/2
    swapped = preference_probability(mu_b, wide, mu_a, wide)
    torch.testing.assert_close(p_wide + swapped, torch.ones(3))


@pytest.mark.parametrize("position_mode", ["mrope", "sequential"])
@pytest.mark.parametrize("attn_implementation,packed_attention", [("sdpa", "tree"), ("sdpa", "mask"), ("eager", "mask")])
def test_shared_prefix_packing_equals_one_row_per_prompt(make_model, processor, photos, position_mode, attn_implementation,
                                                         packed_attention):  # fmt: skip
    a, b = photos["astronaut"], photos["rocket"].resize((200, 120))
    sources = [a, a, b, a, b]
    instructions = ["mirror it", "make it gray", "zoom in", "mirror it", "add a red circle"]
    edits = [a.transpose(Image.Transpose.FLIP_LEFT_RIGHT), a.convert("L").convert("RGB"), photos["coffee"],
             photos["coffee"], b.rotate(180)]
    inputs = processor(sources, instructions, edits)
    model = make_model(position_mode=position_mode, packed_attention=packed_attention)
    model.config.vlm_config.text_config._attn_implementation = attn_implementation
    results = packed_and_flat(model, inputs, lambda m: [m.model.visual.merger.mlp[0].weight])
    for packed, flat in zip(results[True], results[False]):
        torch.testing.assert_close(packed, flat, atol=2e-5, rtol=1e-4)


def test_a_left_padding_tokenizer_gives_the_one_by_one_scores(make_model, tokenizer, photos):
    from editreward import EditRewardProcessor
    from editreward.offline import image_processor, qwen25_vl_chat_template

    left = copy.deepcopy(tokenizer)
    left.padding_side = "left"  # as set for batched generation, and saved with the tokenizer
    processor = EditRewardProcessor(image_processor=image_processor(112 * 112), tokenizer=left,
                                    chat_template=qwen25_vl_chat_template(), image_pixels=112 * 112)
    a = photos["astronaut"]
    triplets = [(a, "make it red", photos["coffee"]), (a, "add a hat to the person in the picture", photos["rocket"]),
                (photos["chelsea"], "x", photos["rocket"])]
    model = make_model()
    with torch.no_grad():
        batched = model(**processor(*map(list, zip(*triplets)))).score
        single = torch.cat([model(**processor(*triplet)).score for triplet in triplets])
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-5)


def test_shared_prefix_packing_refuses_left_padded_inputs(make_model, processor, photos):
    inputs = _group(photos, processor, count=2)
    pads = (inputs["attention_mask"] == 0).sum(-1).tolist()
    for key in ("input_ids", "attention_mask"):
        inputs[key] = torch.stack([row.roll(n) for row, n in zip(inputs[key], pads)])  # pads moved to the left
    with pytest.raises(ValueError, match="left-padded.*padding_side='right'"):
        make_model()(**inputs)


def test_heads_run_in_float32_under_autocast(make_model, processor, photos):
    model = make_model()
    seen = []
    for head in model.heads.values():
        head.register_forward_hook(lambda module, args, output: seen.append((args[0], output)))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(**_group(photos, processor, count=2))
    assert [(x.dtype, y.dtype) for x, y in seen] == [(torch.float32, torch.float32)] * 2
    with torch.no_grad():
        mu = torch.stack([head(x)[:, 0] for head, (x, _) in zip(model.heads.values(), seen)], dim=1)
    torch.testing.assert_close(out.mu, mu, atol=0, rtol=0)


def test_a_config_without_reward_token_id_is_refused_by_name(make_model, processor, photos):
    model = make_model()
    model.config.reward_token_id = None
    with pytest.raises(ValueError, match=r"reward_token_id is not set.*processor\.reward_token_id"):
        model(**_group(photos, processor, count=1))
