"""editreward: Hugging Face native reward models for instruction-guided image editing.

Attributes load lazily (as in transformers), so `import editreward` and the `editreward` command start at once.
Touching any model class (`from editreward import EditRewardModel`) imports the model code, which registers
EditReward with transformers' Auto classes: `AutoModel.from_pretrained(folder)` then works without remote code.
"""

from .utils.lazy import lazy_attributes

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


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
