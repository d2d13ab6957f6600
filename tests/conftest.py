"""Offline, isolated test environment and shared tiny EditReward models built from the real Qwen2.5 tokenizer."""

import os
import tempfile

_HF_HOME = tempfile.mkdtemp(prefix="editreward-hf-home-")
os.environ["HF_HOME"] = _HF_HOME

from editreward.utils.environment import use_offline_environment  # noqa: E402

use_offline_environment()

import pytest  # noqa: E402
from PIL import Image  # noqa: E402

TINY_PIXELS = 112 * 112  # 16 visual tokens per image


def photo(name: str, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A real scikit-image sample photo as an RGB PIL image of `size`."""
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB").resize(size, Image.Resampling.BICUBIC)


@pytest.fixture(scope="session")
def tokenizer():
    from editreward.offline import qwen25_tokenizer

    return qwen25_tokenizer()


@pytest.fixture(scope="session")
def make_processor(tokenizer):
    from editreward import EditRewardProcessor
    from editreward.offline import image_processor, qwen25_vl_chat_template

    def make(pixels: int = TINY_PIXELS, **kwargs):
        return EditRewardProcessor(
            image_processor=image_processor(pixels), tokenizer=tokenizer, chat_template=qwen25_vl_chat_template(),
            image_pixels=pixels, **kwargs,
        )

    return make


@pytest.fixture(scope="session")
def processor(make_processor):
    return make_processor()


@pytest.fixture(scope="session")
def make_model(tokenizer, processor):
    """Factory of tiny random EditReward models (seeded) that agree with `processor`."""
    import torch

    from editreward import EditRewardConfig, EditRewardModel
    from editreward.offline import backbone_config

    def make(seed: int = 0, **config_kwargs):
        torch.manual_seed(seed)
        config_kwargs.setdefault("image_pixels", processor.image_pixels)
        config = EditRewardConfig(
            vlm_config=backbone_config(tokenizer), reward_token_id=processor.reward_token_id, **config_kwargs
        )
        return EditRewardModel(config).eval()

    return make


@pytest.fixture(scope="session")
def saved_model_dir(make_model, processor, tmp_path_factory):
    """A tiny model and its processor saved with save_pretrained (weights, config, processor, code files)."""
    path = tmp_path_factory.mktemp("tiny-editreward")
    make_model(seed=1).save_pretrained(path)
    processor.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def run_command():
    """Run one `editreward` command on the real parser, without main()'s error printing (errors raise)."""
    from editreward.cli import build_parser

    def run(argv: list[str]) -> int:
        args = build_parser().parse_args(argv)
        return args.handler(args)

    return run


@pytest.fixture(scope="session")
def photos():
    return {name: photo(name) for name in ("astronaut", "coffee", "chelsea", "rocket")}
