"""Run a benchmark: score its edits (batched, cached, resumable), compute the metric, write results.json and results.md.

Files in `output_dir`:

- `scores-<benchmark>.jsonl`: a header line `{"meta": {...}}` (model, its fingerprint, dtype and pixel budget; data,
  config, revision, split), then one line per scored edit, `{"key": ..., "score": ..., "score_sigma": ...,
  "<dimension>_mu": ..., "<dimension>_sigma": ...}`, appended batch by batch. A rerun scores only the keys that are
  missing, so an interrupted run resumes; a header that differs (another model, or the same folder retrained, or
  another dtype, or another dataset) is an error naming what changed rather than a silent mix.

  The dtype is the one the scores are computed in, by name ("bfloat16", "float32"), so a CPU run (float32 by
  default) and a GPU run (bfloat16) never share a file. A model folder's fingerprint is config.json's sha256 and
  each weight file's name, size and mtime (hashing gigabytes of weights would cost more than a small benchmark):
  copying or re-downloading the folder changes the mtimes, and its edits are then scored again. A Hub id's
  fingerprint is the commit its local HF cache resolves "main" to (read from the cache, no network); it is None
  when the model is not cached (then a Hub update is not noticed) or is only a label for a scorer passed in. Score
  files written before the header held these fields are refused once, naming what changed. Without a scorer passed
  in, the model is loaded before a new score file is written, so a first run records the commit it downloaded.
- `results.json` and `results.md`: the benchmark's entry, merged with the other benchmarks already in the file (of
  the same model only), written by `results.py`, the owner of their format.

The metric is the `editreward_accuracy` script's own pure functions, imported from its path (no evaluate cache).
"""

import hashlib
import json
import logging
import os
import re
from pathlib import Path

from ..utils.locations import is_hub_id, looks_like_local_path
from . import load_metric_script
from .benchmarks import BENCHMARKS
from .loading import fetch_images, load_benchmark_data
from .results import merge_entry, results_of_model, write_results

logger = logging.getLogger(__name__)

__all__ = ["ScoreCache", "compute_metrics", "load_task", "run_benchmark"]

BOOTSTRAP_SAMPLES = 1000


# ---------------------------------------------------------------------------------------------------------------
# Score cache
# ---------------------------------------------------------------------------------------------------------------


class ScoreCache:
    """Per-edit score records in a JSON Lines file, appended as they are computed."""

    def __init__(self, path, meta: dict):
        self.path, self.meta = Path(path), meta
        self.records = self._read() if self.path.is_file() else {}
        if not self.path.is_file():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps({"meta": meta}) + "\n", encoding="utf-8")

    def _read(self) -> dict:
        text = self.path.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):  # a line cut short by an interruption: drop it before appending
            text = text[: text.rfind("\n") + 1]
            self.path.write_text(text, encoding="utf-8")
        lines = text.splitlines()
        header = json.loads(lines[0]).get("meta") if lines else None
        if header != self.meta:
            found = header if isinstance(header, dict) else {}
            changed = [key for key in self.meta if found.get(key) != self.meta[key]] or ["header"]
            raise ValueError(
                f"{self.path} holds scores of {header}, not of {self.meta} (changed: {', '.join(changed)}): pass "
                f"another --output-dir, or delete {self.path} to score again."
            )
        records = {}
        for number, line in enumerate(lines[1:], start=2):
            try:
                record = json.loads(line)
                records[record.pop("key")] = record
            except (json.JSONDecodeError, KeyError, AttributeError):
                logger.warning("%s line %d is not a score record; it will be scored again.", self.path, number)
        return records

    def add(self, records: dict):
        """Append {key: record} and flush, so a crash loses at most the batch being scored."""
        with self.path.open("a", encoding="utf-8") as file:
            for key, record in records.items():
                file.write(json.dumps({"key": key, **record}) + "\n")
            file.flush()
            os.fsync(file.fileno())
        self.records.update(records)


WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pth", "*.pt")


