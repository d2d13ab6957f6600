"""The quickstart's Hub-ready folder: weights, config, processor and code files, results.json and the model card,
whose training section is generated from the recipe."""

import os
from pathlib import Path

from .evaluation import human_scale_center
from .recipe import MODEL_RECIPE, QUICKSTART_COMPACT_PROMPT, QUICKSTART_PROMPTS

BENCHMARK_NAME = "quickstart held-out photos"


def results_json(evaluation: dict, model_dir: Path, dataset_dir: Path) -> dict:
    """The evaluation as results.json holds it (`editreward.evaluate_metrics.results`; plus `by_rejection`)."""
    from ..evaluate_metrics.results import merge_entry, new_results

    def group(metrics: dict) -> dict:
        return {"metrics": metrics, "num_pairs": metrics["num_pairs"]}

    entry = {
        "dataset": str(dataset_dir), "dataset_is_local": True, "split": "test", "metrics": evaluation["overall"],
        "num_pairs": evaluation["overall"]["num_pairs"],
        "by_family": {name: group(m) for name, m in evaluation["by_family"].items()},
        "by_rejection": {name: group(m) for name, m in evaluation["by_rejection"].items()},
    }  # fmt: skip
    return merge_entry(new_results(model_dir), BENCHMARK_NAME, entry)


def describe_device(device) -> str:
    """What trained the model, for the model card: the CUDA device's name, or the number of CPU cores."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{os.cpu_count()} CPU cores" if device.type == "cpu" else str(device)


def training_card_section(dataset_info: dict, recipe: dict, seed: int, seconds: float, *, device: str,
                          input_format: str = "per_dimension") -> dict:  # fmt: skip
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
        "rubric_prompts": (f"compact format, one row per triplet: {QUICKSTART_COMPACT_PROMPT!r}" if input_format == "compact"
                           else "; ".join(f"{d}: {p!r}" for d, p in QUICKSTART_PROMPTS.items()))
        + " (short prompts for a model trained from scratch, not the released 400-token rubrics)",
        "image_size": f"{settings['image_size']} px data, model pixel budget {MODEL_RECIPE['image_pixels']}",
        **recipe,
        **({"score_scale": f"mu + {center} estimates each dimension's 1-4 human score (the pointwise "
            "loss regresses on it); sigma is fit to the typical error of mu"} if center is not None else {}),
        "seed": seed,
        "training_time": f"{seconds / 60:.1f} min on {device}",
    }  # fmt: skip
    return {"data": data, **recipe_rows}




def save_hub_folder(model, processor, model_dir: Path, results: dict, training: dict) -> None:
    """Weights, config, processor and code files (save_pretrained), results.json (and results.md), the training
    facts (training_facts.json) and the card, which reads them."""
    from ..evaluate_metrics.results import write_results
    from ..hub_card import render_model_card
    from ..hub_card.training_facts import write_training_facts

    model.save_pretrained(model_dir)
    processor.save_pretrained(model_dir)
    write_results(results, model_dir)
    write_training_facts(model_dir, training)
    card = render_model_card(model_dir, model_name="editreward-quickstart")
    card.save(model_dir / "README.md")
    files = sorted(p.name for p in model_dir.iterdir())
    print(f"saved {model_dir}: {', '.join(files)}")
