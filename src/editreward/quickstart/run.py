"""The quickstart: the package's whole job, offline and small, in one call (`editreward quickstart`).

1. builds the edit-preference data set from real photos (`edit_dataset`) and saves it;
2. trains a small EditReward model from random initialisation (a small Qwen2.5-VL, the real Qwen2.5 tokenizer)
   with `EditRewardTrainer`;
3. evaluates it on the held-out photos with `evaluate.load("editreward_accuracy")`, overall, per edit family and
   per kind of rejected edit, and prints the table, then each dimension's estimated score per kind of edit beside
   the human score (what the model learned, and what it did not);
4. saves a Hub-ready folder (weights, config, processor, code files, results.json, model card) and scores a held-out
   triplet with it in a fresh Python process through `AutoModel.from_pretrained(folder, trust_remote_code=True)`.

Output layout, under ``output_dir``::

    dataset/            the data set (`DatasetDict.save_to_disk`)
    model/              the Hub-ready folder: model.safetensors, config.json, processor files, *_editreward.py,
                        results.json, README.md
    example/            one held-out triplet (source.png, chosen.png, rejected.png, instruction.txt) and
                        score_example.py, the script the fresh process runs
    trainer/            the Trainer's output directory (logs; no checkpoints are kept)

The recipe (`MODEL_RECIPE`, `TRAINING_RECIPE`) is the one place the quickstart's settings live; the model card's
training section is generated from it.
"""

import importlib.util
import inspect
import math
import os
import time
from pathlib import Path

OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_EVALUATE_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false",
}  # fmt: skip

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
}  # fmt: skip

# `EditRewardTrainingArguments` of the full run. The pointwise loss (squared error of each head's mean on its human
# score) gives every image a target per dimension; a pairwise loss only says which of two is better. The ranking term
# (`pointwise_ranking_weight`) also ranks each head's means wherever a pair's scores differ in its dimension: it
# learns relative cues the regression learns slowly (held-out visual quality on right-vs-degraded pairs 0.83 with it,
# 0.68 without, in the same 1,600-step runs). At learning rate 3e-3 the model collapses to a constant score.
# `max_steps` is about what 8 minutes allow here, so the cosine schedule ends near the deadline;
# `editreward quickstart` also stops training at DEFAULT_MAX_MINUTES.
TRAINING_RECIPE = {
    "loss": "pointwise",
    "pointwise_ranking_weight": 1.0,
    "tie_mode": "both_orders",
    "learning_rate": 1e-3,
    "lr_scheduler_type": "cosine",
    "warmup_steps": 100,
    "per_device_train_batch_size": 8,
    "max_steps": 7500,
    "weight_decay": 0.0,
}

# The data set of the full run: many sources, since the model memorises a few hundred (train pair accuracy 0.73,
# held-out 0.51 with 119 photos and scenes); at the model's 56 px.
DATA_RECIPE = {"image_size": 56, "crops_per_photo": 60, "num_scenes": 800}

# Fast mode (the test suite): the same code path on `FAST_OPTIONS` data and a few steps.
FAST_TRAINING = {"max_steps": 12, "warmup_steps": 2}

EVAL_BATCH_PAIRS = 16
GROUP_KEYS = ("accuracy_without_ties", "num_pairs", "num_human_ties")  # group metrics kept besides accuracy
BENCHMARK_NAME = "quickstart held-out photos"


