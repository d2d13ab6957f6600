"""The data set to curate: loaded as `datasets` loads it, its columns mapped, its rows read and decoded shard by shard.

Image cells may be `datasets.Image` cells, file paths or encoded bytes. Images are read undecoded from the table
(`Image(decode=False)`) and decoded here one row at a time, so that one unreadable image names its row and column
instead of failing a whole slice.
"""

import hashlib
import io
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

ROLES = ("source", "instruction", "edited")
_DATA_FILE_BUILDERS = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv", ".arrow": "arrow"}


@dataclass(frozen=True)
class ColumnMap:
    """Which column of the data set holds each part of a triplet."""

    source: str = "source"
    instruction: str = "instruction"
    edited: str = "edited"

    @classmethod
    def parse(cls, text: str | None) -> "ColumnMap":
        """`"source=src,edited=chosen"` (roles left out keep their default names)."""
        mapping = {}
        for item in filter(None, (part.strip() for part in (text or "").split(","))):
            role, sep, column = item.partition("=")
            if not sep or role.strip() not in ROLES or not column.strip():
                raise ValueError(f"--columns item {item!r}: write ROLE=COLUMN with ROLE one of {', '.join(ROLES)}.")
            mapping[role.strip()] = column.strip()
        return cls(**mapping)

    def check(self, column_names) -> None:
        missing = [f"{role}={column}" for role, column in asdict(self).items() if column not in column_names]
        if missing:
            raise ValueError(f"the data set has no column {', '.join(missing)} (its columns: {list(column_names)}); "
                             "map them with --columns source=COL,instruction=COL,edited=COL.")  # fmt: skip


def load_data(data, split: str | None = None, revision: str | None = None):
    """A `datasets.Dataset` from a Dataset or DatasetDict, a `save_to_disk` folder, data files (parquet, jsonl, csv),
    a folder `load_dataset` reads (an image folder with its metadata file) or a Hub id (at `revision`)."""
    import datasets

    if isinstance(data, (str, os.PathLike)):
        path = Path(os.path.expanduser(str(data)))
        if path.is_dir() and any((path / name).is_file() for name in ("state.json", "dataset_dict.json")):
            data = datasets.load_from_disk(str(path))
        elif path.is_file():
            builder = _DATA_FILE_BUILDERS.get(path.suffix.lower())
            if builder is None:
                raise ValueError(f"--data {data}: unknown file type {path.suffix!r}; give parquet, jsonl, json, csv "
                                 "or arrow files, a save_to_disk folder, a data folder or a Hub id.")  # fmt: skip
            data = datasets.load_dataset(builder, data_files=str(path))
        else:
            data = datasets.load_dataset(str(path) if path.is_dir() else str(data), revision=revision)
    if isinstance(data, datasets.DatasetDict):
        if split is None and len(data) > 1 and "train" not in data:
            raise ValueError(f"the data set has splits {list(data)}; choose one with --split.")
        split = split or ("train" if "train" in data else next(iter(data)))
        if split not in data:
            raise ValueError(f"--split {split!r}: the data set's splits are {list(data)}.")
        data = data[split]
    if not isinstance(data, datasets.Dataset):
        raise TypeError(f"cannot curate a {type(data).__name__}; give a datasets.Dataset, a folder or a Hub id.")
    return data


def data_fingerprint(dataset, columns: ColumnMap, revision: str | None = None) -> str:
    """What tells this data set, at this revision and with this column map, from any other: `datasets`'
    fingerprint of the table (it changes with every transform) with the revision and the map."""
    text = json.dumps({"fingerprint": dataset._fingerprint, "revision": revision, "columns": asdict(columns)},
                      sort_keys=True)  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def undecoded(dataset, columns: ColumnMap):
    """The mapped columns only, with image columns left encoded (decoded row by row by `prepare_rows`)."""
    columns.check(dataset.column_names)
    return undecoded_columns(dataset, sorted(set(asdict(columns).values())))


def undecoded_columns(dataset, names: list[str]):
    """`names` of `dataset`, image columns left as their bytes or path."""
    import datasets

    table = dataset.select_columns(names)
    for name, feature in table.features.items():
        if isinstance(feature, datasets.Image) and feature.decode:
            table = table.cast_column(name, datasets.Image(decode=False))
    return table


def read_rows(table, start: int, end: int) -> dict:
    """Rows [start, end) of an `undecoded` table as a dict of lists."""
    return table[start:end]


def prepare_rows(rows: dict, start: int, columns: ColumnMap, image_pixels: int, patch_group: int) -> list:
    """Each row as `(source, instruction, edited)` with both images decoded to RGB and checked against the model's
    pixel budget and patch group, or as `(column, reason)` when it cannot be scored; the reason names the row (its
    index in the data set). The processor resizes them (resizing here would resize twice: Qwen's `smart_resize` of a
    resized image may pick another size)."""
    from ..modeling_editreward.images_editreward import load_rgb_image, target_size

    prepared = []
    for offset in range(len(rows[columns.edited])):
        row = start + offset
        try:
            instruction = rows[columns.instruction][offset]
            if not isinstance(instruction, str) or not instruction.strip():
                raise _RowError(columns.instruction, f"row {row}, column {columns.instruction!r}: the instruction is "
                                                     f"{'empty' if isinstance(instruction, str) else repr(instruction)}")  # fmt: skip
            images = []
            for column in (columns.source, columns.edited):
                name = f"row {row}, column {column!r}"
                try:
                    image = load_rgb_image(_image(rows[column][offset], name), name)
                    target_size(*image.size, image_pixels, patch_group, name)
                    images.append(image)
                except (ValueError, TypeError, OSError) as error:
                    raise _RowError(column, str(error)) from None
            prepared.append((images[0], instruction, images[1]))
        except _RowError as error:
            prepared.append((error.column, error.reason))
    return prepared


class _RowError(Exception):
    def __init__(self, column: str, reason: str):
        super().__init__(reason)
        self.column, self.reason = column, reason


def _image(cell, name: str):
    """A cell as something `load_image_for_budget` opens: a path, or a PIL image from encoded bytes."""
    from PIL import Image

    if isinstance(cell, dict):  # a datasets.Image cell left undecoded
        cell = cell.get("bytes") or cell.get("path")
    if isinstance(cell, (bytes, bytearray, memoryview)):
        try:
            image = Image.open(io.BytesIO(bytes(cell)))
            image.load()
        except Exception as error:  # PIL raises several types for corrupt data
            reason = re.sub(r" at 0x[0-9a-f]+", "", str(error))  # no object address: a rerun writes the same line
            raise ValueError(f"{name}: the image bytes cannot be decoded ({reason})") from None
        return image
    if cell is None:
        raise ValueError(f"{name}: the image is missing")
    return cell
