"""editreward: Hugging Face native reward models for instruction-guided image editing.

Attributes load lazily (as in transformers), so `import editreward` and the `editreward` command start at once.
Touching any model class (`from editreward import EditRewardModel`) imports the model code, which registers
EditReward with transformers' Auto classes: `AutoModel.from_pretrained(folder)` then works without remote code.
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    "EditRewardConfig": "modeling_editreward",
    "EditRewardModel": "modeling_editreward",
    "EditRewardOutput": "modeling_editreward",
    "EditRewardProcessor": "modeling_editreward",
    "preference_probability": "modeling_editreward",
    "EditRewardScorer": "modeling_editreward",
    "EditScores": "modeling_editreward",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'editreward' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