def run_quickstart(output_dir, *, fast: bool = False, seed: int = 0, max_minutes: float | None = None,
                   dataset_options: dict | None = None, training_overrides: dict | None = None,
                   progress: bool = True) -> dict:  # fmt: skip
    """Run the four steps and return a summary: paths, the evaluation, the table, the demo's output, timings.

    Args:
        output_dir: where the data set, the model folder and the example go (created if missing).
        fast: small data (`FAST_OPTIONS`) and a few training steps, for tests; the same code path.
        seed: fixes the data set, the initial weights and the data order.
        max_minutes: stop training when this many minutes have passed since the start of the run (the planned
            `max_steps` otherwise); evaluation, saving and the demo come after.
        dataset_options: overrides of `build_edit_dataset`'s arguments.
        training_overrides: overrides of `TRAINING_RECIPE` (or `FAST_TRAINING`).
        progress: show the Trainer's progress bar.
    """
    require_quickstart_modules()
    for key, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    start = time.monotonic()
    deadline = start + 60 * max_minutes if max_minutes is not None else None
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    timings = {}

    print(_heading("1/4 Building the edit-preference data set from real photos"))
    dataset, dataset_info = build_dataset(output_dir / "dataset", fast=fast, seed=seed, options=dataset_options)
    timings["data"] = time.monotonic() - start

    print(_heading("2/4 Training a small EditReward model from random initialisation"))
    model, processor = build_model(seed)
    recipe = {**TRAINING_RECIPE, **(FAST_TRAINING if fast else {}), **(training_overrides or {})}
    print(describe_model(model))
    mark = time.monotonic()
    trained_steps = train(model, processor, dataset["train"], output_dir / "trainer", recipe, seed=seed,
                          deadline=deadline, progress=progress)  # fmt: skip
    timings["training"] = time.monotonic() - mark

    print(_heading("3/4 Evaluating on held-out photos never seen in training"))
    mark = time.monotonic()
    scores = score_pairs(model, processor, dataset["test"])
    evaluation = evaluate_pairs(dataset["test"], scores.score[0::2], scores.score[1::2])
    table = format_table(evaluation)
    print(table)
    center = human_scale_center(recipe)
    by_kind = scores_by_kind(dataset["test"], scores, center)
    print("\n" + format_scores_by_kind(by_kind, center))
    timings["evaluation"] = time.monotonic() - mark

    print(_heading("4/4 Saving a Hub-ready folder and scoring a held-out triplet in a fresh process"))
    mark = time.monotonic()
    model_dir = output_dir / "model"
    results = results_json(evaluation, model_dir, output_dir / "dataset")
    training = training_card_section(dataset_info, recipe, trained_steps, seed, timings["training"],
                                     device=describe_device(model.device))
    save_hub_folder(model, processor, model_dir, results, training)
    example_dir = write_example(dataset["test"], output_dir / "example")
    demo = score_in_fresh_process(model_dir, example_dir)
    print(demo)
    timings["saving_and_demo"] = time.monotonic() - mark
    timings["total"] = time.monotonic() - start

    print(_heading("Done"))
    print(closing_note(evaluation, timings, trained_steps, output_dir))
    return {
        "output_dir": str(output_dir), "model_dir": str(model_dir), "dataset_dir": str(output_dir / "dataset"),
        "evaluation": evaluation, "table": table, "demo": demo, "timings": timings, "trained_steps": trained_steps,
        "results": results, "scores_by_kind": by_kind,
    }  # fmt: skip



def require_quickstart_modules() -> None:
    """Name every optional module that is not installed (the quickstart uses them all), and the extra that has them."""
    from ..utils.extras import EXTRA_OF_MODULE

    missing = [name for name in EXTRA_OF_MODULE if importlib.util.find_spec(name) is None]
    if missing:
        raise ModuleNotFoundError(f"the quickstart needs {', '.join(missing)}, not installed here: "
                                  'pip install "editreward[quickstart]"')  # fmt: skip


def _heading(text: str) -> str:
    return f"\n== {text} " + "=" * max(0, 100 - len(text))


# ---------------------------------------------------------------------------------------------------------------
# 1. Data
# ---------------------------------------------------------------------------------------------------------------


