"""Shared setup of `bench_scoring.py` and `bench_training.py`: processor, model sizes, photos, the reference-style
backbone pass, compute shares and interleaved timing.

Both benchmarks compare this package against the official way of running EditReward on the same weights: one
backbone pass per (edit, dimension) row, each re-encoding both images (SPEC sections 2 and 7). The images are real
photos at the released pixel budget, 200,704 px = 448 x 448, i.e. 1,024 patches of 14 px and 256 visual tokens per
image after the 2 x 2 merge; the prompts are the released rubric prompts. Timings interleave the sides (A B A B ...)
and report medians, so that load from other processes on the machine hits both sides alike.
"""

import os
import platform
import statistics
import time
from dataclasses import dataclass

for _name, _value in dict(HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1", TRANSFORMERS_OFFLINE="1",
                          HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false").items():  # fmt: skip
    os.environ.setdefault(_name, _value)

import torch  # noqa: E402
from PIL import Image, ImageFilter, ImageOps  # noqa: E402

PIXELS = 200_704  # 448 x 448: 32 x 32 = 1,024 patches, 256 visual tokens after the 2 x 2 merge
PATCHES_PER_IMAGE = 1024
TOKENS_PER_IMAGE = 256

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
    return parser


# ---------------------------------------------------------------------------------------------------------------
# Processor, models, photos
# ---------------------------------------------------------------------------------------------------------------


def build_processor():
    """The real Qwen2.5 tokenizer and chat template, the released rubric prompts, 200,704 px per image."""
    from editreward import EditRewardProcessor
    from editreward.offline import image_processor, qwen25_tokenizer, qwen25_vl_chat_template

    return EditRewardProcessor(image_processor=image_processor(PIXELS), tokenizer=qwen25_tokenizer(),
                               chat_template=qwen25_vl_chat_template(), image_pixels=PIXELS)  # fmt: skip


def vlm_config(tokenizer, size: str):
    """The backbone config of a size in SIZES, or of Qwen2.5-VL-7B (`"7b"`, for FLOP counts only)."""
    from editreward.offline import backbone_config

    if size == "7b":
        config = backbone_config(tokenizer, "small", **QWEN25_VL_7B["overrides"])
        config.vision_config.intermediate_size = QWEN25_VL_7B["vision_ffn"]
        config.vision_config.fullatt_block_indexes = [7, 15, 23, 31]
        return config
    spec = SIZES[size]
    config = backbone_config(tokenizer, spec["preset"], **spec["overrides"])
    if spec["vision_ffn"]:
        config.vision_config.intermediate_size = spec["vision_ffn"]
    return config


def build_model(processor, size: str, seed: int = 0, **config_kwargs):
    """A random EditRewardModel of a preset size that agrees with `processor`, in eval mode, float32."""
    from editreward import EditRewardConfig, EditRewardModel

    torch.manual_seed(seed)
    config = EditRewardConfig(vlm_config=vlm_config(processor.tokenizer, size),
                              reward_token_id=processor.reward_token_id, image_pixels=PIXELS, **config_kwargs)
    return EditRewardModel(config).eval()


def photo(name: str) -> Image.Image:
    """A scikit-image sample photo as a square RGB image of its PHOTO_SIDES side."""
    from skimage import data

    from editreward.modeling_editreward.images_editreward import target_size

    image = Image.fromarray(getattr(data, name)()).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    square = image.crop((left, top, left + side, top + side))
    square = square.resize((PHOTO_SIDES[name],) * 2, Image.Resampling.BICUBIC)
    if target_size(*square.size, PIXELS) != (448, 448):
        raise ValueError(f"{name} at {square.size} does not resize to 448 x 448 (256 visual tokens); change its side.")
    return square


def edits_of(image: Image.Image) -> list[Image.Image]:
    """Four distinct programmatic edits of a photo (same size as the photo)."""
    return [ImageOps.grayscale(image).convert("RGB"), ImageOps.mirror(image),
            image.filter(ImageFilter.GaussianBlur(3)), ImageOps.flip(image)]  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# The reference-style pass: one row, both images re-encoded
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One (triplet, dimension) row as the official code feeds it: its tokens and its own two images."""

    dimension: str
    input_ids: torch.LongTensor  # [1, length], no padding
    pixel_values: torch.Tensor  # patches of the source, then the edited image
    image_grid_thw: torch.LongTensor  # [2, 3]


def split_rows(inputs, dimensions) -> list[Row]:
    """The rows of a processor batch, each with its own copy of its two images' patches (row = triplet * D + d)."""
    grids = inputs["image_grid_thw"]
    sizes = grids.prod(-1)
    starts = torch.cumsum(sizes, 0) - sizes
    rows = []
    for r in range(inputs["input_ids"].shape[0]):
        source, edited = inputs["image_index"][r // len(dimensions)].tolist()
        patches = torch.cat([inputs["pixel_values"][starts[i] : starts[i] + sizes[i]] for i in (source, edited)])
        length = int(inputs["attention_mask"][r].sum())
        rows.append(Row(dimensions[r % len(dimensions)], inputs["input_ids"][r : r + 1, :length], patches,
                        grids[[source, edited]]))  # fmt: skip
    return rows


def reference_row_output(model, row: Row) -> torch.Tensor:
    """`[mu, log_sigma]` of one row's head from its own backbone pass: the vision tower on the row's two images,
    the features scattered into the token embeddings (the reward token's trained vector in place), the language
    model on the one row with the positions the model uses (sequential or M-RoPE), the dimension's float32 head on
    the final hidden state at the reward token."""
    config, backbone = model.config, model.model
    ids = row.input_ids
    is_image = ids == config.vlm_config.image_token_id
    is_reward = ids == config.reward_token_id
    features = backbone.visual(row.pixel_values.to(backbone.visual.dtype), grid_thw=row.image_grid_thw).pooler_output
    embeds = backbone.get_input_embeddings()(ids.masked_fill(is_image | is_reward, 0))
    embeds = torch.where(is_reward.unsqueeze(-1), model.reward_token().to(embeds.dtype), embeds)
    embeds = embeds.masked_scatter(is_image.unsqueeze(-1), features.to(embeds.dtype))
    mask = torch.ones_like(ids)
    if config.position_mode == "sequential":
        positions = torch.arange(ids.shape[1], device=ids.device).expand(3, 1, -1)
    else:
        positions, _ = backbone.get_rope_index(ids, mm_token_type_ids=is_image.int(), image_grid_thw=row.image_grid_thw,
                                               attention_mask=mask)  # fmt: skip
    hidden = backbone.language_model(inputs_embeds=embeds, attention_mask=mask, position_ids=positions,
                                     use_cache=False).last_hidden_state  # fmt: skip
    head = model.heads[row.dimension]
    return head(hidden[is_reward].to(next(head.parameters()).dtype)).float()[0]


def reference_triplet_output(model, processor, source, instruction, edited) -> torch.Tensor:
    """[dimensions, 2] for one triplet, the official way: one backbone pass per dimension (fused mean: `.mean(0)`).
    The processor runs once per triplet (the official code preprocesses once per dimension, so this favours it)."""
    inputs = processor(source_images=[source], instructions=[instruction], edited_images=[edited])
    return torch.stack([reference_row_output(model, row) for row in split_rows(inputs, processor.dimensions)])


# ---------------------------------------------------------------------------------------------------------------
# Compute shares
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class FlopModel:
    """Forward FLOPs of a backbone: 2 x parameters x tokens for the linear layers, plus attention over the full
    square of each row (QK^T and AV, as SDPA computes them under a mask). Backward costs about twice the forward
    on both sides of a comparison, so forward ratios predict training ratios too."""

    vision_per_image: float  # blocks and patch embedding on 1,024 patches, merger on 256 tokens
    language_per_token: float  # 2 x language-model parameters without the embedding matrix
    attention_per_pair: float  # per (query, key) pair: 4 x attention width x layers
    language_params: int
    vision_params: int

    @classmethod
    def of(cls, config) -> "FlopModel":
        from transformers import Qwen2_5_VLModel

        with torch.device("meta"):
            backbone = Qwen2_5_VLModel._from_config(config)
        count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
        visual, language = backbone.visual, backbone.language_model
        text = config.text_config
        width = text.num_attention_heads * (text.hidden_size // text.num_attention_heads)
        language_params = count(language) - count(language.embed_tokens)
        return cls(
            vision_per_image=2 * (count(visual.blocks) + count(visual.patch_embed)) * PATCHES_PER_IMAGE
            + 2 * count(visual.merger) * TOKENS_PER_IMAGE,
            language_per_token=2 * language_params, attention_per_pair=4 * width * text.num_hidden_layers,
            language_params=language_params, vision_params=count(visual),
        )  # fmt: skip

    def forward(self, row_lengths: list[int], images: int) -> float:
        """FLOPs of a pass over rows of these (padded) lengths that encodes `images` images."""
        language = sum(self.language_per_token * n + self.attention_per_pair * n * n for n in row_lengths)
        return language + images * self.vision_per_image


def layouts(inputs, config) -> dict[str, tuple[list[int], int]]:
    """(row lengths the language model runs, images encoded) of each way to score a processor batch: `reference`
    (every row alone, two images each), `rows` (one padded batch, distinct images once) and `packed` (the model's
    shared-prefix rows, one per source image: prefix once, each edited image once, every rubric segment; padded).
    The model's rows end at the reward token (nothing after it can change its hidden state)."""
    dims = len(config.dimensions)
    lengths = inputs["attention_mask"].sum(-1).tolist()
    ends_at_reward = ((inputs["input_ids"] == config.reward_token_id).int().argmax(-1) + 1).tolist()
    vision_end = inputs["input_ids"] == config.vlm_config.vision_end_token_id
    ends = (vision_end.nonzero()[:, 1].view(-1, 2) + 1).tolist()
    packed = {}
    for row, ((prefix_end, edit_end), length) in enumerate(zip(ends, ends_at_reward)):
        source, edited = inputs["image_index"][row // dims].tolist()
        segments = packed.setdefault(source, {"prefix": prefix_end, "edits": {}, "rubrics": 0})
        segments["edits"][edited] = edit_end - prefix_end
        segments["rubrics"] += length - edit_end
    packed_lengths = [s["prefix"] + sum(s["edits"].values()) + s["rubrics"] for s in packed.values()]
    distinct = len(inputs["image_grid_thw"])
    return {
        "reference": (lengths, 2 * len(lengths)),
        "rows": ([max(ends_at_reward)] * len(lengths), distinct),
        "packed": ([max(packed_lengths)] * len(packed_lengths), distinct),
    }


def predicted_ratios(flops: FlopModel, inputs, config) -> dict[str, float]:
    """Reference FLOPs / each layout's FLOPs."""
    work = {name: flops.forward(*layout) for name, layout in layouts(inputs, config).items()}
    return {name: work["reference"] / value for name, value in work.items() if name != "reference"}


def measured_vision_share(model, row: Row, repeats: int) -> tuple[float, float]:
    """Median seconds of the vision tower on one row's two images and of the language model on that row
    (forward, no grad), timed interleaved."""
    backbone = model.model
    embeds = backbone.get_input_embeddings()(row.input_ids.clamp(max=backbone.config.text_config.vocab_size - 1))
    mask = torch.ones_like(row.input_ids)
    with torch.inference_mode():
        times = interleaved({
            "vision": lambda: backbone.visual(row.pixel_values, grid_thw=row.image_grid_thw),
            "language": lambda: backbone.language_model(inputs_embeds=embeds, attention_mask=mask, use_cache=False),
        }, repeats)  # fmt: skip
    return statistics.median(times["vision"]), statistics.median(times["language"])


def describe_config(model, processor, size: str, threads: int, tokens_per_row: list[int], share_repeats: int = 3):
    """Print what is measured: sizes, tokens, compute shares (this config's and the 7B model's), threads, versions.
    Returns the FLOP models of this config and of the 7B model."""
    import transformers

    text, vision = model.config.vlm_config.text_config, model.config.vlm_config.vision_config
    tokens = sum(tokens_per_row) / len(tokens_per_row)
    mine, full = FlopModel.of(model.config.vlm_config), FlopModel.of(vlm_config(processor.tokenizer, "7b"))
    vision_share = lambda f: 2 * f.vision_per_image / (f.language_per_token * tokens)  # noqa: E731
    attention_share = lambda f: f.attention_per_pair * tokens / f.language_per_token  # noqa: E731
    print(f"machine: {machine()}")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, threads {threads}, float32, "
          f"attention {model.model.language_model.config._attn_implementation}")  # fmt: skip
    print(f"config '{size}': language {text.num_hidden_layers} layers x {text.hidden_size} "
          f"(heads {text.num_attention_heads}/{text.num_key_value_heads} kv, MLP {text.intermediate_size}), "
          f"{mine.language_params / 1e6:.1f}M params without embeddings; vision {vision.depth} blocks x "
          f"{vision.hidden_size} (MLP {vision.intermediate_size}), {mine.vision_params / 1e6:.2f}M params; "
          f"position mode {model.config.position_mode}")  # fmt: skip
    print(f"inputs: {PIXELS:,} px per image = {PATCHES_PER_IMAGE:,} patches -> {TOKENS_PER_IMAGE} visual tokens; "
          f"released rubric prompts; tokens per (triplet, dimension) row {min(tokens_per_row)}-{max(tokens_per_row)}")
    print(f"vision share (2 images' encoding / one row's language model), linear-layer FLOPs: {vision_share(mine):.2f} "
          f"here, {vision_share(full):.2f} for Qwen2.5-VL-7B")  # fmt: skip
    print(f"attention / linear-layer FLOPs of the language model on one row: {attention_share(mine):.2f} here, "
          f"{attention_share(full):.2f} for the 7B model (attention grows with the square of a packed row's length, "
          "so a larger share here penalises shared-prefix packing)")  # fmt: skip
    row = split_rows(processor(source_images=[photo("astronaut")], instructions=[INSTRUCTIONS["astronaut"]],
                               edited_images=[edits_of(photo("astronaut"))[0]]), processor.dimensions)[0]  # fmt: skip
    vision_s, language_s = measured_vision_share(model, row, share_repeats)
    print(f"vision share measured here (forward time): {vision_s / language_s:.2f} "
          f"({vision_s * 1e3:.0f} ms / {language_s * 1e3:.0f} ms; attention and elementwise work, which the FLOP "
          "count leaves out, weigh more at these widths than at 7B)")  # fmt: skip
    return mine, full


# ---------------------------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------------------------


def interleaved(sides: dict, repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds of each repetition of each side, run A B C A B C ... after `warmup` untimed rounds."""
    times = {name: [] for name in sides}
    for round_ in range(warmup + repeats):
        for name, run in sides.items():
            start = time.perf_counter()
            run()
            elapsed = time.perf_counter() - start
            if round_ >= warmup:
                times[name].append(elapsed)
    return times


def spread(seconds: list[float], scale: float = 1.0, unit: str = "s") -> str:
    """`median (min-max)` of a list of timings."""
    median, low, high = (f"{v:.0f}" if v >= 100 else f"{v:.3g}" for v in
                         (statistics.median(seconds) * scale, min(seconds) * scale, max(seconds) * scale))
    return f"{median} {unit} ({low}-{high})"


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    system = f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"
    return f"{model}, {os.cpu_count()} cores, {system}"


def load_average() -> str:
    try:
        return " ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "n/a"
