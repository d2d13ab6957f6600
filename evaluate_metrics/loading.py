"""Benchmark data from a Hub id (pinned revision) or a local path, and the images its cells name.

Local paths: a `save_to_disk` folder (Dataset or DatasetDict), a parquet file or a folder of parquet files, or a
JSON file (a list of rows, or JSON Lines). Image cells may be decoded images, `{"bytes", "path"}` dicts or file paths;
relative paths are resolved against `image_root` (default: the folder of the local data file).
`datasets` is imported inside the functions, so importing this module costs nothing.
"""

import io
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..utils.locations import is_hub_id

logger = logging.getLogger(__name__)

__all__ = ["LoadedData", "fetch_images", "load_benchmark_data", "open_image"]

DATA_FILE_SUFFIXES = (".json", ".jsonl", ".parquet")  # a name ending so names a missing file, never a Hub dataset


@dataclass
class LoadedData:
    """A `datasets.Dataset` and what results.json records about where it came from."""

    dataset: object
    source: str  # Hub id, or the resolved local path
    config: str | None
    revision: str | None
    split: str | None
    image_root: Path | None  # where relative image paths start


def load_benchmark_data(data, *, config=None, revision=None, split=None, image_root=None) -> LoadedData:
    """Load `data`: an existing local path, else a Hub dataset id (`editreward.utils.locations` tells them apart).

    For a Hub id, `config` may list several configs separated by commas ("2pair,3pair,4pair"), which are
    concatenated; pass `revision` (a commit sha) so the results can be reproduced.
    """
    path = Path(data).expanduser()
    if path.exists():
        if revision is not None:
            raise ValueError(f"revision={revision!r} applies to Hub ids, but {data!r} is a local path; drop it.")
        dataset, split = load_local(path, split)
        root = Path(image_root) if image_root else (path if path.is_dir() else path.parent)
        return LoadedData(undecoded(dataset), str(path.resolve()), config, None, split, root.resolve())
    if not is_hub_id(data) or path.suffix in DATA_FILE_SUFFIXES:
        raise FileNotFoundError(f"{data!r} is neither an existing local path nor a Hub dataset id ('owner/name').")
    if revision is None:
        logger.warning("%s: no revision given; pass --revision <commit sha> to pin the dataset version.", data)
    dataset = load_hub(data, config, revision, split)
    return LoadedData(undecoded(dataset), data, config, revision, split,
                      Path(image_root).resolve() if image_root else None)


def undecoded(dataset):
    """`dataset` with its image columns left undecoded (bytes or path): images open only when scored, one cell at a
    time, so a broken image is named by its own row and column and does not take its row's other images along."""
    import datasets

    features = getattr(dataset, "features", None) or {}
    for column, feature in features.items():
        if isinstance(feature, datasets.Image) and feature.decode:
            dataset = dataset.cast_column(column, datasets.Image(decode=False))
    return dataset


def load_hub(repo_id, config, revision, split):
    """`datasets.load_dataset` per config (comma-separated), concatenated."""
    import datasets

    configs = [name.strip() for name in config.split(",")] if config else [None]
    parts = [pick_split(datasets.load_dataset(repo_id, name, revision=revision, split=split), split, repo_id)
             for name in configs]
    return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)


def load_local(path: Path, split):
    """A local dataset and the split it came from."""
    import datasets

    if path.is_dir() and any((path / name).is_file() for name in ("dataset_dict.json", "state.json")):
        loaded = datasets.load_from_disk(str(path))
        return pick_split(loaded, split, str(path)), split
    if path.suffix in (".json", ".jsonl"):
        import pyarrow

        try:
            return datasets.Dataset.from_list(read_json_rows(path)), split
        except pyarrow.ArrowException as error:  # e.g. a field holding "3" in one row and 4 in the next
            raise ValueError(f"{path}: rows disagree on a field's type ({error}); give each field one type.") from None
    files = [path] if path.is_file() else sorted(path.rglob("*.parquet"))
    if path.is_file() and path.suffix != ".parquet" or not files:
        raise ValueError(
            f"{path}: not a dataset; pass a save_to_disk folder, a .parquet file or folder, or a .json/.jsonl file."
        )
    if split is not None and path.is_dir():
        files = [f for f in files if f.name.startswith(f"{split}-") or split in f.relative_to(path).parts[:-1]]
        if not files:
            raise ValueError(f"{path}: no parquet file of split {split!r} (named '{split}-*' or under '{split}/').")
    return datasets.Dataset.from_parquet([str(f) for f in files]), split


def read_json_rows(path: Path) -> list:
    """A JSON list of rows (or {"data": [...]}) or JSON Lines."""
    text = path.read_text(encoding="utf-8")
    try:
        rows = json.loads(text)
    except json.JSONDecodeError:
        try:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON or JSON Lines ({error}).") from None
    if isinstance(rows, dict) and isinstance(rows.get("data"), list):
        rows = rows["data"]
    if not isinstance(rows, list) or not rows or not all(isinstance(row, dict) for row in rows):
        raise ValueError(f"{path}: expected a non-empty list of row objects.")
    return rows


def pick_split(loaded, split, where):
    """A Dataset from a Dataset or DatasetDict; a DatasetDict needs `split` unless it has exactly one."""
    if not hasattr(loaded, "keys"):  # already a Dataset
        return loaded
    if split is None and len(loaded) == 1:
        return next(iter(loaded.values()))
    if split not in loaded:
        raise ValueError(f"{where} has splits {list(loaded)}; pass one with --split.")
    return loaded[split]


def open_image(value, root, where):
    """A cell as something the scorer reads: a PIL image, or an existing file path (relative ones from `root`)."""
    from PIL import Image

    if isinstance(value, dict):
        if value.get("bytes"):
            return Image.open(io.BytesIO(value["bytes"]))
        value = value.get("path")
    if isinstance(value, (bytes, bytearray)):
        return Image.open(io.BytesIO(value))
    if value is None:
        raise ValueError(f"{where}: no image; every source and edited image cell must hold an image or a path.")
    if isinstance(value, (str, os.PathLike)):
        path = Path(value).expanduser()
        if not path.is_absolute() and root is not None:
            path = Path(root) / path
        if not path.is_file():
            raise FileNotFoundError(f"{where}: no image file at {path}; pass --image-root to the folder it is in.")
        return str(path)
    if isinstance(value, Image.Image) or hasattr(value, "__array_interface__"):  # PIL or numpy
        return value
    raise ValueError(
        f"{where}: a value of type {type(value).__name__} is not an image; a cell must hold an image, its bytes "
        "or a path."
    )


def fetch_images(loaded: LoadedData, edits):
    """(sources, instructions, edited images) for `edits`, reading each needed row once."""
    rows = {}
    for edit in edits:
        for row, _ in (edit.source, edit.edited):
            if row not in rows:
                rows[row] = loaded.dataset[row]

    def image(cell):
        row, column = cell
        return open_image(rows[row][column], loaded.image_root, f"row {row}, column {column!r}")

    return [image(e.source) for e in edits], [e.instruction for e in edits], [image(e.edited) for e in edits]
