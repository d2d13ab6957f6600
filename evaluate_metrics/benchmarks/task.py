"""What every benchmark module shares: the task it builds (edits to score; pairs, groups, ratings to compare), its
registry entry, and the column helpers that keep image columns undecoded."""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BenchmarkSpec", "BenchmarkTask", "Edit", "Group", "Pair", "Rating"]


@dataclass(frozen=True)
class Edit:
    """One (source, instruction, edited) triplet to score; images are (row, column) cells of the data."""

    key: str
    instruction: str
    source: tuple[int, str]
    edited: tuple[int, str]


@dataclass(frozen=True)
class Pair:
    """A human verdict on two edits: label in a form the metric's "pairwise" config accepts ("A>B", "tievote", ...)."""

    first: str
    second: str
    label: str


@dataclass(frozen=True)
class Group:
    """K candidate edits (A, B, ... in order) and the human ranking over their letters, e.g. "B>A=C"."""

    id: str
    keys: tuple[str, ...]
    ranking: str


@dataclass(frozen=True)
class Rating:
    """A pointwise human rating of one edit, and the editing model that produced it (the Spearman group)."""

    key: str
    rating: float
    editor: str


@dataclass
class BenchmarkTask:
    """What a benchmark asks: the edits to score, then the pairs, groups and/or ratings the metric compares."""

    edits: list[Edit]
    pairs: list[Pair] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)


@dataclass(frozen=True)
class BenchmarkSpec:
    """A benchmark as the runner sees it, so that the runner never asks which benchmark it runs.

    key: the `--benchmark` choice (and the score file's name). name: its results.json key, unless `named_by_data`
    (a local file: its stem names the results). adapter(dataset, limit=None, ...): rows -> `BenchmarkTask`.
    hub_id, config, split: the default Hub dataset, config and split (none for a benchmark with no public data).
    resolves_conflicts: the adapter takes `on_conflict` ("error" or "skip") for groups its rows contradict.
    """

    key: str
    name: str
    adapter: Callable[..., BenchmarkTask]
    hub_id: str | None = None
    config: str | None = None
    split: str | None = None
    resolves_conflicts: bool = False
    named_by_data: bool = False

    def read_task(self, dataset, limit=None, on_conflict="error") -> BenchmarkTask:
        """The adapter's task on `dataset`, with the options this benchmark takes."""
        options = {"on_conflict": on_conflict} if self.resolves_conflicts else {}
        return self.adapter(dataset, limit=limit, **options)

    def results_name(self, source: str) -> str:
        """The results.json key of a run on the data at `source` (a Hub id or a resolved local path)."""
        return Path(source).stem if self.named_by_data else self.name


def require_columns(dataset, columns, benchmark, fix):
    """Raise naming every missing column, the columns present, and how to fix it."""
    missing = [name for name in columns if name not in dataset.column_names]
    if missing:
        raise ValueError(f"{benchmark} data lacks column(s) {missing}; it has {dataset.column_names}. {fix}")


def text_column(dataset, name):
    """A non-image column as a plain list (never touches image columns, so nothing is decoded)."""
    return list(dataset[name])


def apply_limit(units, limit):
    """The first `limit` units (pairs, groups, rated items) of a benchmark, or all of them."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit={limit}; pass a positive number of pairs/groups/items, or no limit.")
    return units if limit is None else units[:limit]


def pair_label(difference: float) -> str:
    """The pairwise label of a human score difference (first minus second), in the metric's vocabulary."""
    from .. import load_metric_script

    return load_metric_script().PAIR_VERDICTS[(difference > 0) - (difference < 0)]
