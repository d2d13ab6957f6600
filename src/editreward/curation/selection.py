"""Exact selection over the whole data set's scores: minimums, best-of-N per group, then top-K, a top fraction or a
threshold of one value (the fused score or a dimension's mu, or its lower bound mu - Z*sigma).

Every order is by value, highest first, and among equal values by row index, lowest first, so a rule keeps the same
rows whatever the engine, the number of workers or the order the shards were written in.
"""

import math
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class SelectionRule:
    """Which rows to keep. Exactly one of `top_k`, `top_fraction` (of the candidates, rounded down) and `min_score`.

    `by`: "score" (the fused score) or a dimension; `lower_bound`: Z, to rank by mu - Z*sigma (the lower confidence
    bound) instead of mu; `minimums`: {"score" or a dimension: X}, mu >= X required; `group_by`: columns whose equal
    values form a group, of which the best `best_of_n` rows are candidates."""

    top_k: int | None = None
    top_fraction: float | None = None
    min_score: float | None = None
    by: str = "score"
    lower_bound: float | None = None
    minimums: dict[str, float] = field(default_factory=dict)
    group_by: list[str] | None = None
    best_of_n: int = 1

    def check(self, dimensions) -> None:
        """Name what is wrong with the rule for a model of these dimensions."""
        cuts = [name for name in ("top_k", "top_fraction", "min_score") if getattr(self, name) is not None]
        if len(cuts) != 1:
            raise ValueError(f"give exactly one of --top-k, --top-fraction and --min-score (got {len(cuts)}).")
        if self.top_k is not None and self.top_k < 0:
            raise ValueError(f"--top-k must be at least 0, got {self.top_k}.")
        if self.top_fraction is not None and not 0 <= self.top_fraction <= 1:
            raise ValueError(f"--top-fraction must be between 0 and 1, got {self.top_fraction}.")
        known = ["score", *dimensions]
        for name in [self.by, *self.minimums]:
            if name not in known:
                raise ValueError(f"{name!r} is not a score of this model; use one of {known}.")
        if self.best_of_n < 1:
            raise ValueError(f"--best-of-n must be at least 1, got {self.best_of_n}.")

    def describe(self) -> str:
        """The rule in one line, for the report and the dataset card."""
        value = self.by if self.lower_bound is None else f"{self.by} mu - {self.lower_bound:g} sigma"
        parts = [f"top {self.top_k} by {value}" if self.top_k is not None
                 else f"top {self.top_fraction:g} of the candidates by {value}" if self.top_fraction is not None
                 else f"{value} >= {self.min_score:g}"]  # fmt: skip
        parts += [f"{name} mu >= {x:g}" for name, x in self.minimums.items()]
        if self.group_by:
            parts.append(f"best {self.best_of_n} of each group of equal {', '.join(self.group_by)}")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Selection:
    """The kept rows (ascending), the value each row was ranked by, the last kept value and the counts."""

    rows: np.ndarray
    value: np.ndarray
    cut: float | None
    counts: dict


def ranking_value(scores: dict, rule: SelectionRule) -> np.ndarray:
    """Each row's value under the rule: mu (or the fused score), minus Z*sigma with a lower bound."""
    mu, sigma = _columns(scores, rule.by)
    return mu if rule.lower_bound is None else mu - rule.lower_bound * sigma


def select(scores: dict, rule: SelectionRule, groups: np.ndarray | None = None) -> Selection:
    """Apply `rule` to `scores` (column -> array over all rows; NaN where a row was not scored). `groups`: an
    integer group id per row, required with `rule.group_by`."""
    value = ranking_value(scores, rule)
    rows = np.arange(len(value))
    eligible = ~np.isnan(value)
    scored = int(eligible.sum())
    for name, minimum in rule.minimums.items():
        eligible &= _columns(scores, name)[0] >= minimum
    counts = {"rows": len(value), "scored": scored, "not_scored": len(value) - scored,
              "after_minimums": int(eligible.sum())}  # fmt: skip
    candidates = rows[eligible]
    if rule.group_by:
        if groups is None:
            raise ValueError("group_by needs the group of each row.")
        order = candidates[np.lexsort((candidates, -value[candidates], groups[candidates]))]
        group = groups[order]
        first = np.flatnonzero(np.concatenate([[True], group[1:] != group[:-1]]))
        rank = np.arange(len(order)) - np.repeat(first, np.diff(np.append(first, len(order))))
        candidates = order[rank < rule.best_of_n]
        counts["groups"] = len(first)
    counts["candidates"] = len(candidates)
    ordered = candidates[np.lexsort((candidates, -value[candidates]))]
    if rule.top_k is not None:
        kept = ordered[: rule.top_k]
    elif rule.top_fraction is not None:
        kept = ordered[: fraction_count(rule.top_fraction, len(ordered))]
    else:
        kept = ordered[value[ordered] >= rule.min_score]
    counts["selected"] = len(kept)
    cut = float(value[kept[-1]]) if len(kept) else None
    return Selection(np.sort(kept), value, cut, counts)


def fraction_count(fraction: float, count: int) -> int:
    """The most rows k of `count` with k / count <= `fraction`: 0.29 of 100 is 29 (floor(0.29 * 100) is 28, the
    product being 28.999999999999996 in floating point), and 1/3 of 9 is 3."""
    k = min(count, math.floor(fraction * count))
    while k > 0 and k / count > fraction:
        k -= 1
    while k < count and (k + 1) / count <= fraction:
        k += 1
    return k


def _columns(scores: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "score":
        return np.asarray(scores["score"], dtype=float), np.asarray(scores["score_sigma"], dtype=float)
    return np.asarray(scores[f"{name}_mu"], dtype=float), np.asarray(scores[f"{name}_sigma"], dtype=float)


def group_ids(table, columns: list[str], chunk: int = 4096) -> np.ndarray:
    """An integer id per row of `table` (a `datasets.Dataset`, image columns left undecoded), equal where every column of `columns` is
    equal (image cells by their bytes or path); read in chunks, only a hash per row is kept."""
    import hashlib

    from .data import undecoded_columns

    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise ValueError(f"--group-by {','.join(missing)}: no such column (the columns: {table.column_names}).")
    part = undecoded_columns(table, columns)
    keys = []
    for start in range(0, len(part), chunk):
        rows = part[start : start + chunk]
        for i in range(len(rows[columns[0]])):
            cells = [_cell_bytes(rows[c][i]) for c in columns]
            keys.append(hashlib.blake2b(b"\0".join(cells), digest_size=12).hexdigest())
    return np.unique(np.array(keys, dtype="U24"), return_inverse=True)[1] if keys else np.zeros(0, dtype=int)


def _cell_bytes(cell) -> bytes:
    if isinstance(cell, dict):
        cell = cell.get("bytes") or cell.get("path")
    return bytes(cell) if isinstance(cell, (bytes, bytearray, memoryview)) else repr(cell).encode()
