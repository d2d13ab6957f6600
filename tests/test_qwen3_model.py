"""One EditRewardModel on a Qwen3-VL backbone: the family's patch grid, DeepStack carried through shared-prefix
packing, each image encoded once, from_backbone, and remote-code loading without the package."""

import os
import subprocess
import sys

import pytest
import torch
from conftest import QWEN3_SIZE, packed_and_flat
from PIL import Image

from editreward import EditRewardModel, EditRewardProcessor


def _inputs(processor, photos):
    a, b = photos["astronaut"], photos["rocket"].resize((200, 120))
    sources = [a, a, b, a, b]
    instructions = ["mirror it", "make it gray", "zoom in", "mirror it", "add a red circle"]
    edits = [a.transpose(Image.Transpose.FLIP_LEFT_RIGHT), a.convert("L").convert("RGB"), photos["coffee"],
             photos["coffee"], b.rotate(180)]
    return processor(sources, instructions, edits)


def test_the_config_names_the_family_and_one_visual_token_covers_32_pixels(make_qwen3_model, make_qwen3_processor):
    processor = make_qwen3_processor(pixels=200_704)
    model = make_qwen3_model(processor)
    assert model.config.backbone_family.name == "qwen3_vl" and type(model.model).__name__ == "Qwen3VLModel"
    assert model.config.patch_group == processor.patch_group == 32
    square = Image.new("RGB", (448, 448), (90, 120, 200))
    grid = processor([square], ["brighten it"], [square])["image_grid_thw"]
    assert grid.tolist() == [[1, 28, 28]] and int(grid.prod()) // 4 == 196  # 200,704 px: 196 tokens, not 256
    assert EditRewardModel.config_class.from_dict(model.config.to_dict()).backbone_family.name == "qwen3_vl"


def test_an_unsupported_backbone_family_is_named():
    from transformers import LlavaConfig

    from editreward import EditRewardConfig

    with pytest.raises(ValueError, match=r"model_type 'llava' is not supported.*qwen2_5_vl.*qwen3_vl"):
        EditRewardConfig(vlm_config=LlavaConfig())


@pytest.mark.parametrize("attn_implementation,packed_attention", [("sdpa", "tree"), ("sdpa", "mask"), ("eager", "mask")])
def test_shared_prefix_packing_carries_deepstack_to_the_packed_positions(make_qwen3_model, qwen3_processor, photos,
                                                                         attn_implementation, packed_attention):  # fmt: skip
    inputs = _inputs(qwen3_processor, photos)
    model = make_qwen3_model(qwen3_processor, initializer_range=0.2, packed_attention=packed_attention)
    assert model.config.vlm_config.vision_config.deepstack_visual_indexes == [0, 1]
    model.config.vlm_config.text_config._attn_implementation = attn_implementation
    visual = model.model.visual
    weights = [visual.merger.linear_fc1.weight, *(m.linear_fc1.weight for m in visual.deepstack_merger_list),
               visual.pos_embed.weight]  # fmt: skip
    results = packed_and_flat(model, inputs, lambda m: weights)
    assert all(g.abs().sum() > 0 for g in results[True][2:])  # DeepStack's mergers and the position table learn too
    for packed, flat in zip(results[True], results[False]):
        torch.testing.assert_close(packed, flat, atol=1e-5, rtol=1e-5)


def test_deepstack_features_change_the_scores(make_qwen3_model, qwen3_processor, photos):
    inputs = _inputs(qwen3_processor, photos)
    model = make_qwen3_model(qwen3_processor, initializer_range=0.2)
    with torch.no_grad():
        with_deepstack = model(**inputs).mu
        for merger in model.model.visual.deepstack_merger_list:
            merger.linear_fc2.weight.zero_()
            merger.linear_fc2.bias.zero_()
        without = model(**inputs).mu
    assert (with_deepstack - without).abs().max() > 1e-3


def test_each_distinct_image_goes_through_the_vision_tower_once(make_qwen3_model, qwen3_processor, photos):
    model = make_qwen3_model(qwen3_processor)
    inputs = _inputs(qwen3_processor, photos)
    calls = []
    model.model.visual.register_forward_hook(lambda module, args, output: calls.append(args[0].shape[0]))
    with torch.no_grad():
        model(**inputs)
    assert len(inputs["image_grid_thw"]) == 6  # 2 sources + 4 distinct edits for 5 triplets
    assert calls == [int(inputs["image_grid_thw"].prod(-1).sum())]


