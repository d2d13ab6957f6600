"""The training facts of a saved model folder: `training_facts.json`, written by whoever trained the model (the
trainer's `save_model`, the quickstart) and read by the model card, so that a card regenerated later still states
the data and the recipe. Plain JSON: {"data": "a paragraph", "datasets": ["org/name"], <recipe setting>: value}."""

import json
import math
from pathlib import Path

TRAINING_FACTS_FILE = "training_facts.json"


def write_training_facts(model_dir, facts: dict) -> Path:
    """Write `facts` (the card's `training` dict) to `model_dir/training_facts.json`; non-finite numbers as null."""
    path = Path(model_dir) / TRAINING_FACTS_FILE
    clean = {key: None if isinstance(value, float) and not math.isfinite(value) else value
             for key, value in facts.items()}  # fmt: skip
    path.write_text(json.dumps(clean, indent=2, allow_nan=False, default=str) + "\n", encoding="utf-8")
    return path


def read_training_facts(model_dir) -> dict | None:
    """The folder's training facts, or None when it has none; a file that is no JSON object is named."""
    path = Path(model_dir) / TRAINING_FACTS_FILE
    if not path.is_file():
        return None
    try:
        facts = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}). Fix: repair or delete it.") from None
    if not isinstance(facts, dict):
        raise ValueError(f"{path} holds a {type(facts).__name__}, not a JSON object. Fix: repair or delete it.")
    return facts
