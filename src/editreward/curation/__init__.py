"""Curate an edit data set with a reward model (`editreward curate`): score every row into resumable parquet shards,
select exactly (top-K, a top fraction or a threshold; minimums, lower confidence bounds, best-of-N per group), and
write the selection, the rows that could not be scored, a report with plots and a dataset card.

The modules, one job each: `data` (loading, column map, row decoding), `fingerprint` (the model's), `shards` (the
score files), `scoring` (one shard, and the local engine), `ray_engine` (the same on Ray Data), `selection`,
`report` (table and plots), `card` (the dataset card and the upload), `pipeline` (`curate`, all of them in order).
"""

from .data import ColumnMap, load_data
from .pipeline import CurationResult, curate
from .selection import Selection, SelectionRule, select

__all__ = ["ColumnMap", "CurationResult", "Selection", "SelectionRule", "curate", "load_data", "select"]