def test_from_backbone_keeps_the_pretrained_qwen3_vl_weights(tmp_path, photos):
    from transformers import Qwen3VLForConditionalGeneration

    from editreward.offline import backbone_config, image_processor, qwen3_vl_chat_template, qwen3_vl_tokenizer

    tokenizer = qwen3_vl_tokenizer()
    torch.manual_seed(0)
    vlm = Qwen3VLForConditionalGeneration(backbone_config(tokenizer, family="qwen3_vl", **QWEN3_SIZE))
    vlm.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    image_processor(128 * 128, family="qwen3_vl").save_pretrained(tmp_path)
    (tmp_path / "chat_template.jinja").write_text(qwen3_vl_chat_template())

    processor = EditRewardProcessor.from_backbone(str(tmp_path), image_pixels=128 * 128)
    assert processor.patch_group == 32 and processor.reward_token_id == len(tokenizer)  # after </think>
    model = EditRewardModel.from_backbone(str(tmp_path), processor, dtype=torch.float32).eval()
    assert model.config.backbone_family.name == "qwen3_vl"
    torch.testing.assert_close(model.model.visual.deepstack_merger_list[0].linear_fc1.weight,
                               vlm.model.visual.deepstack_merger_list[0].linear_fc1.weight)
    torch.testing.assert_close(model.reward_token.weight, vlm.model.get_input_embeddings().weight.mean(0))
    with torch.no_grad():
        out = model(**processor([photos["rocket"]], ["brighten it"], [photos["chelsea"]]))
    assert torch.isfinite(out.score).all()
    assert EditRewardModel.from_backbone(vlm, processor).config.backbone_family.name == "qwen3_vl"  # a loaded model


LOAD_WITHOUT_PACKAGE = """
import sys, torch
sys.modules["editreward"] = None  # the package cannot be imported: only the folder's code files can serve
from PIL import Image
from transformers import AutoModel, AutoProcessor
model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True, dtype=torch.float32).eval()
processor = AutoProcessor.from_pretrained(sys.argv[1], trust_remote_code=True)
assert type(model).__module__.startswith("transformers_modules."), type(model).__module__
assert type(model.model).__name__ == "Qwen3VLModel"
src, a, b = (Image.open(f"{sys.argv[1]}/{n}.png") for n in ("src", "a", "b"))
with torch.no_grad():
    out = model(**processor(source_images=[src, src], instructions=["mirror it"] * 2, edited_images=[a, b]))
torch.save(out.mu, sys.argv[2])
"""


def test_a_saved_qwen3_vl_model_loads_as_remote_code_without_the_package(make_qwen3_model, qwen3_processor, photos,
                                                                         tmp_path):  # fmt: skip
    folder = tmp_path / "model"
    model = make_qwen3_model(qwen3_processor, seed=3)
    model.save_pretrained(folder)
    qwen3_processor.save_pretrained(folder)
    assert "backbones_editreward.py" in os.listdir(folder)
    src = photos["chelsea"]
    images = [src, src.transpose(Image.Transpose.FLIP_LEFT_RIGHT), src.rotate(90)]
    for name, image in zip(("src", "a", "b"), images):
        image.save(folder / f"{name}.png")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", LOAD_WITHOUT_PACKAGE, str(folder), str(tmp_path / "mu.pt")],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    reloaded = [Image.open(folder / f"{n}.png") for n in ("src", "a", "b")]
    with torch.no_grad():
        local = model(**qwen3_processor([reloaded[0]] * 2, ["mirror it"] * 2, reloaded[1:])).mu
    torch.testing.assert_close(torch.load(tmp_path / "mu.pt"), local)


def test_the_lora_targets_are_the_qwen3_vl_decoder_projections_only(make_qwen3_model, qwen3_processor):
    import re

    from editreward.trainer.trainer import LANGUAGE_MODEL_LORA_TARGETS

    model = make_qwen3_model(qwen3_processor)
    targeted = [name for name, _ in model.named_modules() if re.fullmatch(LANGUAGE_MODEL_LORA_TARGETS, name)]
    layers = model.config.vlm_config.text_config.num_hidden_layers
    assert len(targeted) == 7 * layers and all(name.startswith("model.language_model.layers.") for name in targeted)


def test_the_fast_quickstart_trains_evaluates_and_publishes_a_qwen3_vl_model(tmp_path):
    import contextlib
    import io
    import json

    from editreward.quickstart.run import run_quickstart

    with contextlib.redirect_stdout(io.StringIO()) as printed:
        summary = run_quickstart(tmp_path, fast=True, seed=0, progress=False, family="qwen3_vl")
    assert "Qwen3-VL backbone from random init" in printed.getvalue()
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["vlm_config"]["model_type"] == "qwen3_vl"
    card = (tmp_path / "model" / "README.md").read_text()
    assert "Qwen3-VL `qwen3_vl`" in card and "14-pixel patch group" in card  # the recipe's 7-pixel patches, merged 2x2
    assert 0 <= summary["evaluation"]["overall"]["accuracy"] <= 1
    assert summary["demo"]  # scored in a fresh process through the folder's remote code