def model_fingerprint(model) -> dict | None:
    """What tells a retrained or re-converted model folder from its old self, without reading the weights:
    config.json's sha256 and each weight file's name, size and mtime. For a Hub id, its cached commit (or None)."""
    folder = Path(model)
    if not folder.is_dir():
        commit = cached_hub_commit(model)
        return None if commit is None else {"commit": commit}
    config = folder / "config.json"
    weights = sorted({path for pattern in WEIGHT_PATTERNS for path in folder.glob(pattern)})
    return {
        "config_sha256": hashlib.sha256(config.read_bytes()).hexdigest() if config.is_file() else None,
        "weights": [[path.name, path.stat().st_size, path.stat().st_mtime_ns] for path in weights],
    }


def cached_hub_commit(repo_id) -> str | None:
    """The commit the local HF cache resolves a model's "main" to (config.json's snapshot folder is named by it), or
    None when it is not cached or `repo_id` is no Hub id (a label for a scorer passed in); nothing is downloaded."""
    if not is_hub_id(repo_id):
        return None
    from huggingface_hub import try_to_load_from_cache

    path = try_to_load_from_cache(repo_id, "config.json")
    return Path(path).parent.name if isinstance(path, str) else None


def scoring_dtype(scorer=None, device=None, dtype=None) -> str:
    """The dtype the scores are computed in, by its torch name ("bfloat16"): the scorer's, else the loading one."""
    from ..modeling_editreward.scoring import loading_device_and_dtype

    used = scorer.model.dtype if scorer is not None else loading_device_and_dtype(device, dtype)[1]
    return str(used).removeprefix("torch.")


def load_scorer(model, batch_size=8, device=None, dtype=None):
    """`EditRewardScorer.from_pretrained` with the device and dtype that `scoring_dtype` names."""
    from ..modeling_editreward import EditRewardScorer
    from ..modeling_editreward.scoring import loading_device_and_dtype

    device, dtype = loading_device_and_dtype(device, dtype)
    return EditRewardScorer.from_pretrained(model, batch_size=batch_size, device=device, dtype=dtype)


def model_image_pixels(model):
    """The pixel budget the model resizes images to (config.json `image_pixels`; None when not recorded)."""
    config = Path(model) / "config.json"
    return json.loads(config.read_text(encoding="utf-8")).get("image_pixels") if config.is_file() else None


def score_missing(scorer, loaded, edits, cache: ScoreCache, batch_size: int, progress: bool = True,
                  on_error: str = "raise", errors_path=None) -> list[dict]:
    """Score the edits the cache lacks, batch by batch, behind a progress bar.

    An edit that cannot be scored (an unreadable image, an empty instruction) is named by its dataset row and
    column: with `on_error="raise"` in the error raised; with `"skip"` it is left unscored and appended, with the
    reason, to `errors_path` (JSON lines). Returns the skipped edits' records. A batch that fails is scored again
    one edit at a time to find which edit it was, so the good edits of that batch are kept."""
    from tqdm.auto import tqdm

    skipped = []
    with tqdm(total=len(edits), unit="edit", desc="scoring", disable=not progress) as bar:
        for start in range(0, len(edits), batch_size):
            batch = edits[start : start + batch_size]
            try:
                records = dict(zip((e.key for e in batch), scorer(*fetch_images(loaded, batch)).to_records()))
            except (ValueError, OSError, SyntaxError):  # PIL raises SyntaxError for some broken headers
                records = {}
                for edit in batch:
                    try:
                        records[edit.key] = scorer(*fetch_images(loaded, [edit])).to_records()[0]
                    except (ValueError, OSError, SyntaxError) as error:
                        problem = edit_problem(edit, error)
                        if on_error == "raise":
                            raise ValueError(f"{problem.rstrip('.')}. Fix: repair or drop the row, or pass "
                                             "--on-error skip to "
                                             "leave it out (counted, written to the errors file).") from error
                        skipped.append({"edit": edit.key, "row": edit.edited[0], "error": problem})
            cache.add(records)
            bar.update(len(batch))
    if skipped and errors_path is not None:
        with open(errors_path, "a", encoding="utf-8") as file:
            file.writelines(json.dumps(record) + "\n" for record in skipped)
    return skipped


