"""`curate`: score a data set into resumable shards, select exactly, write the selection, its errors and report."""

import importlib.util
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..modeling_editreward import EditRewardConfig
from .data import ColumnMap, data_fingerprint, load_data, undecoded
from .fingerprint import model_fingerprint, resolve_model
from .report import build_report, write_plots, write_report
from .selection import Selection, SelectionRule, group_ids, select
from .shards import ShardKey, ShardStore

ENGINES = ("local", "ray")


@dataclass
class CurationResult:
    """What a curation run wrote and found."""

    output_dir: Path
    selection: Selection
    scores: dict  # column -> array over every row
    dimensions: list[str]
    model_fingerprint: str
    data_fingerprint: str
    rows_scored_now: int
    report: dict | None = None
    plots: list[Path] = field(default_factory=list)


def curate(model, data, output_dir, rule: SelectionRule, *, split=None, revision=None, model_revision=None,
           columns: ColumnMap | str | None = None, engine: str = "local", batch_size: int = 8, shard_size: int = 256,
           device=None, dtype=None, on_error: str = "raise", num_workers: int | None = None, progress: bool = True,
           plots: bool = True, push_to_hub: str | None = None, token=None, after_shard=None) -> CurationResult:  # fmt: skip
    """Score every row of `data` with the model (skipping rows already in OUT/scores/), select with `rule`, and write
    OUT/selected/ (the original columns plus the score columns), OUT/errors.jsonl, OUT/report.json and report.md,
    and the plots.

    Args:
        model: a model folder or Hub id (at `model_revision`).
        data: a `datasets.Dataset`/`DatasetDict`, a `save_to_disk` folder, data files, a data folder or a Hub id (at
            `revision`; `split` picks a split).
        columns: a `ColumnMap` or "source=COL,instruction=COL,edited=COL".
        engine: "local" (this process) or "ray" (Ray Data, `num_workers` scorer actors).
        on_error: "raise" refuses the first row that cannot be scored, "skip" records it in errors.jsonl.
        plots: write histograms.png and mu_sigma.png (needs matplotlib, `editreward[plots]`).
        push_to_hub: a dataset repo id to upload the selection to, with its dataset card.
        after_shard: called with each shard's number once it is written (tests stop a run there).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}: use one of {ENGINES}.")
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error {on_error!r}: use 'raise' or 'skip'.")
    if plots and importlib.util.find_spec("matplotlib") is None:
        raise ModuleNotFoundError('the plots need matplotlib: pip install "editreward[plots]", or pass --no-plots '
                                  "(plots=False)", name="matplotlib")  # fmt: skip
    output_dir = Path(output_dir)
    columns = columns if isinstance(columns, ColumnMap) else ColumnMap.parse(columns)
    dataset = load_data(data, split, revision)
    table = undecoded(dataset, columns)
    folder = resolve_model(model, model_revision)
    config = EditRewardConfig.from_pretrained(folder)
    rule.check(config.dimensions)
    key = ShardKey(model_fingerprint(folder), data_fingerprint(dataset, columns, revision), tuple(config.dimensions))
    clashes = sorted(set(key.score_columns() + ["row_index"]) & set(dataset.column_names))
    if clashes:
        raise ValueError(f"the data set already has columns {clashes}, which the selection adds; rename them "
                         "(Dataset.rename_column) first.")  # fmt: skip
    store = ShardStore(output_dir / "scores", key, len(dataset))
    pending = store.pending(shard_size)
    scored_now = sum(end - start for start, end in pending)
    if pending and engine == "local":
        from ..modeling_editreward import EditRewardScorer
        from .scoring import score_local

        scorer = EditRewardScorer.from_pretrained(folder, batch_size=batch_size, device=device, dtype=dtype)
        score_local(scorer, table, columns, store, pending, on_error=on_error, progress=progress,
                    after_shard=after_shard)  # fmt: skip
    elif pending:
        from .ray_engine import score_ray

        score_ray(folder, config, table, columns, store, pending, batch_size=batch_size, device=device, dtype=dtype,
                  on_error=on_error, num_workers=num_workers, progress=progress, after_shard=after_shard)  # fmt: skip

    scores_table = store.read()
    scores = {name: scores_table[name].to_numpy(zero_copy_only=False) for name in scores_table.column_names}
    groups = group_ids(dataset, rule.group_by) if rule.group_by else None
    selection = select(scores, rule, groups)
    write_errors(output_dir / "errors.jsonl", scores)
    selected = write_selected(dataset, scores, key.score_columns(), selection.rows, output_dir / "selected")
    result = CurationResult(output_dir, selection, scores, list(config.dimensions), key.model_fingerprint,
                            key.data_fingerprint, scored_now)  # fmt: skip
    named = data if isinstance(data, (str, os.PathLike)) else None  # a Dataset object has no name to state
    result.report = build_report(result, rule, model, model_revision, named)
    write_report(output_dir, result.report)
    if plots:
        result.plots = write_plots(output_dir, result, rule)
    if push_to_hub:
        from .card import dataset_card, push_selection

        push_selection(selected, dataset_card(result.report, push_to_hub), push_to_hub, token=token)
    return result


def write_errors(path: Path, scores: dict) -> int:
    """One JSON line per row that could not be scored (row, column, reason); the file is empty when none failed."""
    failed = [i for i, error in enumerate(scores["error"]) if error is not None]
    with open(path, "w", encoding="utf-8") as file:
        for i in failed:
            record = {"row": int(scores["row_index"][i]), "column": scores["error_column"][i], "reason": scores["error"][i]}
            file.write(json.dumps(record) + "\n")
    return len(failed)


def write_selected(dataset, scores: dict, score_columns: list[str], rows: np.ndarray, path: Path):
    """The kept rows with every original column, the score columns and `row_index` (the row in the data set),
    saved with `save_to_disk`."""
    selected = dataset.select(rows)
    for name in score_columns:
        selected = selected.add_column(name, [float(v) for v in scores[name][rows]])
    selected = selected.add_column("row_index", [int(r) for r in rows])
    if path.exists():
        shutil.rmtree(path)
    selected.save_to_disk(str(path))
    return selected
