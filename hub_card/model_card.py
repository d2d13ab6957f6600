"""The model card (README.md) of a saved EditReward folder, and the card of the `editreward_accuracy` metric's Space.

Both cards take the explanation of the scores, the published reference numbers and the citation from this module,
so the two never drift apart. After editing either card, regenerate the metric's one (with its Space's app.py and
requirements.txt) with `python -m editreward.hub_card.model_card --write-metric-card`.

results.json, as the evaluation runner and the quickstart write it (only `benchmarks` and each `metrics` are required):

    {
      "model": "outputs/quickstart/model",                 # what was evaluated (informational)
      "benchmarks": {                                      # one entry per benchmark, in table order
        "GenAI-Bench": {
          "dataset": "TIGER-Lab/GenAI-Bench",              # Hub id (the model-index dataset type) or a local path
          "config": "image_edition",                       # dataset config
          "revision": "<commit sha>",
          "split": "test_v1",
          "metrics": {"accuracy": 0.64, "accuracy_without_ties": 0.71, "epsilon": 0.02},
          "num_pairs": 919,
          "by_family": {"mirror": {"accuracy": 0.9, "num_pairs": 40}}  # per edit family; or {"metrics": {...}, ...}
        }
      }
    }

`metrics` holds what `evaluate.load("editreward_accuracy")` returned, in any of its configs. The score metrics
(`accuracy*`, `pairwise_accuracy`, `spearman`, bootstrap bounds aside) go to `model-index` with the result key as
metric type, and to the tables with `epsilon`; counts and non-numbers (such as `spearman_per_group`) are left out.
"""

import argparse
import ast
import json
import math
import re
import textwrap
import warnings
from pathlib import Path

from ..evaluate_metrics import METRIC_DIR

TEMPLATES = Path(__file__).parent / "templates"
METRIC_SCRIPT = Path(METRIC_DIR) / "editreward_accuracy.py"
METRIC_README = Path(METRIC_DIR) / "README.md"
REGENERATE_METRIC_CARD = "python -m editreward.hub_card.model_card --write-metric-card"

# The Hub has no reward-model task; the model reads two images and a text like an image-text-to-text model, which
# is how the Hub lists Qwen2.5-VL and its fine-tunes. The card says that it outputs scores, not text.
PIPELINE_TAG = "image-text-to-text"
CARD_TAG = "editreward"  # marks an editreward model card; `editreward push` checks for it
TAGS = ["reward-model", "image-editing", CARD_TAG]
PAPER_URL = "https://arxiv.org/abs/2509.26346"

def _citations() -> tuple[str, str]:
    """The EditReward and "Ties Matter" BibTeX entries, from the metric script's `_CITATION` (their one home: the
    script must stay self-contained, because evaluate copies it alone)."""
    tree = ast.parse(METRIC_SCRIPT.read_text(encoding="utf-8"))
    citation = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                    and any(getattr(t, "id", None) == "_CITATION" for t in node.targets))  # fmt: skip
    editreward, ties = ("@" + entry.strip() for entry in citation.strip().removeprefix("@").split("\n@"))
    return editreward, ties


EDITREWARD_BIBTEX, TIES_MATTER_BIBTEX = _citations()

# The paper's Table 2 (accuracy %, ImagenHub Spearman x100), the one home of the published numbers.
PAPER_RESULTS_COLUMNS = ("GenAI-Bench", "AURORA-Bench", "ImagenHub", "ERB K=2", "ERB K=3", "ERB K=4", "ERB overall")
PAPER_RESULTS = {
    "EditReward (MiMo-VL-7B)": ("65.72", "63.62", "35.20", "56.45", "42.67", "11.49", "38.42"),
    "EditReward (Qwen2.5-VL-7B)": ("63.97", "59.50", "36.18", "56.99", "36.00", "10.81", "36.78"),
    "GPT-5": ("59.61", "47.27", "40.85", "57.53", "38.51", "12.84", "37.81"),
    "GPT-4o": ("53.54", "50.81", "38.21", "45.69", "27.33", "7.31", "28.31"),
    "ADIEE": ("59.96", "55.56", "34.50", "-", "-", "-", "-"),
}


