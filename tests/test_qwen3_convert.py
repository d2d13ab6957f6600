"""`editreward convert` for checkpoints the official Qwen3-VL code trains: their 4.57 key layout, checked by name and
shape, and a converted folder that scores like the official forward (transformers' own Qwen3VLModel call)."""

import argparse
import json

import pytest
import torch
from conftest import QWEN3_PIXELS, QWEN3_SIZE
from PIL import Image
from safetensors import safe_open

from editreward.convert import CheckpointMismatchError, convert_official_checkpoint, plan_conversion
from editreward.testing.official_reference import make_official_model, official_scores, save_official_checkpoint

BASE_VOCAB = 151_936  # Qwen3-VL-8B's embedding rows, larger than its tokenizer
INIT_STD = 0.3  # random weights large enough that positions, DeepStack and pixels move the scores


def base_image_processor():
    """Qwen3-VL's image processor (patch 16, mean and std 0.5) with a pixel range wide enough to leave an image the
    official pipeline resized to the budget first as it is (Qwen3-VL-8B's own floor, 65,536 px, would upscale the
    tiny test images)."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    return Qwen2VLImageProcessorPil(min_pixels=1024, max_pixels=16_777_216, patch_size=16, merge_size=2,
                                    temporal_patch_size=2, image_mean=[0.5] * 3, image_std=[0.5] * 3)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A tiny Qwen3-VL base folder and an official-layout checkpoint fine-tuned from it (reward token appended,
    embeddings resized to the tokenizer, `rm_heads` in float32), saved as the official code saves its state dict."""
    from transformers import AutoTokenizer, Qwen3VLForConditionalGeneration

    from editreward.offline import backbone_config, qwen3_vl_chat_template, qwen3_vl_tokenizer

    base, checkpoint = tmp_path_factory.mktemp("base3"), tmp_path_factory.mktemp("checkpoint3")
    tokenizer = qwen3_vl_tokenizer()
    vlm_config = backbone_config(tokenizer, family="qwen3_vl", initializer_range=INIT_STD, **QWEN3_SIZE)
    vlm_config.text_config.vocab_size = BASE_VOCAB
    torch.manual_seed(1)
    Qwen3VLForConditionalGeneration(vlm_config).save_pretrained(base)
    tokenizer.save_pretrained(base)
    base_image_processor().save_pretrained(base)
    (base / "chat_template.jinja").write_text(qwen3_vl_chat_template())

    official_tokenizer = AutoTokenizer.from_pretrained(base)
    official_tokenizer.add_special_tokens({"additional_special_tokens": ["<|Reward|>"]})
    reward_token_id = official_tokenizer.convert_tokens_to_ids("<|Reward|>")
    model = make_official_model(vlm_config, len(official_tokenizer), reward_token_id, seed=0)
    save_official_checkpoint(model, checkpoint)
    return argparse.Namespace(base=base, checkpoint=checkpoint, model=model, tokenizer=official_tokenizer,
                              reward_token_id=reward_token_id)


@pytest.fixture(scope="module")
def converted(released, tmp_path_factory):
    out = tmp_path_factory.mktemp("converted3") / "EditReward-Qwen3-VL-tiny"
    return convert_official_checkpoint(released.checkpoint, released.base, out, image_pixels=QWEN3_PIXELS)


def test_the_official_qwen3_vl_layout_is_the_one_converted(released):
    keys = set(released.model.state_dict())
    assert {"model.visual.deepstack_merger_list.0.linear_fc1.weight", "model.visual.pos_embed.weight",
            "model.language_model.layers.0.self_attn.q_norm.weight", "lm_head.weight",
            "rm_heads.head_1.5.bias"} <= keys  # fmt: skip


