"""The model card (README.md) of a saved EditReward folder, and the card `editreward convert` writes.

Both render a template of `templates/` through `huggingface_hub.ModelCard.from_template`; their shared words come
from `texts`, their evaluation tables and the results.json schema from `editreward.evaluate_metrics.results`.
"""

import re
import warnings
from pathlib import Path

from ..evaluate_metrics.results import (
    hub_dataset_id, is_group_benchmark, markdown_table, read_results, render_markdown, results_path, score_metrics,
)  # fmt: skip
from ..modeling_editreward.backbones_editreward import FAMILIES
from ..utils.locations import is_hub_id
from .folder import parameter_count, read_config
from .texts import (
    CARD_MARKER, EDITREWARD_BIBTEX, EVAL_TASK_TYPE, FRAMES_TEXT, HUB_TAGS_TEXT, LIBRARY_NAME, PAPER_URL,
    PUBLISHED_RESULTS, TAGS, TEMPLATES, paper_results_markdown, scores_explanation,
)  # fmt: skip
from .training_facts import read_training_facts

def _metric_label(key: str, entry: dict) -> str:
    """The model-index name of a metric, by the kind of benchmark that reported it."""
    if is_group_benchmark(entry):
        labels = {"accuracy": "Group accuracy (strict, all K)", "pairwise_accuracy": "Comparison accuracy (in groups)"}
    else:
        labels = {"accuracy": "Accuracy (tie-calibrated)", "accuracy_at_threshold": "Accuracy at a fixed eps"}
    group = re.fullmatch(r"accuracy_k(\d+)", key)
    if group:
        return f"Group accuracy (strict, K={group[1]})"
    return {**labels, "spearman": "Spearman correlation"}.get(key, key.replace("_", " ").capitalize())


def eval_results(results: dict) -> list:
    """One `huggingface_hub.EvalResult` per finite score metric of each benchmark."""
    from huggingface_hub import EvalResult

    return [
        EvalResult(
            task_type=EVAL_TASK_TYPE, task_name="Image-edit preference",
            dataset_type=hub_dataset_id(entry) or name, dataset_name=name,
            dataset_config=entry.get("config"), dataset_split=entry.get("split"),
            dataset_revision=entry.get("revision"),
            metric_type=key, metric_name=_metric_label(key, entry), metric_value=value,
        )
        for name, entry in results["benchmarks"].items()
        for key, value in score_metrics(entry).items()
    ]  # fmt: skip


def evaluation_markdown(results: dict | None) -> str:
    """The evaluation section: results.json's tables (as results.md shows them), or a line saying there are none."""
    return render_markdown(results) if results is not None else (
        "No evaluation results were supplied when this card was generated.")


def check_training(training) -> None:
    """`training` must be a dict whose `data` is text and whose `datasets` is a list of Hub ids."""
    example = '{"data": "what it was trained on", "datasets": ["org/name"], "learning_rate": 2e-6}'
    if training is None:
        return
    if not isinstance(training, dict):
        raise ValueError(f"training is a {type(training).__name__}; give a JSON object such as {example}.")
    if not isinstance(training.get("data", ""), str):
        raise ValueError(f"training['data'] must be text (a paragraph on the data), e.g. {example}.")
    ids = training.get("datasets", [])
    if not isinstance(ids, list) or not all(isinstance(name, str) for name in ids):
        raise ValueError(f"training['datasets'] must be a list of Hub dataset ids, e.g. {example}.")


def training_markdown(training: dict | None) -> tuple[str, str]:
    """(data paragraph, recipe table) from `training`: `data` (text), `datasets` (Hub ids), any recipe settings."""
    training = dict(training or {})
    data = training.pop("data", None) or "Unknown: the training data of this checkpoint were not recorded."
    ids = training.pop("datasets", None) or []
    if ids:
        data += "\n\nDatasets: " + ", ".join(
            f"[{d}](https://huggingface.co/datasets/{d})" if is_hub_id(d) else f"local dataset `{Path(d).name}`"
            for d in ids) + "."  # fmt: skip
    if not training:
        return data, "Unknown: the training recipe of this checkpoint was not recorded."
    return data, markdown_table(["Setting", "Value"], [[f"`{k}`", f"`{v}`"] for k, v in training.items()])