def paper_results_markdown(highlight: str | None = None) -> str:
    """The paper's Table 2 as a markdown table; `highlight` bolds one row as "this checkpoint"."""
    rows = [
        f"| {f'**{name}** (this checkpoint)' if name == highlight else name} | " + " | ".join(values) + " |"
        for name, values in PAPER_RESULTS.items()
    ]
    header = "| Model | " + " | ".join(PAPER_RESULTS_COLUMNS) + " |"
    return "\n".join([header, "|" + "---|" * (len(PAPER_RESULTS_COLUMNS) + 1), *rows])


_MIMO = dict(zip(PAPER_RESULTS_COLUMNS, PAPER_RESULTS["EditReward (MiMo-VL-7B)"]))

PUBLISHED_RESULTS = (
    f"Published values for reference (EditReward paper, %): EditReward-MiMo GenAI-Bench {_MIMO['GenAI-Bench']}, "
    f"AURORA-Bench {_MIMO['AURORA-Bench']},\nImagenHub {_MIMO['ImagenHub']}, EditReward-Bench K=2 / 3 / 4 / overall "
    f"{_MIMO['ERB K=2']} / {_MIMO['ERB K=3']} / {_MIMO['ERB K=4']} / {_MIMO['ERB overall']}."
)

METRICS_NOTE = """\
Metrics are those of the `editreward_accuracy` evaluate metric. For pair benchmarks `accuracy` is the tie-calibrated
pairwise accuracy (Deutsch et al., 2023; the tie threshold `epsilon` is chosen on the scored pairs themselves, so it
is optimistic; -1 means no predicted ties) and `accuracy_without_ties` the plain accuracy over pairs people did not
call a tie. For group benchmarks (EditReward-Bench) `accuracy` is the strict group accuracy: correct groups / groups,
a group counting only when all its C(K,2) comparisons are right (`epsilon` calibrated on the K=2 groups);
`accuracy_k<K>` is the same over groups of K candidates and `pairwise_accuracy` the share of right comparisons.
Brackets hold bootstrap 95% intervals."""

FUSION_TEXT = {
    "mean": "the mean of the dimensions' mus, with log sigma the mean of their log sigmas (the released models)",
    "min": "the smallest of the dimensions' mus, with log sigma the smallest of their log sigmas (the weakest "
    "dimension decides)",
    "sum": "the sum of the dimensions' mus, with the sigma of a sum of independent Gaussians (square root of the "
    "summed variances)",
}

SCORES_TEXT = """\
{dimensions}

{fusion}
- **Scale.** Scores are uncalibrated: no fixed range, zero point or unit (the released 7B models mostly give -3 to
  +2). Only differences between scores of one model mean something: compare and rank edits with the same model and
  checkpoint, never across models.
- **Preferences.** `editreward.preference_probability(mu_a, log_sigma_a, mu_b, log_sigma_b)` gives P(A preferred to
  B) = E[sigmoid(z)] with z ~ N(mu_A - mu_B, sigma_A^2 + sigma_B^2): the Bradley-Terry probability averaged over
  both scores' uncertainty, so uncertain scores give probabilities nearer 0.5.
- **Ties.** Benchmarks read a pair as a predicted tie when |score_A - score_B| <= eps; the `editreward_accuracy`
  metric calibrates eps."""


def scores_explanation(fusion: str | None = None, dimensions=("instruction_following", "visual_quality")) -> str:
    """What the scores mean, for one model's `fusion` or (None) for any EditReward model."""
    if fusion is None:
        fused = "; ".join(f"`{k}` is {v}" for k, v in FUSION_TEXT.items())
        fused = f"The overall score fuses the dimensions as the model's `config.fusion` says: {fused}."
    elif fusion in FUSION_TEXT:
        fused = f"This model's `config.fusion` is `{fusion}`: the overall score is {FUSION_TEXT[fusion]}."
    else:
        raise ValueError(f"config.json: fusion={fusion!r} is unknown; expected one of {sorted(FUSION_TEXT)}.")
    names = ", ".join(f"`{d}`" for d in dimensions)
    intro = (
        f"Each quality dimension ({names}) is scored by its own head as a Gaussian N(mu, sigma^2): `mu` is the score "
        "and `sigma = exp(log_sigma)` is the model's own uncertainty about it (larger means less sure)."
    )
    fused = textwrap.fill(f"- **Fusion.** {fused}", 116, subsequent_indent="  ")
    return SCORES_TEXT.format(dimensions=textwrap.fill(intro, 116), fusion=fused)


