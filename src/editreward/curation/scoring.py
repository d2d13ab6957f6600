"""Scoring one shard of prepared rows with the package's batched scorer, and the local engine around it."""

import numpy as np

from .data import prepare_rows, read_rows


def score_shard(scorer, prepared: list, start: int, score_columns: list[str], progress=None) -> dict:
    """Score a shard's prepared rows (rows `start`, `start + 1`, ...; `data.prepare_rows`) in chunks of
    `scorer.batch_size`: the score columns, NaN where a row could not be scored, and `error`, `error_column` per
    row (None where it was scored)."""
    count = len(prepared)
    columns = {name: np.full(count, np.nan) for name in score_columns}
    columns["error"], columns["error_column"] = [None] * count, [None] * count
    for position, item in enumerate(prepared):
        if len(item) == 2:
            columns["error_column"][position], columns["error"][position] = item
    good = [position for position, item in enumerate(prepared) if len(item) == 3]
    for first in range(0, len(good), scorer.batch_size):
        chunk = good[first : first + scorer.batch_size]
        try:
            scores = [(chunk, scorer(*zip(*(prepared[p] for p in chunk))))]
        except ValueError:  # the processor refused one of them: score each alone to name it
            scores = []
            for position in chunk:
                try:
                    scores.append(([position], scorer(*zip(prepared[position]))))
                except ValueError as error:
                    columns["error"][position] = f"row {start + position}: {error}"
        for positions, result in scores:
            values = _score_values(result)
            for name in score_columns:
                columns[name][positions] = values[name]
        if progress is not None:
            progress(len(chunk))
    if progress is not None:
        progress(count - len(good))
    return columns


def refuse_first_error(columns: dict) -> None:
    """With `--on-error raise`: refuse the shard's first row that could not be scored, by its reason."""
    reason = next((error for error in columns["error"] if error is not None), None)
    if reason is not None:
        raise ValueError(f"{reason}; fix the row, or pass --on-error skip to skip such rows (they are counted and "
                         "written to errors.jsonl).")  # fmt: skip


def _score_values(scores) -> dict:
    """An `EditScores` as its score columns."""
    values = {"score": scores.score, "score_sigma": scores.score_sigma}
    for j, dimension in enumerate(scores.dimensions):
        values[f"{dimension}_mu"], values[f"{dimension}_sigma"] = scores.mu[:, j], scores.sigma[:, j]
    return values


def score_local(scorer, table, columns, store, shards, *, on_error="raise", progress=True, after_shard=None) -> int:
    """The local engine: score each pending shard in this process, streaming (one shard of rows in memory), and
    write it. `after_shard(i)` is called after shard i is written. Returns the rows scored."""
    from tqdm.auto import tqdm

    processor = scorer.processor
    names = store.key.score_columns()
    total = sum(end - start for start, end in shards)
    with tqdm(total=total, unit="row", desc="scoring", disable=not progress, smoothing=0.1) as bar:
        for number, (start, end) in enumerate(shards):
            prepared = prepare_rows(read_rows(table, start, end), start, columns, processor.image_pixels,
                                    processor.patch_group)  # fmt: skip
            scored = score_shard(scorer, prepared, start, names, bar.update)
            if on_error == "raise":
                refuse_first_error(scored)
            store.write(start, end, scored)
            if after_shard is not None:
                after_shard(number)
    return total
