"""Score shards: parquet files under OUT/scores/, one per run of rows, keyed by row index.

A shard is named by its rows (`scores-0000000000-0000000256.parquet` holds rows 0 to 255) and carries in its schema
metadata the model's and the data's fingerprints; each of its rows carries the model's fingerprint too. It is written
to a temporary name and renamed, so a killed run leaves whole shards only. Shards are cut on multiples of the shard
size, so every engine writes the same files; a restarted run scores only the rows no shard holds.
"""

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_NAME = re.compile(r"scores-(\d{10})-(\d{10})\.parquet")
_META_KEY = b"editreward.curation"


@dataclass(frozen=True)
class ShardKey:
    """What every shard of one run must agree on."""

    model_fingerprint: str
    data_fingerprint: str
    dimensions: tuple[str, ...]

    def score_columns(self) -> list[str]:
        return ["score", "score_sigma", *(f"{d}_mu" for d in self.dimensions), *(f"{d}_sigma" for d in self.dimensions)]


def shard_name(start: int, end: int) -> str:
    return f"scores-{start:010d}-{end:010d}.parquet"


class ShardStore:
    """The shards of OUT/scores/ for one model and data set."""

    def __init__(self, directory, key: ShardKey, num_rows: int):
        self.directory, self.key, self.num_rows = Path(directory), key, num_rows
        self.directory.mkdir(parents=True, exist_ok=True)

    def existing(self) -> list[tuple[int, int, Path]]:
        """(start, end, path) of every shard written, each checked to be of this model and data set."""
        import pyarrow.parquet as pq

        found = []
        for path in sorted(self.directory.glob("scores-*.parquet")):
            match = _NAME.fullmatch(path.name)
            if match is None:
                continue
            start, end = int(match[1]), int(match[2])
            meta = json.loads((pq.read_schema(path).metadata or {}).get(_META_KEY, b"{}"))
            for field, ours in (("model_fingerprint", self.key.model_fingerprint),
                                ("data_fingerprint", self.key.data_fingerprint)):  # fmt: skip
                if meta.get(field) != ours:
                    what = "model" if field == "model_fingerprint" else "data set (or column map)"
                    raise ValueError(f"{path}: written for another {what} ({field} {meta.get(field)}, this run's "
                                     f"{ours}); use another --output-dir, or delete {self.directory} to rescore.")  # fmt: skip
            if end > self.num_rows:
                raise ValueError(f"{path}: holds rows up to {end - 1}, the data set has {self.num_rows}; it is of "
                                 "another data set: use another --output-dir.")  # fmt: skip
            found.append((start, end, path))
        return found

    def pending(self, shard_rows: int) -> list[tuple[int, int]]:
        """(start, end) of the shards still to score: the rows no shard holds, cut on multiples of `shard_rows`."""
        if shard_rows < 1:
            raise ValueError(f"shard size must be at least 1 row, got {shard_rows}.")
        done = np.zeros(self.num_rows, dtype=bool)
        for start, end, _ in self.existing():
            done[start:end] = True
        todo = []
        for first in range(0, self.num_rows, shard_rows):
            block = ~done[first : first + shard_rows]
            # contiguous runs of missing rows in this block
            edges = np.flatnonzero(np.diff(np.concatenate([[0], block.astype(np.int8), [0]])))
            todo += [(first + int(a), first + int(b)) for a, b in zip(edges[0::2], edges[1::2])]
        return todo

    def write(self, start: int, end: int, columns: dict) -> Path:
        """Write rows [start, end): `columns` holds each score column (NaN where a row failed), `error` and
        `error_column` (None where it did not)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = {"row_index": pa.array(np.arange(start, end, dtype=np.int64))}
        arrays.update({name: pa.array(np.asarray(columns[name], dtype=np.float64)) for name in self.key.score_columns()})
        arrays["error"] = pa.array(columns["error"], type=pa.string())
        arrays["error_column"] = pa.array(columns["error_column"], type=pa.string())
        arrays["model_fingerprint"] = pa.array([self.key.model_fingerprint] * (end - start)).dictionary_encode()
        meta = {"model_fingerprint": self.key.model_fingerprint, "data_fingerprint": self.key.data_fingerprint,
                "dimensions": list(self.key.dimensions)}  # fmt: skip
        table = pa.table(arrays).replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
        path = self.directory / shard_name(start, end)
        temporary = path.with_name(path.name + ".partial")
        pq.write_table(table, temporary)
        os.replace(temporary, path)
        return path

    def read(self):
        """Every row's scores as one pyarrow table ordered by row index; refused while rows are missing."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        shards = self.existing()
        covered = sum(end - start for start, end, _ in shards)
        if covered != self.num_rows:
            raise ValueError(f"{self.directory}: the shards hold {covered} of {self.num_rows} rows; run again to "
                             "score the rest.")  # fmt: skip
        table = pa.concat_tables([pq.read_table(path) for _, _, path in shards]).sort_by("row_index")
        return table.drop_columns(["model_fingerprint"])
