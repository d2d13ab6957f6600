"""editreward: Hugging Face native reward models for instruction-guided image editing."""

from .modeling_editreward import (
    EditRewardConfig,
    EditRewardModel,
    EditRewardOutput,
    EditRewardProcessor,
    preference_probability,
)

__version__ = "0.1.0"

__all__ = ["EditRewardConfig", "EditRewardModel", "EditRewardOutput", "EditRewardProcessor", "preference_probability"]