def build_dataset(path: Path, *, fast: bool, seed: int, options: dict | None = None):
    """Build, save and describe the data set; returns it and a summary of how it was built."""
    from .edit_dataset import FAST_OPTIONS, build_edit_dataset, describe_dataset, save_edit_dataset

    options = {**(FAST_OPTIONS if fast else DATA_RECIPE), **(options or {}), "seed": seed}
    mark = time.monotonic()
    dataset = save_edit_dataset(str(path), **options)
    print(describe_dataset(dataset))
    print(f"saved to {path} in {time.monotonic() - mark:.0f} s")
    settings = {name: p.default for name, p in inspect.signature(build_edit_dataset).parameters.items()}
    settings.update(options)
    info = {
        "settings": settings, "train_rows": len(dataset["train"]), "test_rows": len(dataset["test"]),
        "train_sources": sorted(set(dataset["train"]["photo"])), "test_sources": sorted(set(dataset["test"]["photo"])),
        "families": sorted(set(dataset["train"]["family"])),
    }  # fmt: skip
    return dataset, info


# ---------------------------------------------------------------------------------------------------------------
# 2. Model and training
# ---------------------------------------------------------------------------------------------------------------


def build_processor(image_pixels: int = MODEL_RECIPE["image_pixels"],
                    edited_image_frames: str = MODEL_RECIPE["edited_image_frames"],
                    patch_size: int = MODEL_RECIPE["patch_size"]):  # fmt: skip
    """The processor: the real Qwen2.5 tokenizer and Qwen2.5-VL chat template, offline, with the short prompts."""
    from ..modeling_editreward import EditRewardProcessor
    from ..offline import image_processor, qwen25_tokenizer, qwen25_vl_chat_template

    return EditRewardProcessor(
        image_processor(image_pixels, patch_size), qwen25_tokenizer(), chat_template=qwen25_vl_chat_template(),
        rubric_prompts=QUICKSTART_PROMPTS, image_pixels=image_pixels, edited_image_frames=edited_image_frames,
    )  # fmt: skip


def build_model(seed: int = 0, recipe: dict = MODEL_RECIPE):
    """A randomly initialised EditReward model on a small Qwen2.5-VL backbone, and its processor."""
    import torch

    from ..modeling_editreward import EditRewardConfig, EditRewardModel
    from ..offline import backbone_config

    processor = build_processor(recipe["image_pixels"], recipe["edited_image_frames"], recipe["patch_size"])
    backbone = backbone_config(processor.tokenizer, initializer_range=recipe["initializer_range"],
                               patch_size=recipe["patch_size"], **recipe["backbone"])  # fmt: skip
    config = EditRewardConfig(
        vlm_config=backbone, reward_token_id=processor.reward_token_id, rubric_prompts=QUICKSTART_PROMPTS,
        image_pixels=recipe["image_pixels"], head_hidden_sizes=recipe["head_hidden_sizes"],
        position_mode=recipe["position_mode"], edited_image_frames=processor.edited_image_frames,
    )  # fmt: skip
    torch.manual_seed(seed)
    return EditRewardModel(config), processor


def describe_model(model) -> str:
    trainable = sum(p.numel() for n, p in model.named_parameters() if "embed_tokens" not in n)
    text, vision = model.config.vlm_config.text_config, model.config.vlm_config.vision_config
    return (
        f"Qwen2.5-VL backbone from random init: language model {text.num_hidden_layers} layers x {text.hidden_size} "
        f"({text.num_attention_heads} heads), vision tower {vision.depth} blocks x {vision.hidden_size}; "
        f"{trainable / 1e6:.2f}M trained parameters (plus the frozen {text.vocab_size:,}-token embedding matrix); "
        f"images at {math.isqrt(model.config.image_pixels)} px square "
        f"({model.config.image_pixels // (vision.patch_size * vision.spatial_merge_size) ** 2} visual tokens each)"
    )


