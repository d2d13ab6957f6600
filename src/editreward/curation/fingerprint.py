"""The model's fingerprint: what tells its scores from another model's (or another revision's) in a score shard."""

import hashlib
import json
from pathlib import Path

_SAMPLES = 16  # evenly spaced 64 KiB windows of each weight file's data, hashed beside its header
_WINDOW = 1 << 16


def resolve_model(model: str, revision: str | None = None) -> str:
    """A local folder as given; a Hub id's snapshot folder at `revision` (its name is the commit)."""
    if Path(model).is_dir():
        if revision is not None:
            raise ValueError(f"--model-revision {revision!r} is for a Hub id; {model} is a local folder.")
        return str(model)
    from huggingface_hub import snapshot_download

    return snapshot_download(model, revision=revision)


def model_fingerprint(folder) -> str:
    """sha256 (16 hex digits) of config.json, and of each safetensors file's header with a sample of its data.

    The header alone (names, shapes, offsets) is the same for two trainings of one architecture; the sampled windows
    tell them apart without reading gigabytes. A Hub snapshot's folder holds the commit's files, so its fingerprint
    follows the revision."""
    from ..hub_card.folder import read_config, read_safetensors_header

    folder = Path(folder)
    digest = hashlib.sha256(json.dumps(read_config(folder), sort_keys=True).encode())
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        raise FileNotFoundError(f"{folder}: no *.safetensors weights; save the model with save_pretrained first.")
    for path in weights:
        header = read_safetensors_header(path)
        digest.update(path.name.encode() + json.dumps(header, sort_keys=True).encode())
        size = path.stat().st_size
        with open(path, "rb") as file:
            for k in range(_SAMPLES):
                file.seek(k * max(0, size - _WINDOW) // max(1, _SAMPLES - 1))
                digest.update(file.read(_WINDOW))
    return digest.hexdigest()[:16]
