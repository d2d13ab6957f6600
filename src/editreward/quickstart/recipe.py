"""The quickstart's recipe: the one place its settings live (the model card's training section is generated from it).

Each choice is explained where it is made, with the measurement that decided it.
"""

# Short rubric prompts: the released rubrics are about 400 tokens of English per row that a model trained from scratch
# cannot read and that would cost most of each row's compute; the instruction is what it has to read.
QUICKSTART_PROMPTS = {
    "instruction_following": "Instruction following. {text_prompt}",
    "visual_quality": "Visual quality. {text_prompt}",
}

# The model: the "tiny" Qwen2.5-VL preset of `offline.backbone_config` from random initialisation, images at 56x56 px
# cut into 7-pixel patches (16 visual tokens each after the 2x2 merge) and a linear head per dimension. Four choices
# make it learn from scratch in minutes (measured on the 2-core machine, 8 minutes of training, held-out photos):
# - `edited_image_frames="source_then_edited"`: the edited image's two temporal frames are the source and the edit,
#   so the patch embedding sees both at every pixel. With the still-image encoding the language model must match
#   tokens of two separately encoded images: 3-minute runs stayed at 0.48-0.52 held-out, learning only brightness
#   and colour edits (the 8-minute runs with both frames reach about 0.7; not compared at equal length).
# - `patch_size=7` (Qwen's 14): the 32-wide patch embedding of a 7x7x2 patch keeps the pixel-level detail that noise
#   and JPEG blocking live in. Trained on right-vs-degraded pairs alone for 1,600 steps, visual quality on held-out
#   photos reached 0.83 with 7-pixel patches and stayed at 0.54 with 14-pixel ones (pointwise plus ranking loss).
# - `initializer_range=0.2` (Qwen's 0.02 is for pretrained-size models): at 0.02 attention starts flat, the frozen
#   random token embeddings are faint in the residual stream, and the loss sits at its starting value for thousands
#   of steps; at 0.2 the model learns, after a plateau of about 4,000 steps.
# - `position_mode="sequential"` (the released models' 1-D positions): with M-RoPE and rope_theta 1e6 at head size 16
#   the height and width axes get rotary frequencies of 1e-3 to 1e-5 per step, so the language model cannot tell
#   where in the image grid a visual token is.
MODEL_RECIPE = {
    "backbone": dict(hidden=64, layers=2, heads=4, kv_heads=2, ffn=128, vision_hidden=32, vision_depth=2,
                     vision_heads=2),
    "initializer_range": 0.2,
    "image_pixels": 56 * 56,
    "head_hidden_sizes": [],
    "position_mode": "sequential",
    "edited_image_frames": "source_then_edited",
    "patch_size": 7,
    "input_format": "per_dimension",
}  # fmt: skip

# The compact single-pass format (`editreward quickstart --input-format compact`): one row per triplet, the two
# dimensions' names after the instruction, one reward token each (the short prompts' words, in one row).
QUICKSTART_COMPACT_PROMPT = "{text_prompt}\nInstruction following. <|Reward|>\nVisual quality. <|Reward|>"

# `EditRewardTrainingArguments` of the full run. The pointwise loss (squared error of each head's mean on its human
# score) gives every image a target per dimension; a pairwise loss only says which of two is better. The ranking term
# (`pointwise_ranking_weight`) also ranks each head's means wherever a pair's scores differ in its dimension: it
# learns relative cues the regression learns slowly (held-out visual quality on right-vs-degraded pairs 0.83 with it,
# 0.68 without, in the same 1,600-step runs). At learning rate 3e-3 the model collapses to a constant score.
# `max_steps` is a fixed count, so that a seed gives the same model on any machine (about the 7,045 steps the earlier
# 7.5-minute time budget reached on the 2-core machine). Seed 0 there: 0.711 held-out, 0.834 without ties, in 7.4
# minutes of training, 8.1 in all.
TRAINING_RECIPE = {
    "loss": "pointwise",
    "pointwise_ranking_weight": 1.0,
    "tie_mode": "both_orders",
    "learning_rate": 1e-3,
    "lr_scheduler_type": "cosine",
    "warmup_steps": 100,
    "per_device_train_batch_size": 8,
    "max_steps": 7000,
    "weight_decay": 0.0,
}

# The data set of the full run: many sources, since the model memorises a few hundred (train pair accuracy 0.73,
# held-out 0.51 with 119 photos and scenes); at the model's 56 px.
DATA_RECIPE = {"image_size": 56, "crops_per_photo": 60, "num_scenes": 800}

# Fast mode (the test suite): the same code path on `FAST_OPTIONS` data and a few steps.
FAST_TRAINING = {"max_steps": 12, "warmup_steps": 2}
