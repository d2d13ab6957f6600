"""Shared setup of `bench_scoring.py` and `bench_training.py`: photos, processor, model sizes and options.

Both benchmarks compare this package against the official way of running EditReward on the same weights: one
backbone pass per (edit, dimension) row, each re-encoding both images (`reference_pass`). The images are real photos
at the released pixel budget, 200,704 px = 448 x 448, i.e. 1,024 patches of 14 px and 256 visual tokens per image
after the 2 x 2 merge; the prompts are the released rubric prompts. `flop_model` predicts the speed-ups, `timing`
interleaves the sides and reports medians.
"""

import contextlib

from editreward.utils.environment import use_offline_environment

use_offline_environment(overwrite=False)  # before anything imports huggingface_hub or transformers

import torch  # noqa: E402
from PIL import Image, ImageFilter, ImageOps  # noqa: E402

from editreward.modeling_editreward.configuration_editreward import DEFAULT_IMAGE_PIXELS  # noqa: E402

PIXELS = DEFAULT_IMAGE_PIXELS  # 448 x 448: 32 x 32 = 1,024 patches, 256 visual tokens after the 2 x 2 merge
FAMILIES = ("qwen2_5_vl", "qwen3_vl")


def image_cost(config) -> tuple[int, int]:
    """(patches, visual tokens) of one 448 x 448 image (the budget) for a backbone config's patch and merge:
    (1,024, 256) for Qwen2.5-VL's 14-pixel patches, (784, 196) for Qwen3-VL's 16-pixel ones."""
    vision = config.vision_config
    patches = PIXELS // vision.patch_size**2
    return patches, patches // vision.spatial_merge_size**2

# Square sources of different sizes, each of which resizes to exactly 448 x 448 at the budget, so that every image
# costs what the issue specifies (other aspect ratios give fewer tokens; so do sides 600 and 768, which Qwen's
# smart_resize floors to 420 x 420 = 225 tokens through a rounding error).
PHOTO_SIDES = {"astronaut": 512, "coffee": 800, "chelsea": 300, "rocket": 640}
INSTRUCTIONS = {
    "astronaut": "make the photo black and white",
    "coffee": "mirror the scene from left to right",
    "chelsea": "blur the background a little",
    "rocket": "turn the picture upside down",
}

# Backbone sizes (arguments of editreward.offline.backbone_config, plus the vision MLP width).
# "small" keeps the 7B model's proportions at a size a CPU can run: head_dim 128, GQA and MLP ratio 5.3 in the
# language model, MLP ratio 2.7 in the vision tower, and the vision encoding of two images 0.22 of one ~925-token
# row's linear-layer FLOPs (0.22 for the 7B model too). One layer of width 1024: proportions do not depend on depth,
# and the width keeps attention's share of the language model nearer the 7B's (0.10 against 0.03; 0.20 at width
# 512), which matters because shared-prefix packing trades linear work for attention over longer rows.
SIZES = {
    "tiny": dict(preset="tiny", overrides={}, vision_ffn=None),
    "small": dict(
        preset="small",
        overrides=dict(hidden=1024, layers=1, heads=8, kv_heads=1, ffn=5416, vision_hidden=192, vision_depth=3,
                       vision_heads=2),  # fmt: skip
        vision_ffn=512,
    ),
}
QWEN25_VL_7B = dict(
    overrides=dict(hidden=3584, layers=28, heads=28, kv_heads=4, ffn=18944, vision_hidden=1280, vision_depth=32,
                   vision_heads=16),  # fmt: skip
    vision_ffn=3420,
)
QWEN3_VL_8B = dict(  # Qwen/Qwen3-VL-8B-Instruct's config.json
    overrides=dict(hidden=4096, layers=36, heads=32, kv_heads=8, ffn=12288, vision_hidden=1152, vision_depth=27,
                   vision_heads=16),  # fmt: skip
    vision_ffn=4304,
)
FULL_SIZE = {"qwen2_5_vl": ("Qwen2.5-VL-7B", QWEN25_VL_7B), "qwen3_vl": ("Qwen3-VL-8B", QWEN3_VL_8B)}


