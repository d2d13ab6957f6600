"""`editreward convert`: a released (official-layout) checkpoint becomes a folder that scores identically."""

import argparse
import json
import subprocess
import sys

import pytest
import torch
from conftest import TINY_PIXELS
from PIL import Image
from safetensors import safe_open

from editreward.cli import build_parser
from editreward.convert import CheckpointMismatchError, convert_official_checkpoint, plan_conversion
from editreward.testing.official_reference import make_official_model, official_scores, save_official_checkpoint

BASE_VOCAB = 151_680  # like the released bases (152,064 for Qwen2.5-VL), larger than the tokenizer
INIT_STD = 0.3  # random weights large enough that positions and pixels move the scores well beyond the tolerance


def base_image_processor():
    """Qwen2.5-VL's own image processor settings (3,136 to 12,845,056 px): the official pipeline resized each image
    to the budget first, so that this one left it as it was."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    return Qwen2VLImageProcessorPil(min_pixels=3136, max_pixels=12_845_056, patch_size=14, merge_size=2,
                                    temporal_patch_size=2)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A tiny base folder (weights, tokenizer, image processor, chat template) and an official-layout checkpoint
    fine-tuned from it: the reward token appended and the embedding matrix resized to the tokenizer."""
    from transformers import AutoTokenizer, Qwen2_5_VLForConditionalGeneration

    from editreward.offline import backbone_config, qwen25_tokenizer, qwen25_vl_chat_template

    base, checkpoint = tmp_path_factory.mktemp("base"), tmp_path_factory.mktemp("checkpoint")
    tokenizer = qwen25_tokenizer()  # fresh: the session fixture may already hold <|Reward|>
    vlm_config = backbone_config(tokenizer)
    vlm_config.text_config.vocab_size = BASE_VOCAB
    for config in (vlm_config, vlm_config.text_config, vlm_config.vision_config):
        config.initializer_range = INIT_STD
    torch.manual_seed(1)
    Qwen2_5_VLForConditionalGeneration(vlm_config).save_pretrained(base)
    tokenizer.save_pretrained(base)
    base_image_processor().save_pretrained(base)
    (base / "chat_template.jinja").write_text(qwen25_vl_chat_template())

    official_tokenizer = AutoTokenizer.from_pretrained(base)
    official_tokenizer.add_special_tokens({"additional_special_tokens": ["<|Reward|>"]})
    reward_token_id = official_tokenizer.convert_tokens_to_ids("<|Reward|>")
    model = make_official_model(vlm_config, len(official_tokenizer), reward_token_id, seed=0)
    save_official_checkpoint(model, checkpoint)
    (checkpoint / "README.md").write_text("---\nlicense: apache-2.0\ntags: [reward-model]\n---\n# Released\n")
    return argparse.Namespace(base=base, checkpoint=checkpoint, model=model, tokenizer=official_tokenizer,
                              reward_token_id=reward_token_id)


@pytest.fixture(scope="module")
def converted(released, tmp_path_factory):
    out = tmp_path_factory.mktemp("converted") / "EditReward-tiny"
    return convert_official_checkpoint(released.checkpoint, released.base, out, image_pixels=TINY_PIXELS)


def _official_shapes(released) -> dict:
    return {key: tuple(tensor.shape) for key, tensor in released.model.state_dict().items()}


def _target_shapes(converted) -> dict:
    with safe_open(converted / "model.safetensors", framework="pt") as weights:
        return {key: tuple(weights.get_slice(key).get_shape()) for key in weights.keys()}


def test_converted_model_scores_like_the_official_forward(released, converted, photos):
    from transformers import AutoImageProcessor, AutoModel, AutoProcessor

    sources = [photos["astronaut"], photos["astronaut"], photos["coffee"], photos["rocket"].resize((96, 200))]
    edits = [photos["astronaut"].convert("L").convert("RGB"), photos["chelsea"],
             photos["coffee"].transpose(Image.Transpose.FLIP_LEFT_RIGHT), photos["rocket"].resize((96, 200)).rotate(8)]
    instructions = ["make it black and white", "replace the astronaut with a cat", "mirror the cup", "tilt it a bit"]
    expected = official_scores(
        released.model, released.tokenizer, AutoImageProcessor.from_pretrained(released.base),
        (released.base / "chat_template.jinja").read_text(), TINY_PIXELS, sources, instructions, edits,
    )

    model = AutoModel.from_pretrained(converted, trust_remote_code=True, dtype=torch.float32).eval()
    processor = AutoProcessor.from_pretrained(converted, trust_remote_code=True)
    with torch.no_grad():
        out = model(**processor(source_images=sources, instructions=instructions, edited_images=edits))
    for name in ("mu", "log_sigma", "score", "score_log_sigma"):
        torch.testing.assert_close(getattr(out, name), expected[name], atol=1e-5, rtol=0, msg=lambda m: f"{name}: {m}")

    model.config.position_mode = "mrope"  # the check has teeth: Qwen's native positions score differently
    with torch.no_grad():
        mrope = model(**processor(source_images=sources, instructions=instructions, edited_images=edits))
    assert (mrope.mu - expected["mu"]).abs().max() > 1e-2


