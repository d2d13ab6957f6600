"""results.json, the file every evaluation writes and every card reads: its one owner (write, merge, read, validate,
render). The runner, the quickstart and the model card all go through here, so the schema has one definition.

    {
      "model": "outputs/quickstart/model",                 # what was evaluated (the runner: its resolved path)
      "benchmarks": {                                      # one entry per benchmark, in table order
        "GenAI-Bench": {
          "dataset": "TIGER-Lab/GenAI-Bench",              # Hub id (the model-index dataset type) or a local path
          "dataset_is_local": false,                       # true when read from disk (never linked to the Hub)
          "config": "image_edition",                       # dataset config
          "revision": "<commit sha>",
          "split": "test_v1",
          "limit": 100,                                    # only when a run kept the first N pairs / groups / items
          "metrics": {"accuracy": 0.64, "accuracy_without_ties": 0.71, "epsilon": 0.02},
          "num_pairs": 919,                                # and "num_groups" for a group benchmark
          "by_family": {"mirror": {"accuracy": 0.9, "num_pairs": 40}}  # per edit family; or {"metrics": {...}, ...}
        }
      }
    }

Only `benchmarks` and each entry's `metrics` are required; other keys (the quickstart's `by_rejection`) are kept as
written. `metrics` holds what the `editreward_accuracy` metric returned, in any of its configs. The score metrics
(`accuracy*`, `pairwise_accuracy`, `spearman`, bootstrap bounds aside) are what cards report; counts and non-numbers
(such as `spearman_per_group`) are left out of the tables. The file is plain JSON: NaN and infinities are written as
null, so any JSON parser reads it.
"""

import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

from ..utils.locations import is_hub_id

__all__ = [
    "RESULTS_FILE", "is_group_benchmark", "merge_entry", "new_results", "read_results", "render_markdown",
    "results_of_model", "score_metrics", "validate_results", "write_results",
]  # fmt: skip

RESULTS_FILE = "results.json"
MARKDOWN_FILE = "results.md"

METRICS_NOTE = """\
Metrics are those of the `editreward_accuracy` evaluate metric. For pair benchmarks `accuracy` is the tie-calibrated
pairwise accuracy (Deutsch et al., 2023; the tie threshold `epsilon` is chosen on the scored pairs themselves, so it
is optimistic; -1 means no predicted ties) and `accuracy_without_ties` the plain accuracy over pairs people did not
call a tie. For group benchmarks (EditReward-Bench) `accuracy` is the strict group accuracy: correct groups / groups,
a group counting only when all its C(K,2) comparisons are right (`epsilon` calibrated on the K=2 groups);
`accuracy_k<K>` is the same over groups of K candidates and `pairwise_accuracy` the share of right comparisons.
Brackets hold bootstrap 95% intervals."""


# ---------------------------------------------------------------------------------------------------------------
# The schema's rules
# ---------------------------------------------------------------------------------------------------------------


