"""A learning test that can fail: a tiny model learns instruction-dependent preferences on unseen photos."""

import datasets
import numpy as np
import torch
from PIL import Image

from editreward import EditRewardConfig, EditRewardModel, EditRewardScorer
from editreward.offline import backbone_config
from editreward.trainer import EditRewardTrainer, EditRewardTrainingArguments, pair_features

EDITS = {
    "make it black and white": lambda p: p.convert("L").convert("RGB"),
    "mirror it left to right": lambda p: p.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
}
TRAIN_PHOTOS, HELD_OUT_PHOTOS = ("astronaut", "rocket", "coffee", "hubble_deep_field"), ("chelsea", "retina")


def crops(name, count, rng, size=64):
    from skimage import data

    image = Image.fromarray(getattr(data, name)()).convert("RGB")
    out = []
    for _ in range(count):
        side = int(min(image.size) * rng.uniform(0.4, 1.0))
        x, y = rng.integers(0, image.width - side + 1), rng.integers(0, image.height - side + 1)
        out.append(image.crop((x, y, x + side, y + side)).resize((size, size), Image.Resampling.BICUBIC))
    return out


def instruction_dependent_pairs(photos):
    """Every edit is chosen under its own instruction and rejected under each other one."""
    return [
        dict(source=p, instruction=instruction, chosen=edit(p), rejected=other(p),
             chosen_scores=[4, 4], rejected_scores=[1, 4], tie=False)
        for p in photos for instruction, edit in EDITS.items() for other_instruction, other in EDITS.items()
        if other_instruction != instruction
    ]  # fmt: skip


def held_out_accuracy(model, processor, rows):
    scorer = EditRewardScorer(model, processor, batch_size=16, device="cpu")
    sources, instructions = [r["source"] for r in rows], [r["instruction"] for r in rows]
    chosen = scorer(sources, instructions, [r["chosen"] for r in rows]).score
    rejected = scorer(sources, instructions, [r["rejected"] for r in rows]).score
    return float(np.mean(chosen > rejected))


def test_tiny_model_learns_which_edit_the_instruction_asks_for(tokenizer, short_processor, tmp_path, seed=0):
    """Each edited image is right under one instruction and wrong under the other, so a model that ignores the
    instruction stays at 0.5. Measured: held-out accuracy 1.0 after 200 steps for seeds 0, 1 and 2 (loss
    0.64 -> 0.05-0.11); a model with Qwen's default init scale (0.02) sat at loss 0.693 for 1,000 steps."""
    rng = np.random.default_rng(seed)
    train = instruction_dependent_pairs([c for name in TRAIN_PHOTOS for c in crops(name, 6, rng)])
    held_out = instruction_dependent_pairs([c for name in HELD_OUT_PHOTOS for c in crops(name, 4, rng)])
    torch.manual_seed(seed)
    config = EditRewardConfig(
        vlm_config=backbone_config(tokenizer, initializer_range=0.2), rubric_prompts=short_processor.rubric_prompts,
        reward_token_id=short_processor.reward_token_id, image_pixels=short_processor.image_pixels,
    )
    model = EditRewardModel(config)
    assert held_out_accuracy(model.eval(), short_processor, held_out) < 0.75  # untrained: near chance
    args = EditRewardTrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=4, max_steps=200, learning_rate=1e-3,
        lr_scheduler_type="constant", logging_steps=40, report_to="none", save_strategy="no",
        gradient_checkpointing=False, loss="bradley_terry", seed=seed, disable_tqdm=True,
    )
    trainer = EditRewardTrainer(model=model, args=args, processing_class=short_processor,
                                train_dataset=datasets.Dataset.from_list(train, features=pair_features()))
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert losses[-1] < 0.5 * losses[0]
    assert held_out_accuracy(trainer.model.eval(), short_processor, held_out) >= 0.8  # chance is 0.5


def test_tiny_qwen3_vl_model_learns_which_edit_the_instruction_asks_for(make_qwen3_processor, make_qwen3_model,
                                                                       tmp_path, seed=0):  # fmt: skip
    """The same task on a tiny random Qwen3-VL (DeepStack, interleaved M-RoPE, 32-pixel patch groups: 4 visual
    tokens per 64 x 64 photo), full training through the same trainer and scorer. Measured: seed 0 held-out
    accuracy 1.0 after 150 steps (loss 0.70 -> 0.14); seed 1 is slower (loss 0.39 at 150 steps, 0.24 and accuracy
    1.0 at 250); seed 2's untrained model already scores 0.81 on these 16 held-out pairs, so its precondition fails."""
    from conftest import SHORT_PROMPTS

    processor = make_qwen3_processor(pixels=64 * 64, rubric_prompts=SHORT_PROMPTS)
    rng = np.random.default_rng(seed)
    train = instruction_dependent_pairs([c for name in TRAIN_PHOTOS for c in crops(name, 6, rng)])
    held_out = instruction_dependent_pairs([c for name in HELD_OUT_PHOTOS for c in crops(name, 4, rng)])
    model = make_qwen3_model(processor, seed=seed, initializer_range=0.2)
    assert held_out_accuracy(model, processor, held_out) < 0.75  # untrained: near chance
    args = EditRewardTrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=4, max_steps=150, learning_rate=1e-3,
        lr_scheduler_type="constant", logging_steps=30, report_to="none", save_strategy="no",
        gradient_checkpointing=False, loss="bradley_terry", seed=seed, disable_tqdm=True,
    )
    trainer = EditRewardTrainer(model=model.train(), args=args, processing_class=processor,
                                train_dataset=datasets.Dataset.from_list(train, features=pair_features()))
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert losses[-1] < 0.5 * losses[0]
    assert held_out_accuracy(trainer.model.eval(), processor, held_out) >= 0.8  # chance is 0.5