def test_weights_come_from_the_checkpoint_and_lm_head_is_dropped(released, converted):
    official = released.model.state_dict()
    with safe_open(converted / "model.safetensors", framework="pt") as weights:
        keys = set(weights.keys())
        embeddings = weights.get_tensor("model.language_model.embed_tokens.weight")
        assert torch.equal(embeddings, official["model.language_model.embed_tokens.weight"])
        assert torch.equal(weights.get_tensor("reward_token.weight"), embeddings[released.reward_token_id])
        for target, source in (("heads.visual_quality.5.bias", "rm_heads.head_1.5.bias"),
                               ("heads.instruction_following.3.weight", "rm_heads.head_0.3.weight")):
            assert torch.equal(weights.get_tensor(target), official[source])
    assert not any(key.startswith(("lm_head", "rm_heads")) for key in keys)
    assert embeddings.shape[0] == len(released.tokenizer) == 151_666 < BASE_VOCAB  # the checkpoint's rows


def test_written_folder_is_hub_ready_with_the_released_settings(released, converted):
    files = {path.name for path in converted.iterdir()}
    assert {"config.json", "model.safetensors", "processor_config.json", "tokenizer.json", "chat_template.jinja",
            "modeling_editreward.py", "processing_editreward.py", "README.md"} <= files
    config = json.loads((converted / "config.json").read_text())
    reference = json.load(open("/work/shared/reference/rubric_prompts.json"))
    assert config["position_mode"] == "sequential" and config["fusion"] == "mean"
    assert config["rubric_prompts"] == {name: d["rubric"] for name, d in reference["dimensions"].items()}
    assert config["dimensions"] == ["instruction_following", "visual_quality"]
    assert config["reward_suffix"] == reference["suffix"] and config["reward_token_id"] == released.reward_token_id
    assert config["image_pixels"] == TINY_PIXELS
    assert (converted / "chat_template.jinja").read_text() == (released.base / "chat_template.jinja").read_text()


def test_model_card_names_origin_licence_and_reported_numbers(released, converted):
    from huggingface_hub import ModelCard

    from editreward.hub_card import check_model_folder, texts

    card = ModelCard.load(converted / "README.md")
    assert card.data.license == "apache-2.0"  # read from the checkpoint's own card
    assert card.data.base_model is None  # only a Hub id may go there, not a local path
    assert set(texts.TAGS) <= set(card.data.tags)
    card = card.content
    assert str(released.base) in card and str(released.checkpoint) in card
    assert texts.PAPER_URL in card and "trust_remote_code=True" in card
    assert not [problem for problem in check_model_folder(converted) if "README.md" in problem]  # push accepts it
    for number in ("65.72", "63.62", "38.42", "63.97", "59.50", "36.78"):
        assert number in card


def test_missing_unexpected_and_misshaped_keys_are_named(released, converted):
    official = _official_shapes(released)
    official.pop("rm_heads.head_1.5.bias")
    official.pop("model.language_model.layers.1.mlp.up_proj.weight")
    official["rm_heads.head_2.0.weight"] = (1024, 64)
    official["model.visual.blocks.0.mlp.up_proj.weight"] = (7, 32)
    with pytest.raises(CheckpointMismatchError) as error:
        plan_conversion(official, _target_shapes(converted), released.reward_token_id)
    message = str(error.value)
    assert "unexpected (not part of an EditReward checkpoint): rm_heads.head_2.0.weight" in message
    assert "heads.visual_quality.5.bias (official rm_heads.head_1.5.bias)" in message
    assert "model.language_model.layers.1.mlp.up_proj.weight" in message
    assert "model.visual.blocks.0.mlp.up_proj.weight: checkpoint (7, 32), architecture (128, 32)" in message
    assert "--base the model this checkpoint was fine-tuned from" in message


def test_mixed_layouts_and_a_vocabulary_without_the_reward_token_are_refused(released, converted):
    official = _official_shapes(released)
    official["model.norm.weight"] = official["model.language_model.norm.weight"]  # legacy name of the same tensor
    with pytest.raises(CheckpointMismatchError, match=r"model.language_model.norm.weight and model.norm.weight"):
        plan_conversion(official, _target_shapes(converted), released.reward_token_id)
    with pytest.raises(CheckpointMismatchError, match=r"151666 rows, so the trained <\|Reward\|> row is 151665, but "
                       r"the base tokenizer gives <\|Reward\|> id 151666 \(a base whose tokenizer differs"):
        plan_conversion(_official_shapes(released), _target_shapes(converted), released.reward_token_id + 1)