def model_facts(config: dict, model_dir) -> dict:
    """The template's architecture facts, read from config.json."""
    vlm = config.get("vlm_config", {})
    text, vision = vlm.get("text_config", {}), vlm.get("vision_config", {})
    pixels = config.get("image_pixels", 200704)
    patch_group = vision.get("patch_size", 14) * vision.get("spatial_merge_size", 2)
    positions = {
        "sequential": "plain 1-D positions on all three rope axes, as the released EditReward checkpoints were "
        "trained and run",
        "mrope": "the backbone's native 3-D rotary positions (M-RoPE)",
    }  # fmt: skip
    family = FAMILIES.get(vlm.get("model_type"))
    return {
        "backbone": f"{family.title + ' ' if family else ''}`{vlm.get('model_type', 'unknown')}`, "
        f"{text.get('num_hidden_layers', '?')} layers of width "
        f"{text.get('hidden_size', '?')}; vision tower of {vision.get('depth', '?')} blocks on "
        f"{vision.get('patch_size', 14)}-pixel patches",
        "dimensions": config.get("dimensions", []),
        "head_hidden_sizes": config.get("head_hidden_sizes", []),
        "reward_token": config.get("reward_token", "<|Reward|>"),
        "fusion": config.get("fusion", "mean"),
        "position_mode": config.get("position_mode", "mrope"),
        "position_text": positions.get(config.get("position_mode", "mrope"), "unknown"),
        "image_pixels": f"{pixels:,}",
        "patch_group": patch_group,
        "visual_tokens": pixels // patch_group**2,
        "frames_text": FRAMES_TEXT[config.get("edited_image_frames", "repeat")],
        "parameters": f"{parameter_count(model_dir) / 1e6:,.1f}M",
    }


def existing_card_facts(card_path) -> dict:
    """What the card at `card_path` states that a regenerated card keeps unless told otherwise: `license`,
    `base_model`, `model_name`, `origin` (the line `editreward convert` writes), and its evaluation (`eval_results`
    with the section's text) and training sections as written. Empty when there is no card."""
    from huggingface_hub import ModelCard

    if not Path(card_path).is_file():
        return {}
    try:
        card = ModelCard.load(card_path)
    except Exception as error:  # a front matter that does not parse: huggingface_hub raises several kinds
        warnings.warn(f"{card_path} does not parse ({error}); nothing of it is kept.", stacklevel=2)
        return {}
    origin = re.search(r"^- \*\*Origin:\*\* (.+?)(?=\n- \*\*|\n\n|\Z)", card.text, re.M | re.S)
    facts = {"license": card.data.license, "base_model": card.data.base_model, "model_name": card.data.model_name,
             "origin": origin and " ".join(origin[1].split()), "eval_results": card.data.eval_results,
             "evaluation_text": _section(card.text, "## Evaluation", "{{ evaluation_text }}"),
             "training_data": _section(card.text, "### Data", "{{ training_data }}"),
             "training_recipe": _section(card.text, "### Recipe", "{{ training_recipe }}")}  # fmt: skip
    return {key: value for key, value in facts.items() if value}


def _section(text: str, heading: str, placeholder: str) -> str | None:
    """What `text` (a card of our template) holds where the template puts `placeholder` after `heading`: up to the
    template's next literal line (a heading, or the published results' first words). None when it is not found."""
    template = (TEMPLATES / "model_card.md").read_text(encoding="utf-8").replace(
        "{{ published_results }}", PUBLISHED_RESULTS)
    after = next((line for line in template.split(placeholder, 1)[1].splitlines() if line.strip()), "")
    end = after[:40] if "{{" not in after[:40] else None
    found = end and re.search(rf"^{re.escape(heading)}\n\n(.*?)\n+{re.escape(end)}", text, re.M | re.S)
    return found[1].strip() if found else None


def warn_if_results_of_another_model(results: dict, model_dir):
    """results.json records the evaluated model (runner: its resolved path); warn when it is not this folder."""
    evaluated = results.get("model")
    if not isinstance(evaluated, str) or is_hub_id(evaluated):
        return
    here = Path(model_dir).resolve()
    other = Path(evaluated).resolve() != here if Path(evaluated).exists() else Path(evaluated).name != here.name
    if other:
        warnings.warn(
            f"the results name model {evaluated!r}, not {str(here)!r}: the card would show another model's numbers; "
            "evaluate this folder (editreward evaluate --model DIR) or pass its own results.json.",
            stacklevel=3,
        )