def edit_problem(edit, error: Exception) -> str:
    """The error of scoring `edit` alone, its batch position (`edited_images[0]`) replaced by the dataset's cell."""
    message = " ".join(str(error).split()) or type(error).__name__
    cells = {"source_images": _cell(edit.source), "edited_images": _cell(edit.edited),
             "instructions": f"row {edit.source[0]}, the instruction"}  # fmt: skip
    named = re.sub(r"\b(source_images|edited_images|instructions)\[0\]", lambda m: cells[m[1]], message)
    if named == message and not message.startswith("row "):
        where = cells["edited_images"] if isinstance(error, (OSError, SyntaxError)) else f"edit {edit.key}"
        named = f"{where}: {message}"
    return named


def _cell(cell: tuple[int, str]) -> str:
    return f"row {cell[0]}, column {cell[1]!r}"


# ---------------------------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------------------------


def compute_metrics(task, scores: dict, tie_threshold=None, bootstrap_samples=BOOTSTRAP_SAMPLES) -> dict:
    """The metric on a task's pairs, groups and ratings, given {edit key: fused score}."""
    metric = load_metric_script()
    metrics = {}
    if task.pairs:
        metrics.update(metric.pairwise_accuracy(
            [[scores[p.first], scores[p.second]] for p in task.pairs], [p.label for p in task.pairs],
            tie_threshold=tie_threshold, bootstrap_samples=bootstrap_samples, seed=0,
        ))  # fmt: skip
    if task.groups:
        metrics.update(metric.group_accuracy(
            [[scores[key] for key in g.keys] for g in task.groups], [g.ranking for g in task.groups],
            tie_threshold=tie_threshold,
        ))  # fmt: skip
    if task.ratings:
        metrics.update(metric.spearman_by_group(
            [scores[r.key] for r in task.ratings], [r.rating for r in task.ratings], [r.editor for r in task.ratings],
        ))  # fmt: skip
    return metrics


# ---------------------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------------------


def without_edits(task, keys: set[str]):
    """`task` without the edits `keys` and every pair, group and rated item that holds one of them."""
    from dataclasses import replace

    return replace(
        task, edits=[e for e in task.edits if e.key not in keys],
        pairs=[p for p in task.pairs if p.first not in keys and p.second not in keys],
        groups=[g for g in task.groups if not keys & set(g.keys)],
        ratings=[r for r in task.ratings if r.key not in keys],
    )  # fmt: skip


def load_task(benchmark, data=None, *, config=None, revision=None, split=None, image_root=None, limit=None,
              on_conflict="error"):
    """(spec, loaded data, task) of a benchmark; `data` defaults to its Hub dataset with its config and split."""
    if benchmark not in BENCHMARKS:
        raise ValueError(f"Unknown benchmark {benchmark!r}; choose one of {list(BENCHMARKS)}.")
    spec = BENCHMARKS[benchmark]
    if data is None and spec.hub_id is None:
        raise ValueError(f"{benchmark} has no public Hub dataset; pass --data with a local path.")
    hub_default = data is None or data == spec.hub_id
    loaded = load_benchmark_data(
        data or spec.hub_id, config=config or (spec.config if hub_default else None), revision=revision,
        split=split or (spec.split if hub_default else None), image_root=image_root,
    )  # fmt: skip
    task = spec.read_task(loaded.dataset, limit=limit, on_conflict=on_conflict)
    if not task.edits:
        raise ValueError(f"{loaded.source}: no {benchmark} items to score.")
    return spec, loaded, task