# ---------------------------------------------------------------------------------------------------------------
# results.json
# ---------------------------------------------------------------------------------------------------------------


def _scalar(value) -> float | None:
    """A metric value as a float, or None when it is not a number (bools, dicts, strings)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _is_hub_id(value) -> bool:
    """`org/name` that is not a local path: the shape model-index and dataset links need."""
    return isinstance(value, str) and bool(re.fullmatch(r"[\w-][\w.-]*/[\w.-]+", value)) and not Path(value).exists()


def load_results(results) -> dict:
    """Read and check a results.json (a path or an already loaded dict); errors name the file and the field."""
    source = "results"
    if not isinstance(results, dict):
        source = str(results)
        try:
            results = json.loads(Path(results).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"{source}: no such results file.") from None
        except json.JSONDecodeError as error:
            raise ValueError(f"{source}: not valid JSON ({error}).") from None
    benchmarks = results.get("benchmarks") if isinstance(results, dict) else None
    if not isinstance(benchmarks, dict) or not benchmarks:
        raise ValueError(
            f'{source}: needs a non-empty "benchmarks" object mapping each benchmark name to its entry; see '
            "editreward.hub_card.model_card for the format."
        )
    for name, entry in benchmarks.items():
        where = f"{source}: benchmarks[{name!r}]"
        metrics = entry.get("metrics") if isinstance(entry, dict) else None
        if not isinstance(metrics, dict) or not any(_scalar(v) is not None for v in metrics.values()):
            raise ValueError(f'{where} needs "metrics": an object of metric names to numbers, got {metrics!r:.80}.')
        by_family = entry.get("by_family", {})
        if not isinstance(by_family, dict) or not all(isinstance(v, dict) for v in by_family.values()):
            raise ValueError(f'{where}.by_family must map each edit family to an object of metrics.')
    return results


def _is_score_metric(key: str) -> bool:
    return bool(re.fullmatch(r"(accuracy|pairwise_accuracy|spearman)(_\w+)?", key)) and not key.endswith(
        ("_ci_low", "_ci_high")
    )


def _is_group_benchmark(metrics: dict) -> bool:
    """Metrics of the "group" config (EditReward-Bench), whose `accuracy` is strict group accuracy."""
    return "num_comparisons" in metrics or any(re.fullmatch(r"accuracy_k\d+", key) for key in metrics)


def _metric_label(key: str, metrics: dict) -> str:
    """The model-index name of a metric, by the kind of benchmark that reported it."""
    if _is_group_benchmark(metrics):
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
            task_type=PIPELINE_TAG, task_name="Image-edit preference",
            dataset_type=entry["dataset"] if _is_hub_id(entry.get("dataset")) else name, dataset_name=name,
            dataset_config=entry.get("config"), dataset_split=entry.get("split"),
            dataset_revision=entry.get("revision"),
            metric_type=key, metric_name=_metric_label(key, entry["metrics"]), metric_value=_scalar(value),
        )
        for name, entry in results["benchmarks"].items()
        for key, value in entry["metrics"].items()
        if _is_score_metric(key) and _scalar(value) is not None and math.isfinite(_scalar(value))
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# Markdown pieces
# ---------------------------------------------------------------------------------------------------------------


def _cell(value) -> str:
    number = _scalar(value)
    if number is None:
        return "–" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{number:.4f}" if math.isfinite(number) else "n/a"


def _metric_cell(metrics: dict, key: str) -> str:
    """The value, with its bootstrap 95% interval when the metric reported one."""
    low, high = _scalar(metrics.get(f"{key}_ci_low")), _scalar(metrics.get(f"{key}_ci_high"))
    interval = f" [{low:.4f}, {high:.4f}]" if low is not None and high is not None else ""
    return _cell(metrics.get(key)) + interval


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(row) + " |" for row in lines)


def _table_metrics(metric_dicts) -> list[str]:
    """Score metrics and eps present in any of `metric_dicts`, in first-seen order."""
    keys = dict.fromkeys(k for m in metric_dicts for k, v in m.items() if _scalar(v) is not None)
    return [k for k in keys if _is_score_metric(k) or k == "epsilon"]


SIZE_FIELDS = {"Pairs": ("num_pairs", "num_comparisons"), "Groups": ("num_groups",)}


def _size(entry: dict, unit: str = "Pairs") -> str:
    """How many pairs (or groups) the entry or its metrics count."""
    for field in SIZE_FIELDS[unit]:
        for value in (entry.get(field), entry.get("metrics", {}).get(field)):
            if _scalar(value) is not None:
                return _cell(value)
    return "–"


def _dataset_cell(entry: dict) -> str:
    dataset = entry.get("dataset")
    if dataset is None:
        return "–"
    cell = f"[{dataset}](https://huggingface.co/datasets/{dataset})" if _is_hub_id(dataset) else f"`{dataset}`"
    config = f" ({entry['config']})" if entry.get("config") else ""
    revision = f" @ `{str(entry['revision'])[:7]}`" if entry.get("revision") else ""
    return cell + config + revision


def _benchmark_table(benchmarks: dict, unit: str) -> str:
    """One row per benchmark, one column per score metric any of them reported; `unit` is "Pairs" or "Groups"."""
    keys = _table_metrics(entry["metrics"] for entry in benchmarks.values())
    rows = [
        [name, _dataset_cell(entry), str(entry.get("split") or "–"), _size(entry, unit)]
        + [_metric_cell(entry["metrics"], key) for key in keys]
        for name, entry in benchmarks.items()
    ]
    return _table(["Benchmark", "Dataset", "Split", unit, *(f"`{k}`" for k in keys)], rows)


def evaluation_markdown(results: dict | None) -> str:
    """The pair benchmarks' table, the group benchmarks' table (their `accuracy` differs), then per-family tables."""
    if results is None:
        return "No evaluation results were supplied when this card was generated."
    benchmarks = results["benchmarks"]
    groups = {name: entry for name, entry in benchmarks.items() if _is_group_benchmark(entry["metrics"])}
    pairs = {name: entry for name, entry in benchmarks.items() if name not in groups}
    parts = [_benchmark_table(pairs, "Pairs")] if pairs else []
    if groups:
        parts.append("**Group benchmarks: strict group accuracy**\n\n" + _benchmark_table(groups, "Groups"))
    for name, entry in benchmarks.items():
        if entry.get("by_family"):
            parts.append(f"**{name}, per edit family**\n\n" + _family_table(entry["by_family"]))
    return "\n\n".join([*parts, METRICS_NOTE])


def _family_table(by_family: dict) -> str:
    flat = {family: {**entry.get("metrics", {}), **entry} for family, entry in by_family.items()}
    keys = _table_metrics(flat.values())
    rows = [[family, _size(m), *(_metric_cell(m, k) for k in keys)] for family, m in flat.items()]
    return _table(["Edit family", "Pairs", *(f"`{k}`" for k in keys)], rows)


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
        data += "\n\nDatasets: " + ", ".join(f"[{d}](https://huggingface.co/datasets/{d})" for d in ids) + "."
    if not training:
        return data, "Unknown: the training recipe of this checkpoint was not recorded."
    return data, _table(["Setting", "Value"], [[f"`{k}`", f"`{v}`"] for k, v in training.items()])


# ---------------------------------------------------------------------------------------------------------------
# The model card
# ---------------------------------------------------------------------------------------------------------------


def read_config(model_dir) -> dict:
    """The folder's config.json as a dict (plain JSON: no torch or transformers import)."""
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no config.json; save the model with save_pretrained first.")
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("model_type") != "editreward":
        raise ValueError(f"{path}: model_type is {config.get('model_type')!r}, not an EditReward model.")
    return config