def full_size_config(tokenizer, family: str = "qwen2_5_vl"):
    """The backbone config of Qwen2.5-VL-7B or Qwen3-VL-8B (random weights; FLOP counts and the GPU check)."""
    from editreward.offline import backbone_config

    spec = FULL_SIZE[family][1]
    config = backbone_config(tokenizer, "small", family=family, **spec["overrides"])
    config.vision_config.intermediate_size = spec["vision_ffn"]
    if family == "qwen2_5_vl":
        config.vision_config.fullatt_block_indexes = [7, 15, 23, 31]
    else:
        config.vision_config.deepstack_visual_indexes = [8, 16, 24]
        config.vision_config.num_position_embeddings = 2304
    return config


@contextlib.contextmanager
def overridden(obj, **fields):
    """`obj`'s attributes set to `fields` for a while (the benchmarks' sides share one model: its config's input
    format, packed attention, or its language model's attention implementation), restored after."""
    previous = {name: getattr(obj, name) for name in fields}
    for name, value in fields.items():
        setattr(obj, name, value)
    try:
        yield
    finally:
        for name, value in previous.items():
            setattr(obj, name, value)


def set_threads(threads: int) -> int:
    """One intra-op thread is the default: on a loaded 2-core machine a second thread waits for a time slice at
    every parallel op, which made the vision tower 18x and a language-model row 3.5x slower and timings erratic;
    one thread is steady."""
    torch.set_num_threads(threads)
    return torch.get_num_threads()


def add_common_arguments(parser, repeats: int):
    parser.add_argument("--repeats", type=int, default=repeats, help="timed repetitions per side (after 1 warm-up)")
    parser.add_argument("--size", choices=sorted(SIZES), default="small", help="backbone size (default: small)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default: 1, see set_threads)")
    parser.add_argument("--position-mode", choices=("mrope", "sequential"), default="mrope",
                        help="rope positions: mrope (the model's default) or sequential (the released checkpoints)")
    parser.add_argument("--family", choices=FAMILIES, default="qwen2_5_vl",
                        help="backbone family (default: qwen2_5_vl)")
    return parser



def build_processor(family: str = "qwen2_5_vl", input_format: str = "per_dimension"):
    """The family's real tokenizer and chat template, the released rubric prompts (or, `input_format="compact"`, the
    compact format's default prompt), 200,704 px per image."""
    from editreward import EditRewardProcessor
    from editreward.offline import chat_template_for, image_processor, tokenizer_for

    return EditRewardProcessor(image_processor=image_processor(PIXELS, family=family), tokenizer=tokenizer_for(family),
                               chat_template=chat_template_for(family), image_pixels=PIXELS,
                               input_format=input_format)  # fmt: skip


def vlm_config(tokenizer, size: str, family: str = "qwen2_5_vl"):
    """The backbone config of a size in SIZES, or the family's full size (`"full"`, for FLOP counts only)."""
    from editreward.offline import backbone_config

    if size == "full":
        return full_size_config(tokenizer, family)
    spec = SIZES[size]
    config = backbone_config(tokenizer, spec["preset"], family=family, **spec["overrides"])
    if spec["vision_ffn"]:
        config.vision_config.intermediate_size = spec["vision_ffn"]
    return config


def build_model(processor, size: str, seed: int = 0, family: str = "qwen2_5_vl", **config_kwargs):
    """A random EditRewardModel of a preset size that agrees with `processor`, in eval mode, float32."""
    from editreward import EditRewardConfig, EditRewardModel

    torch.manual_seed(seed)
    config = EditRewardConfig.from_processor(processor, vlm_config(processor.tokenizer, size, family), **config_kwargs)
    return EditRewardModel(config).eval()


def photo(name: str) -> Image.Image:
    """A scikit-image sample photo as a square RGB image of its PHOTO_SIDES side."""
    from skimage import data

    from editreward.modeling_editreward.images_editreward import target_size
    from editreward.offline import image_processor

    image = Image.fromarray(getattr(data, name)()).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    square = image.crop((left, top, left + side, top + side))
    square = square.resize((PHOTO_SIDES[name],) * 2, Image.Resampling.BICUBIC)
    vision = image_processor(PIXELS)
    if target_size(*square.size, PIXELS, vision.patch_size * vision.merge_size) != (448, 448):
        raise ValueError(f"{name} at {square.size} does not resize to 448 x 448 (256 visual tokens); change its side.")
    return square


def edits_of(image: Image.Image) -> list[Image.Image]:
    """Four distinct programmatic edits of a photo (same size as the photo)."""
    return [ImageOps.grayscale(image).convert("RGB"), ImageOps.mirror(image),
            image.filter(ImageFilter.GaussianBlur(3)), ImageOps.flip(image)]  # fmt: skip
