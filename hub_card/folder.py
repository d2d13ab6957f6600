"""What a saved EditReward folder holds, read as plain files (no torch, no transformers): config and weight headers."""

import json
import math
from pathlib import Path


def read_safetensors_header(path) -> dict:
    """The JSON header of a safetensors file, checked to describe the whole file; no tensor data is read."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as file:
        length = int.from_bytes(file.read(8), "little") if size >= 8 else -1
        try:
            header = json.loads(file.read(length)) if 2 <= length <= size - 8 else None
            end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):  # not JSON, or not a tensor table
            header = None
    if header is None:
        raise ValueError(f"{path.name} is not a safetensors file (its {size}-byte header cannot be read)")
    if 8 + length + end != size:
        raise ValueError(f"{path.name} is truncated or padded: its header describes {8 + length + end} bytes, the "
                         f"file holds {size}")  # fmt: skip
    return header


def read_config(model_dir) -> dict:
    """The folder's config.json as a dict (plain JSON: no torch or transformers import)."""
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no config.json; save the model with save_pretrained first.")
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("model_type") != "editreward":
        raise ValueError(f"{path}: model_type is {config.get('model_type')!r}, not an EditReward model.")
    return config


def parameter_count(model_dir) -> int:
    """Parameters in the folder's safetensors files, read from their JSON headers."""
    total = 0
    for weights in sorted(Path(model_dir).glob("*.safetensors")):
        header = read_safetensors_header(weights)
        total += sum(math.prod(t["shape"]) for k, t in header.items() if k != "__metadata__")
    return total