def parameter_count(model_dir) -> int:
    """Parameters in the folder's safetensors files, read from their JSON headers."""
    from .publish import read_safetensors_header

    total = 0
    for weights in sorted(Path(model_dir).glob("*.safetensors")):
        header = read_safetensors_header(weights)
        total += sum(math.prod(t["shape"]) for k, t in header.items() if k != "__metadata__")
    return total


FRAMES_TEXT = {
    "repeat": "The edited image fills both temporal frames of its patches, as Qwen2.5-VL encodes any still image.",
    "source_then_edited": "The edited image is encoded as a two-frame clip, the source image then the edited image "
    "(`edited_image_frames=source_then_edited`), so the vision tower's temporal patch embedding compares the two "
    "pixel by pixel; the processor saved with the model does this.",
}


def model_facts(config: dict, model_dir) -> dict:
    """The template's architecture facts, read from config.json."""
    vlm = config.get("vlm_config", {})
    text, vision = vlm.get("text_config", {}), vlm.get("vision_config", {})
    pixels = config.get("image_pixels", 200704)
    positions = {
        "sequential": "plain 1-D positions on all three rope axes, as the released EditReward checkpoints were "
        "trained and run",
        "mrope": "the backbone's native 3-D rotary positions (M-RoPE)",
    }  # fmt: skip
    return {
        "backbone": f"`{vlm.get('model_type', 'unknown')}`, {text.get('num_hidden_layers', '?')} layers of width "
        f"{text.get('hidden_size', '?')}; vision tower of {vision.get('depth', '?')} blocks on "
        f"{vision.get('patch_size', 14)}-pixel patches",
        "dimensions": config.get("dimensions", []),
        "head_hidden_sizes": config.get("head_hidden_sizes", []),
        "reward_token": config.get("reward_token", "<|Reward|>"),
        "fusion": config.get("fusion", "mean"),
        "position_mode": config.get("position_mode", "mrope"),
        "position_text": positions.get(config.get("position_mode", "mrope"), "unknown"),
        "image_pixels": f"{pixels:,}",
        "visual_tokens": pixels // (vision.get("patch_size", 14) * vision.get("spatial_merge_size", 2)) ** 2,
        "frames_text": FRAMES_TEXT[config.get("edited_image_frames", "repeat")],
        "parameters": f"{parameter_count(model_dir) / 1e6:,.1f}M",
    }


