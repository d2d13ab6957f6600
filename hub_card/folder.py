"""What a saved EditReward folder holds, read as plain files: config and weight headers, and whether the weights are
the ones the config's model has (built on the meta device: torch, no weights read)."""

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


def weight_problems(folder: Path) -> tuple[list[str], dict[str, list[int]]]:
    """Problems with the weight files, and the saved tensors' shapes by name (read from the headers only)."""
    shards = ["model.safetensors"]
    index = folder / "model.safetensors.index.json"
    if not (folder / "model.safetensors").is_file():
        if not index.is_file():
            return ["no weights: model.safetensors (or model.safetensors.index.json and its shards) is missing"], {}
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8")).get("weight_map", {}).values()))
    problems, shapes = [], {}
    for shard in shards:
        if not (folder / shard).is_file():
            problems.append(f"weight shard {shard} (named in {index.name}) is missing")
            continue
        try:
            header = read_safetensors_header(folder / shard)
        except ValueError as error:
            problems.append(f"{error}: save the model again with save_pretrained")
            continue
        shapes.update({name: tensor["shape"] for name, tensor in header.items() if name != "__metadata__"})
    return problems, shapes


def weights_against_config(folder: Path, shapes: dict[str, list[int]]) -> list[str]:
    """The saved tensors must be the ones config.json's model has, by name and shape. The model is built on the meta
    device (no memory, no weights read), so a 7B folder is checked in seconds."""
    import torch

    from ..modeling_editreward import EditRewardConfig, EditRewardModel

    try:
        config = EditRewardConfig.from_pretrained(folder)
        with torch.device("meta"):
            expected = {name: list(t.shape) for name, t in EditRewardModel(config).state_dict().items()}
    except Exception as error:  # a config the model cannot be built from: transformers raises several kinds
        return [f"config.json does not build an EditReward model ({type(error).__name__}: {error})"]
    fix = "save the model again with save_pretrained (a folder's config and weights must come from one model)"
    problems = []
    for kind, names in (("missing", sorted(set(expected) - set(shapes))), ("unexpected", sorted(set(shapes) - set(expected)))):
        if names:
            problems.append(f"{len(names)} weights config.json's model has are {kind} in the safetensors files "
                            f"({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}): {fix}" if kind == "missing"
                            else f"{len(names)} saved weights are {kind} for config.json's model ({', '.join(names[:3])}"
                            f"{', ...' if len(names) > 3 else ''}): {fix}")  # fmt: skip
    wrong = [name for name in expected if name in shapes and shapes[name] != expected[name]]
    if wrong:
        name = wrong[0]
        problems.append(f"{len(wrong)} saved weights have another shape than config.json's model ({name}: saved "
                        f"{shapes[name]}, config {expected[name]}): {fix}")  # fmt: skip
    return problems