def render_model_card(model_dir, results=None, *, model_name=None, base_model=None, license="apache-2.0",
                      datasets=None, training=None, origin=None, kept=None):  # fmt: skip
    """The model card of a saved EditReward folder, with evaluation results from `results` (path or dict).

    `training` describes the training run: `data` (a paragraph), `datasets` (Hub ids) and any recipe settings
    (loss, steps, learning rate, ...), each shown as one row; by default the folder's `training_facts.json`.
    `results` defaults to the folder's results.json. `kept`: what an earlier card stated (`existing_card_facts`),
    used for what is not given here (its model name, evaluation and training sections). `origin`: where the
    weights come from (markdown). Warns when `results` names another model. Returns a
    `huggingface_hub.ModelCard`; `.save(path)`.
    """
    from huggingface_hub import ModelCard, ModelCardData

    config = read_config(model_dir)
    kept = kept or {}
    training = training if training is not None else read_training_facts(model_dir)
    check_training(training)
    if results is None and results_path(model_dir).is_file():
        results = results_path(model_dir)
    results = read_results(results) if results is not None else None
    if results is not None:
        warn_if_results_of_another_model(results, model_dir)
    model_name = model_name or kept.get("model_name") or Path(model_dir).resolve().name
    datasets = [d for d in (datasets or (training or {}).get("datasets") or []) if is_hub_id(d)] or None
    backbone_tag = config.get("vlm_config", {}).get("model_type")
    if results is not None:
        evaluation, evaluation_text = eval_results(results) or None, evaluation_markdown(results)
    else:
        evaluation = kept.get("eval_results")
        evaluation_text = kept.get("evaluation_text") or evaluation_markdown(None)
    card_data = ModelCardData(
        model_name=model_name, license=license, base_model=base_model, library_name=LIBRARY_NAME,
        tags=TAGS + ([backbone_tag] if backbone_tag else []), datasets=datasets, eval_results=evaluation,
    )  # fmt: skip
    data_text, recipe_text = training_markdown(training)
    if training is None:
        data_text, recipe_text = kept.get("training_data", data_text), kept.get("training_recipe", recipe_text)
    facts = model_facts(config, model_dir)
    return ModelCard.from_template(
        card_data, template_path=str(TEMPLATES / "model_card.md"), **facts,
        card_marker=CARD_MARKER, model_name=model_name, model_id=model_name if "/" in model_name else f"<org>/{model_name}",
        base_model_id=base_model, origin=origin, paper_url=PAPER_URL, hub_tags_text=HUB_TAGS_TEXT,
        scores_text=scores_explanation(facts["fusion"], facts["dimensions"]),
        evaluation_text=evaluation_text, published_results=PUBLISHED_RESULTS,
        training_data=data_text, training_recipe=recipe_text, citation=EDITREWARD_BIBTEX,
    )  # fmt: skip


def render_converted_model_card(*, checkpoint: str, base: str, license: str | None, dimensions, image_pixels: int,
                                dtype: str, family: str = "qwen2_5_vl", patch_group: int = 28):  # fmt: skip
    """The card of a folder `editreward convert` wrote: origin, licence, how to load, and the paper's numbers.
    Returns a `huggingface_hub.ModelCard`."""
    from huggingface_hub import ModelCard, ModelCardData

    released = (("mimo", "EditReward (MiMo-VL-7B)"), ("qwen", "EditReward (Qwen2.5-VL-7B)"))
    this_row = next((row for key, row in released if key in checkpoint.lower()), None) if family == "qwen2_5_vl" else None
    card_data = ModelCardData(license=license or "other", base_model=base if is_hub_id(base) else None,
                              library_name=LIBRARY_NAME, tags=TAGS)  # fmt: skip
    return ModelCard.from_template(
        card_data, template_path=str(TEMPLATES / "converted_model_card.md"), card_marker=CARD_MARKER,
        checkpoint=checkpoint, checkpoint_link=_hub_link(checkpoint), base_link=_hub_link(base), dtype=dtype,
        licence_line=license or "not stated by the origin; check the original repository before use",
        dimensions=list(dimensions), image_pixels=f"{image_pixels:,}", paper_url=PAPER_URL,
        family=FAMILIES[family].title, patch_group=patch_group, visual_tokens=image_pixels // patch_group**2,
        positions="sequential 1-D positions" if family == "qwen2_5_vl" else "3-D interleaved M-RoPE and DeepStack",
        paper_results=paper_results_markdown(highlight=this_row), citation=EDITREWARD_BIBTEX.strip(),
    )  # fmt: skip


def _hub_link(name: str) -> str:
    return f"[`{name}`](https://huggingface.co/{name})" if is_hub_id(name) else f"`{name}`"