def existing_card_facts(card_path) -> dict:
    """`license`, `base_model` and `origin` (the origin line `editreward convert` writes) of the card at `card_path`,
    those it states; empty when there is no card. A regenerated card keeps them unless they are passed anew."""
    from huggingface_hub import ModelCard

    if not Path(card_path).is_file():
        return {}
    try:
        card = ModelCard.load(card_path)
    except Exception as error:  # a front matter that does not parse: huggingface_hub raises several kinds
        warnings.warn(f"{card_path} does not parse ({error}); its licence and base model are not kept.", stacklevel=2)
        return {}
    origin = re.search(r"^- \*\*Origin:\*\* (.+?)(?=\n- \*\*|\n\n|\Z)", card.text, re.M | re.S)
    facts = {"license": card.data.license, "base_model": card.data.base_model, "origin": origin and origin[1]}
    return {key: " ".join(value.split()) if key == "origin" else value for key, value in facts.items() if value}


def warn_if_results_of_another_model(results: dict, model_dir):
    """results.json records the evaluated model (runner: its resolved path); warn when it is not this folder."""
    evaluated = results.get("model")
    if not isinstance(evaluated, str) or _is_hub_id(evaluated):
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
                      datasets=None, training=None, origin=None):  # fmt: skip
    """The model card of a saved EditReward folder, with evaluation results from `results` (path or dict).

    `training` describes the training run: `data` (a paragraph), `datasets` (Hub ids) and any recipe settings
    (loss, steps, learning rate, ...), each shown as one row. `origin`: where the weights come from (markdown).
    Warns when `results` names another model. Returns a `huggingface_hub.ModelCard`; `.save(path)`.
    """
    from huggingface_hub import ModelCard, ModelCardData

    config = read_config(model_dir)
    check_training(training)
    results = load_results(results) if results is not None else None
    if results is not None:
        warn_if_results_of_another_model(results, model_dir)
    model_name = model_name or Path(model_dir).resolve().name
    datasets = datasets or (training or {}).get("datasets")
    backbone_tag = config.get("vlm_config", {}).get("model_type")
    card_data = ModelCardData(
        model_name=model_name, license=license, base_model=base_model, library_name="transformers",
        pipeline_tag=PIPELINE_TAG, tags=TAGS + ([backbone_tag] if backbone_tag else []), datasets=datasets,
        eval_results=(eval_results(results) or None) if results else None,
    )  # fmt: skip
    data_text, recipe_text = training_markdown(training)
    facts = model_facts(config, model_dir)
    return ModelCard.from_template(
        card_data, template_path=str(TEMPLATES / "model_card.md"), **facts,
        model_name=model_name, model_id=model_name if "/" in model_name else f"<org>/{model_name}",
        base_model_id=base_model, origin=origin, paper_url=PAPER_URL, pipeline_tag=PIPELINE_TAG,
        scores_text=scores_explanation(facts["fusion"], facts["dimensions"]),
        evaluation_text=evaluation_markdown(results), published_results=PUBLISHED_RESULTS,
        training_data=data_text, training_recipe=recipe_text, citation=EDITREWARD_BIBTEX,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# The metric's Space card
# ---------------------------------------------------------------------------------------------------------------


def metric_script_strings() -> dict[str, str]:
    """The metric script's module-level strings (`_CITATION`, `_KWARGS_DESCRIPTION`, ...), read, never imported."""
    tree = ast.parse(METRIC_SCRIPT.read_text(encoding="utf-8"))
    return {
        target.id: node.value.value
        for node in tree.body if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }  # fmt: skip


def metric_examples() -> str:
    """The doctest examples of the metric script's `_KWARGS_DESCRIPTION`, as markdown: the card shows tested code."""
    examples = textwrap.dedent(metric_script_strings()["_KWARGS_DESCRIPTION"].split("Examples:", 1)[1]).strip()
    return "\n\n".join(
        f"```python\n{block}\n```" if block.startswith(">>>") else block for block in examples.split("\n\n")
    )


def render_metric_card() -> str:
    """The README.md of the `editreward_accuracy` metric (its Hub Space card)."""
    import jinja2

    template = jinja2.Template((TEMPLATES / "metric_card.md").read_text(encoding="utf-8"), keep_trailing_newline=True)
    return template.render(
        scores_text=scores_explanation(None), examples=metric_examples(), published_results=PUBLISHED_RESULTS,
        citation=f"{EDITREWARD_BIBTEX}\n{TIES_MATTER_BIBTEX}",
    )


# The Space's gradio app (evaluate's widget convention) and its requirements. The app loads the script beside it, so
# the Space works under any <org>/<name> (a bare name would look for evaluate-metric/editreward_accuracy).
METRIC_APP = """\
import os

import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "editreward_accuracy.py"))
launch_gradio_widget(module)
"""
METRIC_REQUIREMENTS = "evaluate>=0.4.6,<0.5\ndatasets>=5.2,<6\nnumpy>=1.26\n"  # the `evaluate` extra of setup.cfg


def metric_space_files() -> dict[str, str]:
    """{file name: content} of the generated files of the metric's Space: its card, app.py and requirements.txt."""
    return {"README.md": render_metric_card(), "app.py": METRIC_APP, "requirements.txt": METRIC_REQUIREMENTS}


def write_metric_card(folder=None) -> list[Path]:
    """Regenerate the metric Space's generated files in its folder (or in `folder`); returns their paths."""
    paths = []
    for name, text in metric_space_files().items():
        paths.append(Path(folder or METRIC_DIR) / name)
        paths[-1].write_text(text, encoding="utf-8")
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Generate the editreward_accuracy metric's card.")
    parser.add_argument("--write-metric-card", action="store_true",
                        help=f"write the metric Space's README.md, app.py and requirements.txt in {METRIC_DIR}")
    args = parser.parse_args(argv)
    if not args.write_metric_card:
        parser.print_help()
        return 0
    print("Wrote " + ", ".join(map(str, write_metric_card())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
