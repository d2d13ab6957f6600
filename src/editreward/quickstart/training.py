"""The quickstart's model and its training: a small Qwen2.5-VL (or Qwen3-VL) backbone from random initialisation, the
family's real tokenizer offline, trained with `EditRewardTrainer` for the recipe's fixed number of steps."""

import math
from pathlib import Path

from .recipe import MODEL_RECIPE, QUICKSTART_COMPACT_PROMPT, QUICKSTART_PROMPTS


def build_processor(image_pixels: int = MODEL_RECIPE["image_pixels"],
                    edited_image_frames: str = MODEL_RECIPE["edited_image_frames"],
                    patch_size: int = MODEL_RECIPE["patch_size"], family: str = "qwen2_5_vl",
                    input_format: str = MODEL_RECIPE["input_format"]):  # fmt: skip
    """The processor: the family's real tokenizer and chat template, offline, with the short prompts (one row per
    dimension, or the compact format's one row per triplet)."""
    from ..modeling_editreward import EditRewardProcessor
    from ..offline import chat_template_for, image_processor, tokenizer_for

    return EditRewardProcessor(
        image_processor(image_pixels, patch_size, family), tokenizer_for(family),
        chat_template=chat_template_for(family),
        rubric_prompts=QUICKSTART_PROMPTS, image_pixels=image_pixels, edited_image_frames=edited_image_frames,
        input_format=input_format, compact_prompt=QUICKSTART_COMPACT_PROMPT,
    )  # fmt: skip


def build_model(seed: int = 0, recipe: dict = MODEL_RECIPE, family: str = "qwen2_5_vl"):
    """A randomly initialised EditReward model on a small Qwen2.5-VL (or `family="qwen3_vl"`: Qwen3-VL) backbone, and
    its processor."""
    import torch

    from ..modeling_editreward import EditRewardConfig, EditRewardModel
    from ..offline import backbone_config

    processor = build_processor(recipe["image_pixels"], recipe["edited_image_frames"], recipe["patch_size"], family,
                                recipe.get("input_format", "per_dimension"))  # fmt: skip
    backbone = backbone_config(processor.tokenizer, initializer_range=recipe["initializer_range"],
                               patch_size=recipe["patch_size"], family=family, **recipe["backbone"])  # fmt: skip
    config = EditRewardConfig.from_processor(processor, backbone, head_hidden_sizes=recipe["head_hidden_sizes"],
                                             position_mode=recipe["position_mode"])  # fmt: skip
    torch.manual_seed(seed)
    return EditRewardModel(config), processor


def describe_model(model) -> str:
    trainable = sum(p.numel() for n, p in model.named_parameters() if "embed_tokens" not in n)
    text, vision = model.config.vlm_config.text_config, model.config.vlm_config.vision_config
    return (
        f"{model.config.backbone_family.title} backbone from random init: language model "
        f"{text.num_hidden_layers} layers x {text.hidden_size} "
        f"({text.num_attention_heads} heads), vision tower {vision.depth} blocks x {vision.hidden_size}; "
        f"{trainable / 1e6:.2f}M trained parameters (plus the frozen {text.vocab_size:,}-token embedding matrix); "
        f"images at {math.isqrt(model.config.image_pixels)} px square "
        f"({model.config.image_pixels // model.config.patch_group**2} visual tokens each)"
    )


def train(model, processor, train_split, output_dir: Path, recipe: dict, *, seed: int, progress: bool = True) -> int:
    """Train with `EditRewardTrainer` for the recipe's `max_steps` (the Trainer's progress bar shows the ETA); returns
    the steps taken."""
    from ..trainer import EditRewardTrainer, EditRewardTrainingArguments

    settings = dict(
        logging_steps=max(4, recipe["max_steps"] // 20), report_to="none", save_strategy="no",
        activation_checkpointing=False, seed=seed, data_seed=seed, disable_tqdm=not progress,
        dataloader_num_workers=0, dataloader_pin_memory=False,
    )  # fmt: skip
    args = EditRewardTrainingArguments(output_dir=str(output_dir), **{**settings, **recipe})
    trainer = EditRewardTrainer(model=model, args=args, train_dataset=train_split, processing_class=processor)
    trainer.train()
    model.eval()
    return trainer.state.global_step
