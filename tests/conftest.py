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


def packed_and_flat(model, inputs, parameters) -> dict[bool, tuple]:
    """For shared-prefix packing on (True) and off (False): mu, log sigma and the gradients of sum(mu) with respect
    to `parameters(model)`, the model in training mode without dropout (gradients must pass the shared segments)."""
    import torch

    model.train()
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    results = {}
    for share in (True, False):
        model.config.share_prefix = share
        model.zero_grad()
        out = model(**inputs)
        out.mu.sum().backward()
        results[share] = (out.mu.detach(), out.log_sigma.detach(), *(p.grad.clone() for p in parameters(model)))
    return results


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


# Short rubric prompts and small images: the trainer tests' models (a few tokens of prompt per row).
SHORT_PROMPTS = {
    "instruction_following": "Does the edit follow the instruction: {text_prompt}",
    "visual_quality": "How good does the edited image look after: {text_prompt}",
}
SHORT_PIXELS = 56 * 56


@pytest.fixture(scope="session")
def short_processor(make_processor):
    return make_processor(pixels=SHORT_PIXELS, rubric_prompts=SHORT_PROMPTS)


@pytest.fixture(scope="session")
def make_short_model(make_model):
    """Factory of tiny random models that agree with `short_processor`."""
    return lambda seed=0: make_model(seed=seed, rubric_prompts=SHORT_PROMPTS, image_pixels=SHORT_PIXELS)


@pytest.fixture(scope="session")
def instruction_pairs(photos):
    """`instruction_pairs(names)`: grayscale vs mirror edits of each photo, right under one instruction and wrong
    under the other, as a pair dataset."""
    import datasets

    from editreward.trainer import pair_features

    def build(names):
        rows = []
        for name in names:
            p = photos[name]
            gray, mirror = p.convert("L").convert("RGB"), p.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            rows.append(dict(source=p, instruction="make it black and white", chosen=gray, rejected=mirror,
                             chosen_scores=[4, 4], rejected_scores=[1, 4], tie=False))
            rows.append(dict(source=p, instruction="mirror it left to right", chosen=mirror, rejected=gray,
                             chosen_scores=[4, 4], rejected_scores=[1, 4], tie=False))
        return datasets.Dataset.from_list(rows, features=pair_features())

    return build


# Qwen3-VL: the same fixtures on a tiny random Qwen3-VL (patch 16: 32 x 32 px per visual token; DeepStack into the
# first two of three decoder layers) with Qwen3-VL's tokenizer and chat template.
QWEN3_PIXELS = 128 * 128  # 16 visual tokens per square image
QWEN3_SIZE = dict(layers=3, vision_depth=3)


@pytest.fixture(scope="session")
def make_qwen3_processor():
    from editreward import EditRewardProcessor
    from editreward.offline import image_processor, qwen3_vl_chat_template, qwen3_vl_tokenizer

    tokenizer = qwen3_vl_tokenizer()

    def make(pixels: int = QWEN3_PIXELS, **kwargs):
        return EditRewardProcessor(
            image_processor=image_processor(pixels, family="qwen3_vl"), tokenizer=tokenizer,
            chat_template=qwen3_vl_chat_template(), image_pixels=pixels, **kwargs,
        )

    return make


@pytest.fixture(scope="session")
def qwen3_processor(make_qwen3_processor):
    return make_qwen3_processor()


@pytest.fixture(scope="session")
def make_qwen3_model():
    """`make(processor, seed, **config)`: a tiny random Qwen3-VL EditReward model (seeded) that agrees with it."""
    import torch

    from editreward import EditRewardConfig, EditRewardModel
    from editreward.offline import backbone_config

    def make(processor, seed: int = 0, initializer_range: float = 0.02, **config_kwargs):
        torch.manual_seed(seed)
        vlm_config = backbone_config(processor.tokenizer, family="qwen3_vl", initializer_range=initializer_range,
                                     **QWEN3_SIZE)  # fmt: skip
        return EditRewardModel(EditRewardConfig.from_processor(processor, vlm_config, **config_kwargs)).eval()

    return make