def test_converted_qwen3_vl_model_scores_like_the_official_forward(released, converted, photos):
    from transformers import AutoImageProcessor, AutoModel, AutoProcessor

    sources = [photos["astronaut"], photos["astronaut"], photos["coffee"], photos["rocket"].resize((96, 200))]
    edits = [photos["astronaut"].convert("L").convert("RGB"), photos["chelsea"],
             photos["coffee"].transpose(Image.Transpose.FLIP_LEFT_RIGHT), photos["rocket"].resize((96, 200)).rotate(8)]
    instructions = ["make it black and white", "replace the astronaut with a cat", "mirror the cup", "tilt it a bit"]
    expected = official_scores(
        released.model, released.tokenizer, AutoImageProcessor.from_pretrained(released.base),
        (released.base / "chat_template.jinja").read_text(), QWEN3_PIXELS, sources, instructions, edits,
    )
    model = AutoModel.from_pretrained(converted, trust_remote_code=True, dtype=torch.float32).eval()
    processor = AutoProcessor.from_pretrained(converted, trust_remote_code=True)
    assert model.config.backbone_family.name == "qwen3_vl" and model.config.position_mode == "mrope"
    with torch.no_grad():
        out = model(**processor(source_images=sources, instructions=instructions, edited_images=edits))
    differences = {name: float((getattr(out, name) - expected[name]).abs().max()) for name in expected}
    print(f"max float32 difference to the official Qwen3-VL forward: {differences}")
    for name in ("mu", "log_sigma", "score", "score_log_sigma"):
        torch.testing.assert_close(getattr(out, name), expected[name], atol=1e-5, rtol=0, msg=lambda m: f"{name}: {m}")

    model.config.position_mode = "sequential"  # the check has teeth: 1-D positions score differently
    with torch.no_grad():
        sequential = model(**processor(source_images=sources, instructions=instructions, edited_images=edits))
    assert (sequential.mu - expected["mu"]).abs().max() > 1e-2


def test_weights_come_from_the_qwen3_vl_checkpoint(released, converted):
    official = released.model.state_dict()
    with safe_open(converted / "model.safetensors", framework="pt") as weights:
        key = "model.visual.deepstack_merger_list.1.linear_fc2.weight"
        assert torch.equal(weights.get_tensor(key), official[key])
        embeddings = weights.get_tensor("model.language_model.embed_tokens.weight")
        assert torch.equal(weights.get_tensor("reward_token.weight"), embeddings[released.reward_token_id])
        assert not any(key.startswith(("lm_head", "rm_heads")) for key in weights.keys())
    assert embeddings.shape[0] == len(released.tokenizer) == 151_670 < BASE_VOCAB
    config = json.loads((converted / "config.json").read_text())
    assert config["vlm_config"]["model_type"] == "qwen3_vl" and config["position_mode"] == "mrope"
    card = (converted / "README.md").read_text()
    assert "Qwen3-VL" in card and "M-RoPE" in card and "sequential" not in card


def test_missing_and_misshaped_qwen3_vl_keys_are_named(released, converted):
    with safe_open(converted / "model.safetensors", framework="pt") as weights:
        target = {key: tuple(weights.get_slice(key).get_shape()) for key in weights.keys()}
    official = {key: tuple(tensor.shape) for key, tensor in released.model.state_dict().items()}
    official.pop("model.visual.deepstack_merger_list.1.norm.bias")
    official["model.visual.pos_embed.weight"] = (2304, 32)  # Qwen3-VL-8B's 48 x 48 grid on a tiny tower
    with pytest.raises(CheckpointMismatchError) as error:
        plan_conversion(official, target, released.reward_token_id)
    message = str(error.value)
    assert "model.visual.deepstack_merger_list.1.norm.bias (official model.visual.deepstack_merger_list.1" in message
    assert "model.visual.pos_embed.weight: checkpoint (2304, 32), architecture (64, 32)" in message


def test_a_qwen25_vl_checkpoint_against_a_qwen3_vl_base_is_refused(released, tmp_path):
    from editreward.offline import backbone_config, qwen25_tokenizer

    tokenizer = qwen25_tokenizer(("<tool_response>", "</tool_response>", "<think>", "</think>"))
    qwen25 = make_official_model(backbone_config(tokenizer), len(tokenizer) + 1, len(tokenizer), seed=0)
    save_official_checkpoint(qwen25, tmp_path / "qwen25")
    with pytest.raises(CheckpointMismatchError, match=r"unexpected .*model\.visual\.merger\.mlp\.0\.weight.*missing: "
                       r".*deepstack_merger_list"):
        convert_official_checkpoint(tmp_path / "qwen25", released.base, tmp_path / "out")
    assert not (tmp_path / "out").exists()