def as_number(value) -> float | None:
    """A metric value as a float, or None when it is not a number (bools, dicts, strings, null)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def is_score_metric(key: str) -> bool:
    """A metric that measures agreement (reported on cards), not a count, a threshold or an interval bound."""
    return bool(re.fullmatch(r"(accuracy|pairwise_accuracy|spearman)(_\w+)?", key)) and not key.endswith(
        ("_ci_low", "_ci_high")
    )


def score_metrics(entry: dict) -> dict[str, float]:
    """{metric: value} of the entry's finite score metrics, in the entry's order: what a model-index reports."""
    numbers = {key: as_number(value) for key, value in entry["metrics"].items() if is_score_metric(key)}
    return {key: number for key, number in numbers.items() if number is not None and math.isfinite(number)}


def is_group_benchmark(entry: dict) -> bool:
    """An entry of the metric's "group" config (EditReward-Bench), whose `accuracy` is strict group accuracy: only
    that config reports per-K accuracies `accuracy_k<K>`."""
    return any(re.fullmatch(r"accuracy_k\d+", key) for key in entry["metrics"])


def plain_json(value):
    """`value` as plain JSON: numpy scalars as Python numbers, tuples as lists, NaN and infinities as None."""
    if isinstance(value, Mapping):
        return {str(key): plain_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(item) for item in value]
    if hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def validate_results(results, source: str = "results") -> dict:
    """Check the schema (a non-empty `benchmarks`, each entry with numeric `metrics`, `by_family` an object of
    objects) and return `results`; errors name `source` and the field."""
    benchmarks = results.get("benchmarks") if isinstance(results, dict) else None
    if not isinstance(benchmarks, dict) or not benchmarks:
        raise ValueError(
            f'{source}: needs a non-empty "benchmarks" object mapping each benchmark name to its entry; see '
            "editreward.evaluate_metrics.results for the format."
        )
    for name, entry in benchmarks.items():
        where = f"{source}: benchmarks[{name!r}]"
        metrics = entry.get("metrics") if isinstance(entry, dict) else None
        if not isinstance(metrics, dict) or not any(as_number(v) is not None for v in metrics.values()):
            raise ValueError(f'{where} needs "metrics": an object of metric names to numbers, got {metrics!r:.80}.')
        by_family = entry.get("by_family", {})
        if not isinstance(by_family, dict) or not all(isinstance(v, dict) for v in by_family.values()):
            raise ValueError(f"{where}.by_family must map each edit family to an object of metrics.")
    return results


# ---------------------------------------------------------------------------------------------------------------
# Building, reading and writing
# ---------------------------------------------------------------------------------------------------------------


def new_results(model) -> dict:
    """An empty results object of `model` (what was evaluated), to merge entries into."""
    return {"model": str(model), "benchmarks": {}}


def merge_entry(results: dict, name: str, entry: dict) -> dict:
    """Put `entry`, made plain JSON, under `benchmarks[name]` (replacing an earlier run of it); returns `results`."""
    results.setdefault("benchmarks", {})[name] = plain_json(entry)
    return results


def results_path(path_or_folder) -> Path:
    """The results.json a path names: the path itself, or the results.json inside a folder."""
    path = Path(path_or_folder).expanduser()
    return path / RESULTS_FILE if path.is_dir() else path


def read_results(path_or_folder) -> dict:
    """The results of a results.json (or of the one in a folder), validated. An already loaded dict is validated
    as it is. Null and NaN metrics read as missing values (files written before null was the rule held NaN)."""
    if isinstance(path_or_folder, Mapping):
        return validate_results(dict(path_or_folder))
    path = results_path(path_or_folder)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such results file.") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error}); fix or delete it.") from None
    return validate_results(results, str(path))


def results_of_model(folder, model: str) -> dict:
    """The folder's results.json to merge a new entry into, or `new_results(model)` when there is none; results of
    another model are refused, so one file never mixes two models' numbers."""
    path = Path(folder) / RESULTS_FILE
    if not path.is_file():
        return new_results(model)
    results = read_results(path)
    if results.get("model") != model:
        raise ValueError(
            f"{path} holds results of model {results.get('model')!r}, not {model!r}; pass another --output-dir."
        )
    return results