@pytest.mark.parametrize("reward_token_id", [151664, 0])  # rows that exist but were never trained as <|Reward|>
def test_a_reward_token_id_that_is_not_the_last_row_is_refused(released, converted, reward_token_id):
    official = _official_shapes(released)
    with pytest.raises(CheckpointMismatchError, match=rf"trained <\|Reward\|> row is 151665, but the base tokenizer "
                       rf"gives <\|Reward\|> id {reward_token_id} .*--base the model this checkpoint was fine-tuned"):
        plan_conversion(official, _target_shapes(converted), reward_token_id)


def test_a_bad_checkpoint_fails_before_anything_is_written(released, tmp_path):
    from safetensors.torch import load_file, save_file

    weights = load_file(released.checkpoint / "model.safetensors")
    weights.pop("rm_heads.head_0.0.weight")
    save_file(weights | {"value_head.weight": torch.zeros(1, 64)}, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointMismatchError, match=r"value_head\.weight.*heads\.instruction_following\.0\.weight"):
        convert_official_checkpoint(tmp_path, released.base, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_legacy_layout_in_a_pth_converts_to_the_same_weights(released, converted, tmp_path):
    path = save_official_checkpoint(released.model, tmp_path / "legacy", layout="legacy", file_format="pth")
    keys = torch.load(path, weights_only=True).keys()
    assert "visual.merger.mlp.0.weight" in keys and "model.layers.0.mlp.up_proj.weight" in keys
    out = convert_official_checkpoint(path.parent, released.base, tmp_path / "out", image_pixels=TINY_PIXELS)
    with safe_open(out / "model.safetensors", "pt") as legacy, safe_open(converted / "model.safetensors", "pt") as ours:
        assert set(legacy.keys()) == set(ours.keys())
        assert all(torch.equal(legacy.get_tensor(key), ours.get_tensor(key)) for key in ours.keys())


class _RunsCodeWhenUnpickled:
    def __reduce__(self):
        return (print, ("CODE RAN WHILE LOADING",))


def test_pth_is_loaded_with_weights_only(released, tmp_path, capsys):
    torch.save({"model.norm.weight": torch.ones(64), "trap": _RunsCodeWhenUnpickled()}, tmp_path / "model.pth")
    with pytest.raises(ValueError, match=r"model\.pth: torch\.load\(weights_only=True\) refused it"):
        convert_official_checkpoint(tmp_path, released.base, tmp_path / "out")
    assert "CODE RAN" not in capsys.readouterr().out


def test_hub_ids_download_the_weights_and_only_the_base_model_s_small_files(released, tmp_path, monkeypatch):
    import huggingface_hub

    calls = []

    def fake_snapshot_download(repo_id, allow_patterns=None, **kwargs):
        calls.append((repo_id, allow_patterns))
        return str({"TIGER-Lab/EditReward-tiny": released.checkpoint, "Qwen/tiny-base": released.base}[repo_id])

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    out = convert_official_checkpoint("TIGER-Lab/EditReward-tiny", "Qwen/tiny-base", tmp_path / "out",
                                      image_pixels=TINY_PIXELS)
    assert calls[0] == ("TIGER-Lab/EditReward-tiny", ["*.safetensors", "README.md"])
    assert calls[1][0] == "Qwen/tiny-base" and not any("safetensors" in p or "bin" in p for p in calls[1][1])
    card = (out / "README.md").read_text()
    assert "https://huggingface.co/TIGER-Lab/EditReward-tiny" in card and "base_model: Qwen/tiny-base" in card


def test_cli_convert_subcommand(released, tmp_path):
    parser = build_parser()
    out = tmp_path / "bf16"
    args = parser.parse_args(["convert", "--checkpoint", str(released.checkpoint), "--base", str(released.base),
                              "--out", str(out), "--dtype", "bfloat16"])
    assert args.handler(args) == 0
    assert json.loads((out / "config.json").read_text())["image_pixels"] == 200_704  # the released budget by default
    with safe_open(out / "model.safetensors", framework="pt") as weights:
        assert weights.get_tensor("model.language_model.layers.0.mlp.up_proj.weight").dtype == torch.bfloat16
        assert weights.get_tensor("heads.visual_quality.0.weight").dtype == torch.float32
    with pytest.raises(FileExistsError, match="not an empty folder"):
        args.handler(args)


def test_importing_the_convert_parser_loads_no_heavy_library():
    probe = ("import sys, argparse; from editreward.commands import convert; "
             "convert.register(argparse.ArgumentParser().add_subparsers()); "
             "print([m for m in ('torch', 'transformers', 'safetensors', 'huggingface_hub') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