def _deadline_callback(deadline: float):
    """A TrainerCallback that stops training once `time.monotonic()` passes `deadline`."""
    from transformers import TrainerCallback

    class StopAtDeadline(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if time.monotonic() >= deadline:
                print(f"\nmax_minutes reached: training stops after step {state.global_step} of {state.max_steps}")
                control.should_training_stop = True

    return StopAtDeadline()


def train(model, processor, train_split, output_dir: Path, recipe: dict, *, seed: int, deadline: float | None = None,
          progress: bool = True) -> int:  # fmt: skip
    """Train with `EditRewardTrainer` (progress bar and loss logs from the Trainer); returns the steps taken."""
    from ..trainer import EditRewardTrainer, EditRewardTrainingArguments

    settings = dict(
        logging_steps=max(4, recipe["max_steps"] // 20), report_to="none", save_strategy="no",
        activation_checkpointing=False, seed=seed, data_seed=seed, disable_tqdm=not progress,
        dataloader_num_workers=0, dataloader_pin_memory=False,
    )  # fmt: skip
    args = EditRewardTrainingArguments(output_dir=str(output_dir), **{**settings, **recipe})
    callbacks = [_deadline_callback(deadline)] if deadline is not None else None
    trainer = EditRewardTrainer(model=model, args=args, train_dataset=train_split, processing_class=processor,
                                callbacks=callbacks)  # fmt: skip
    trainer.train()
    model.eval()
    return trainer.state.global_step


# ---------------------------------------------------------------------------------------------------------------
# 3. Evaluation
# ---------------------------------------------------------------------------------------------------------------


def score_pairs(model, processor, split, batch_pairs: int = EVAL_BATCH_PAIRS):
    """Scores of every pair's chosen and rejected edit, as `editreward.EditScores` in the order chosen, rejected,
    chosen, rejected, ...; both edits of a pair share one batch (and source)."""
    from ..modeling_editreward import EditRewardScorer

    scorer = EditRewardScorer(model, processor, batch_size=2 * batch_pairs, dtype="float32")
    rows = split.select_columns(["source", "instruction", "chosen", "rejected"])
    sources, instructions, edits = [], [], []
    for row in rows:
        sources += [row["source"]] * 2
        instructions += [row["instruction"]] * 2
        edits += [row["chosen"], row["rejected"]]
    return scorer(sources, instructions, edits)


def human_scale_center(recipe: dict) -> float | None:
    """What to add to mu for each dimension's 1-4 human score: the midpoint under the pointwise loss, which regresses
    on it; None under a pairwise loss, whose scores have no fixed scale."""
    from ..trainer.losses import DIMENSION_SCORE_MIDPOINT

    return DIMENSION_SCORE_MIDPOINT if recipe["loss"] == "pointwise" else None


def scores_by_kind(split, scores, center: float | None) -> dict:
    """Each dimension's estimated score (mu + ``center``) per kind of edited image (right, degraded, wrong_edit, ...),
    beside the human score: {kind: {dimension: {"mean", "std", "human", "edits"}}}, the kinds with the best human
    scores first. ``scores`` as `score_pairs` returns them; every pair counts both its edits. ``center`` None (a
    pairwise loss, see `human_scale_center`) leaves mu as it is."""
    import numpy as np

    kinds = np.array([kind for row in zip(split["chosen_kind"], split["rejection"]) for kind in row])
    human = np.array([s for row in zip(split["chosen_scores"], split["rejected_scores"]) for s in row], dtype=float)
    estimate = np.asarray(scores.mu, dtype=float) + (center or 0.0)
    result = {}
    for kind in sorted(set(kinds.tolist()), key=lambda kind: (-human[kinds == kind].sum(1).mean(), kind)):
        edits = kinds == kind
        result[kind] = {
            dimension: {"mean": float(estimate[edits, j].mean()), "std": float(estimate[edits, j].std()),
                        "human": float(human[edits, j].mean()), "edits": int(edits.sum())}
            for j, dimension in enumerate(scores.dimensions)
        }  # fmt: skip
    return result


def evaluate_pairs(split, chosen, rejected) -> dict:
    """`editreward_accuracy` (pairwise) overall, per edit family and per kind of rejected edit.

    Each pair is given as [score of chosen, score of rejected] with reference "A>B", or "A=B" for an overall tie.
    The tie threshold is calibrated once, on the whole split; each group is scored at that threshold (its `accuracy`
    is the metric's `accuracy_at_threshold`), so the groups' correct pairs add up to the overall row's. Groups keep
    only the metrics that do not depend on a threshold of their own (`GROUP_KEYS`).
    """
    import evaluate

    from ..evaluate_metrics import install_metric

    install_metric()
    verbosity = evaluate.logging.get_verbosity()
    evaluate.logging.set_verbosity_error()  # not "couldn't be found remotely": offline, the installed copy is the one
    try:
        metric = evaluate.load("editreward_accuracy", "pairwise")
    finally:
        evaluate.logging.set_verbosity(verbosity)
    references = ["A=B" if tie else "A>B" for tie in split["tie"]]
    predictions = [[float(a), float(b)] for a, b in zip(chosen, rejected)]

    def compute(indices, **options):
        result = metric.compute(predictions=[predictions[i] for i in indices],
                                references=[references[i] for i in indices], **options)
        return {key: (float(v) if isinstance(v, float) else v) for key, v in result.items()}

    overall = compute(range(len(references)), bootstrap_samples=1000)

    def groups(column):
        values = split[column]
        results = {}
        for name in sorted(set(values)):
            group = compute([i for i, v in enumerate(values) if v == name], bootstrap_samples=0,
                            tie_threshold=overall["epsilon"])  # fmt: skip
            results[name] = {"accuracy": group["accuracy_at_threshold"], "epsilon": overall["epsilon"],
                             **{key: group[key] for key in GROUP_KEYS}}  # fmt: skip
        return results

    return {"overall": overall, "by_family": groups("family"), "by_rejection": groups("rejection")}


def format_table(evaluation: dict) -> str:
    """Plain-text table: pairs, human ties, tie-calibrated accuracy and accuracy without ties, per group."""
    overall = evaluation["overall"]
    interval = ""
    if "accuracy_ci_low" in overall:
        interval = f" [{overall['accuracy_ci_low']:.3f}, {overall['accuracy_ci_high']:.3f}]"
    sections = [
        [("overall", overall, interval)],
        [(f"family: {name}", m, "") for name, m in evaluation["by_family"].items()],
        [(f"rejected: {name}", m, "") for name, m in evaluation["by_rejection"].items()],
    ]
    header = ("group", "pairs", "human ties", "accuracy", "accuracy without ties")
    cells = [[[name, str(m["num_pairs"]), str(m["num_human_ties"]), f"{m['accuracy']:.3f}{extra}",
               _fmt(m["accuracy_without_ties"])] for name, m, extra in section] for section in sections]  # fmt: skip
    widths = [max(len(row[i]) for row in [header, *sum(cells, [])]) for i in range(len(header))]

    def line(row):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))

    blocks = ["\n".join(line(row) for row in section) for section in cells]
    eps = overall["epsilon"]
    rule = "no pair is predicted a tie" if eps < 0 else f"a tie is predicted where |score difference| <= {eps:.3g}"
    note = f"accuracy: tie-calibrated on all {overall['num_pairs']} pairs ({rule}); every group uses that threshold"
    return "\n".join([line(header), line(["-" * w for w in widths])]) + "\n" + "\n\n".join(blocks) + "\n\n" + note