def write_results(results: dict, folder) -> Path:
    """Write `results` as the folder's results.json (plain JSON, replaced atomically) and results.md; returns the
    results.json path."""
    folder = Path(folder)
    results = validate_results(plain_json(results), str(folder / RESULTS_FILE))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RESULTS_FILE
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(results, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(partial, path)  # a reader never sees half a file
    title = f"# Evaluation of `{results.get('model')}`"
    (folder / MARKDOWN_FILE).write_text(f"{title}\n\n{render_markdown(results)}\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------------------
# Markdown: the tables results.md and the model card show
# ---------------------------------------------------------------------------------------------------------------


def _cell(value) -> str:
    """A number as the tables print it; null (a NaN when written) is "n/a", as NaN is."""
    number = as_number(value)
    if number is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{number:.4f}" if math.isfinite(number) else "n/a"


def _metric_cell(metrics: dict, key: str) -> str:
    """The value ("–" when not reported), with its bootstrap 95% interval when the metric reported one."""
    if key not in metrics:
        return "–"
    low, high = as_number(metrics.get(f"{key}_ci_low")), as_number(metrics.get(f"{key}_ci_high"))
    interval = f" [{low:.4f}, {high:.4f}]" if low is not None and high is not None else ""
    return _cell(metrics.get(key)) + interval


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(row) + " |" for row in lines)


def _table_metrics(metric_dicts) -> list[str]:
    """Score metrics and eps present in any of `metric_dicts`, in first-seen order (a null one shows as n/a)."""
    keys = dict.fromkeys(k for m in metric_dicts for k, v in m.items() if as_number(v) is not None or v is None)
    return [k for k in keys if is_score_metric(k) or k == "epsilon"]


SIZE_FIELDS = {"Pairs": ("num_pairs", "num_comparisons"), "Groups": ("num_groups",)}


def _size(entry: dict, unit: str = "Pairs") -> str:
    """How many pairs (or groups) the entry or its metrics count."""
    for field in SIZE_FIELDS[unit]:
        for value in (entry.get(field), entry.get("metrics", {}).get(field)):
            if as_number(value) is not None:
                return _cell(value)
    return "–"


def hub_dataset_id(entry: dict) -> str | None:
    """The entry's dataset as a Hub id, or None for a local one: recorded as read from disk (`dataset_is_local`),
    or written as a path. A relative folder such as `out/dataset` looks like a Hub id, hence the flag."""
    dataset = entry.get("dataset")
    return dataset if not entry.get("dataset_is_local") and is_hub_id(dataset) else None


def dataset_label(entry: dict) -> str:
    """How cards and tables name the entry's dataset: the Hub id, or a local dataset's folder name (never the
    path, which means nothing on another machine)."""
    dataset = str(entry.get("dataset"))
    return hub_dataset_id(entry) or f"local dataset {os.path.basename(os.path.normpath(dataset)) or dataset}"


def _dataset_cell(entry: dict) -> str:
    dataset = entry.get("dataset")
    if dataset is None:
        return "–"
    hub_id = hub_dataset_id(entry)
    cell = f"[{hub_id}](https://huggingface.co/datasets/{hub_id})" if hub_id else f"`{dataset_label(entry)}`"
    config = f" ({entry['config']})" if entry.get("config") else ""
    revision = f" @ `{str(entry['revision'])[:7]}`" if entry.get("revision") else ""
    limit = f", first {entry['limit']}" if entry.get("limit") else ""
    return cell + config + revision + limit


def _benchmark_table(benchmarks: dict, unit: str) -> str:
    """One row per benchmark, one column per score metric any of them reported; `unit` is "Pairs" or "Groups"."""
    keys = _table_metrics(entry["metrics"] for entry in benchmarks.values())
    rows = [
        [name, _dataset_cell(entry), str(entry.get("split") or "–"), _size(entry, unit)]
        + [_metric_cell(entry["metrics"], key) for key in keys]
        for name, entry in benchmarks.items()
    ]
    return markdown_table(["Benchmark", "Dataset", "Split", unit, *(f"`{k}`" for k in keys)], rows)


def _family_table(by_family: dict) -> str:
    flat = {family: {**entry.get("metrics", {}), **entry} for family, entry in by_family.items()}
    keys = _table_metrics(flat.values())
    rows = [[family, _size(m), *(_metric_cell(m, k) for k in keys)] for family, m in flat.items()]
    return markdown_table(["Edit family", "Pairs", *(f"`{k}`" for k in keys)], rows)


def render_markdown(results: dict) -> str:
    """The pair benchmarks' table, the group benchmarks' table (their `accuracy` differs), the per-family tables,
    then what the metrics mean."""
    benchmarks = results["benchmarks"]
    groups = {name: entry for name, entry in benchmarks.items() if is_group_benchmark(entry)}
    pairs = {name: entry for name, entry in benchmarks.items() if name not in groups}
    parts = [_benchmark_table(pairs, "Pairs")] if pairs else []
    if groups:
        parts.append("**Group benchmarks: strict group accuracy**\n\n" + _benchmark_table(groups, "Groups"))
    for name, entry in benchmarks.items():
        if entry.get("by_family"):
            parts.append(f"**{name}, per edit family**\n\n" + _family_table(entry["by_family"]))
    return "\n\n".join([*parts, METRICS_NOTE])