def run_benchmark(model, benchmark, data=None, *, output_dir="eval_results", batch_size=8, device=None, dtype=None,
                  config=None, revision=None, split=None, limit=None, image_root=None, tie_threshold=None,
                  name=None, on_conflict="error", scorer=None, progress=True, on_error="raise") -> dict:
    """Evaluate `model` (folder or Hub id) on `benchmark` and return its results.json entry.

    benchmark: "genai-bench", "editreward-bench", "aurora-bench" or "local-json". data: Hub id or local path
    (default: the benchmark's Hub dataset, with its default config and split). limit: the first N pairs / groups /
    rated items. tie_threshold: a fixed eps to also apply (fit it on a dev split). name: the results.json key
    (default: the benchmark's name; for local-json the file's stem). scorer: an `EditRewardScorer` to use instead
    of loading `model` (which then only labels the results). The model is loaded only if some edit is not cached.
    on_error: "raise" on an edit that cannot be scored, naming its row and column; "skip" leaves it out with the
    pairs, groups and rated items that hold it (counted in `num_skipped_edits`, reasons in errors-<benchmark>.jsonl).
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error={on_error!r} is unknown. Fix: use 'raise' or 'skip'.")
    spec, loaded, task = load_task(benchmark, data, config=config, revision=revision, split=split,
                                   image_root=image_root, limit=limit, on_conflict=on_conflict)  # fmt: skip
    output_dir = Path(output_dir)
    model = str(Path(model).expanduser().resolve()) if looks_like_local_path(str(model)) else str(model)
    results_of_model(output_dir, model)  # refuse another model's results.json before any scoring
    cache_path = output_dir / f"scores-{benchmark}.jsonl"
    if scorer is None and not cache_path.is_file():  # every edit is to score: load first (a Hub model is now cached)
        scorer = load_scorer(model, batch_size, device, dtype)
    meta = {"model": model, "model_fingerprint": model_fingerprint(model), "image_pixels": model_image_pixels(model),
            "dtype": scoring_dtype(scorer, device, dtype), "data": loaded.source, "config": loaded.config,
            "revision": loaded.revision, "split": loaded.split}  # fmt: skip
    cache = ScoreCache(cache_path, meta)
    missing = [edit for edit in task.edits if edit.key not in cache.records]
    if missing:
        if scorer is None:
            scorer = load_scorer(model, batch_size, device, dtype)
        skipped = score_missing(scorer, loaded, missing, cache, batch_size, progress, on_error,
                                output_dir / f"errors-{benchmark}.jsonl")  # fmt: skip
    else:
        skipped = []
    logger.info("%s: %d edits, %d scored now, %d from %s", benchmark, len(task.edits), len(missing) - len(skipped),
                len(task.edits) - len(missing), cache.path)
    if skipped:
        task = without_edits(task, {record["edit"] for record in skipped})
        logger.warning("%s: skipped %d edits that cannot be scored (rows %s); the pairs and groups holding them are "
                       "left out; reasons in %s", benchmark, len(skipped),
                       ", ".join(str(r["row"]) for r in skipped[:20]), output_dir / f"errors-{benchmark}.jsonl")
        if not (task.pairs or task.groups or task.ratings):
            raise ValueError(f"{benchmark}: every item holds an edit that cannot be scored; see "
                             f"{output_dir / f'errors-{benchmark}.jsonl'}.")

    scores = {edit.key: cache.records[edit.key]["score"] for edit in task.edits}
    entry = {"dataset": loaded.source, "dataset_is_local": looks_like_local_path(loaded.source),
             "config": loaded.config, "revision": loaded.revision, "split": loaded.split,
             "metrics": compute_metrics(task, scores, tie_threshold)}  # fmt: skip
    if task.groups:
        entry["num_groups"] = len(task.groups)
        entry["num_pairs"] = entry["metrics"]["num_comparisons"]
    else:
        entry["num_pairs"] = len(task.pairs)
    if limit is not None:
        entry["limit"] = limit
    if skipped:
        entry["num_skipped_edits"] = len(skipped)
    name = name or spec.results_name(loaded.source)
    results = merge_entry(results_of_model(output_dir, model), name, entry)  # read again: another run may have merged
    write_results(results, output_dir)
    return results["benchmarks"][name]