def format_scores_by_kind(by_kind: dict, center: float | None) -> str:
    """Plain-text table of `scores_by_kind`: per kind of edit, each dimension's mean +- spread beside the human score.
    ``center`` None means the scores are not on the human scale (a pairwise loss): only their order means something."""
    dimensions = list(next(iter(by_kind.values())))
    scale = f"mu + {center:g}, the 1-4 human scale" if center is not None else "mu; a pairwise loss fixes no scale"
    header = ("edit", *dimensions)
    rows = [[kind, *(f"{m['mean']:.2f} +- {m['std']:.2f} (human {m['human']:.1f})" for m in dims.values())]
            for kind, dims in by_kind.items()]  # fmt: skip
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row):
        return "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()

    title = f"estimated score per kind of edit ({scale}; mean +- spread over the edits in the held-out pairs)"
    return "\n".join([title, line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _fmt(value) -> str:
    return "n/a" if value is None or value != value else f"{value:.3f}"


# ---------------------------------------------------------------------------------------------------------------
# 4. The Hub-ready folder and the fresh-process demo
# ---------------------------------------------------------------------------------------------------------------


def _entry(metrics: dict) -> dict:
    return {"metrics": metrics, "num_pairs": metrics["num_pairs"]}


def results_json(evaluation: dict, model_dir: Path, dataset_dir: Path) -> dict:
    """The evaluation in the results.json schema of `editreward.hub_card.model_card` (plus `by_rejection`)."""
    return {
        "model": str(model_dir),
        "benchmarks": {
            BENCHMARK_NAME: {
                "dataset": str(dataset_dir), "split": "test", "metrics": evaluation["overall"],
                "num_pairs": evaluation["overall"]["num_pairs"],
                "by_family": {name: _entry(m) for name, m in evaluation["by_family"].items()},
                "by_rejection": {name: _entry(m) for name, m in evaluation["by_rejection"].items()},
            }
        },
    }  # fmt: skip


def describe_device(device) -> str:
    """What trained the model, for the model card: the CUDA device's name, or the number of CPU cores."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{os.cpu_count()} CPU cores" if device.type == "cpu" else str(device)


def training_card_section(dataset_info: dict, recipe: dict, steps: int, seed: int, seconds: float, *,
                          device: str) -> dict:  # fmt: skip
    """The model card's training section: a paragraph on the data, then one row per recipe setting."""
    settings = dataset_info["settings"]
    center = human_scale_center(recipe)
    scenes = sum(name.startswith("scene-") for name in dataset_info["train_sources"])
    photos = len(dataset_info["train_sources"]) - scenes
    data = (
        "The quickstart's synthetic edit-preference data (`editreward.quickstart.edit_dataset`), built offline from "
        f"real photos shipped with scikit-image and scikit-learn plus procedural scenes: {dataset_info['train_rows']} "
        f"training pairs from crops of {photos} photos and {scenes} scenes; {dataset_info['test_rows']} held-out pairs "
        f"from crops of {', '.join(dataset_info['test_sources'])}, photos never seen in training. "
        f"{len(dataset_info['families'])} edit families ({', '.join(dataset_info['families'])}), "
        "paraphrased instructions, and per-dimension scores (instruction following, visual quality, 1-4) for the "
        "right edit against a wrong edit, no edit, an over-edit or a degraded edit; every edited image is right under "
        "one instruction and wrong under another. This is a demonstration model, trained for minutes from random "
        "initialisation: it knows nothing about real edits beyond these families."
    )
    recipe_rows = {
        "initialisation": f"random (initializer_range {MODEL_RECIPE['initializer_range']}), no pretrained weights",
        "rubric_prompts": "; ".join(f"{d}: {p!r}" for d, p in QUICKSTART_PROMPTS.items())
        + " (short prompts for a model trained from scratch, not the released 400-token rubrics)",
        "image_size": f"{settings['image_size']} px data, model pixel budget {MODEL_RECIPE['image_pixels']}",
        **{key: recipe[key] for key in recipe if key != "max_steps"},
        **({"score_scale": f"mu + {center} estimates each dimension's 1-4 human score (the pointwise "
            "loss regresses on it); sigma is fit to the typical error of mu"} if center is not None else {}),
        "steps": f"{steps} of {recipe['max_steps']} planned",
        "seed": seed,
        "training_time": f"{seconds / 60:.1f} min on {device}",
    }  # fmt: skip
    return {"data": data, **recipe_rows}


def save_hub_folder(model, processor, model_dir: Path, results: dict, training: dict) -> None:
    """Weights, config, processor and code files (save_pretrained), results.json and the model card."""
    import json

    from ..hub_card import render_model_card

    model.save_pretrained(model_dir)
    processor.save_pretrained(model_dir)
    (model_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    card = render_model_card(model_dir, results, model_name="editreward-quickstart", training=training)
    card.save(model_dir / "README.md")
    files = sorted(p.name for p in model_dir.iterdir())
    print(f"saved {model_dir}: {', '.join(files)}")


def write_example(split, example_dir: Path, index: int | None = None) -> Path:
    """One held-out triplet as PNG files plus its instruction, for the fresh-process demo."""
    if index is None:  # the first right-versus-wrong-edit pair: the one that needs the instruction
        index = next((i for i, r in enumerate(split["rejection"]) if r == "wrong_edit"), 0)
    row = split[index]
    example_dir.mkdir(parents=True, exist_ok=True)
    for name in ("source", "chosen", "rejected"):
        row[name].save(example_dir / f"{name}.png")
    (example_dir / "instruction.txt").write_text(row["instruction"] + "\n", encoding="utf-8")
    (example_dir / "score_example.py").write_text(FRESH_PROCESS_SCRIPT, encoding="utf-8")
    return example_dir


FRESH_PROCESS_SCRIPT = '''\
"""Score the example triplet with the saved folder, through transformers' Auto classes and the folder's own code.

Usage: python score_example.py MODEL_DIR EXAMPLE_DIR
"""
import sys
from pathlib import Path

import torch
from PIL import Image
from transformers import AutoModel, AutoProcessor

model_dir, example = sys.argv[1], Path(sys.argv[2])
model = AutoModel.from_pretrained(model_dir, trust_remote_code=True).eval()
processor = AutoProcessor.from_pretrained(model_dir, trust_remote_code=True)
instruction = (example / "instruction.txt").read_text().strip()
source = Image.open(example / "source.png")
edits = {"chosen": Image.open(example / "chosen.png"), "rejected": Image.open(example / "rejected.png")}
with torch.no_grad():
    out = model(**processor([source] * len(edits), [instruction] * len(edits), list(edits.values())))
print(f"model class: {type(model).__module__}.{type(model).__name__}")
print(f"instruction: {instruction!r}")
dimensions = model.config.dimensions
for i, name in enumerate(edits):
    parts = ", ".join(f"{d} mu {out.mu[i, j]:+.3f} sigma {out.sigma[i, j]:.3f}" for j, d in enumerate(dimensions))
    print(f"{name:>8}: score {out.score[i]:+.3f} (sigma {out.score_log_sigma[i].exp():.3f}); {parts}")
winner = max(range(len(edits)), key=lambda i: out.score[i])
print(f"preferred: {list(edits)[winner]}")
'''


def score_in_fresh_process(model_dir: Path, example_dir: Path, timeout: float = 300) -> str:
    """Run `score_example.py` in a new Python process (nothing of this one carries over) and return its output."""
    import shlex
    import subprocess
    import sys

    command = [sys.executable, str(example_dir / "score_example.py"), str(model_dir), str(example_dir)]
    print("$ " + " ".join(command[1:]))
    rerun = f"the model folder {model_dir} is saved; rerun the demo by hand with: {shlex.join(command)}"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env={**os.environ})
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"scoring in a fresh process timed out after {timeout:g} s; {rerun}") from None
    if done.returncode != 0:
        raise RuntimeError(f"scoring in a fresh process failed (exit {done.returncode}); {rerun}\n"
                           f"{done.stderr[-3000:]}")  # fmt: skip
    return done.stdout.rstrip()


def closing_note(evaluation: dict, timings: dict, steps: int, output_dir: Path) -> str:
    overall = evaluation["overall"]
    families = ", ".join(f"{name} {m['accuracy']:.2f}" for name, m in evaluation["by_family"].items())
    minutes = {key: f"{value / 60:.1f}" for key, value in timings.items()}
    return (
        f"Held-out accuracy (tie-calibrated, {overall['num_pairs']} pairs on photos never seen in training): "
        f"{overall['accuracy']:.3f}; without ties {_fmt(overall['accuracy_without_ties'])}.\n"
        f"Per family: {families}.\n"
        f"Wall time {minutes['total']} min (data {minutes['data']}, training {minutes['training']} for {steps} steps, "
        f"evaluation {minutes['evaluation']}, saving and demo {minutes['saving_and_demo']}).\n"
        f"Model folder: {output_dir / 'model'} (README.md is its model card; `editreward push --model "
        f"{output_dir / 'model'} --repo-id ORG/NAME` uploads it)."
    )

