"""The model as it ships to the Hub: config, model, processor, prompts (imports only torch and transformers)."""

from transformers import AutoConfig, AutoModel, AutoProcessor

from .configuration_editreward import EditRewardConfig
from .gaussian import preference_probability
from .modeling_editreward import EditRewardModel, EditRewardOutput, fuse_dimensions
from .processing_editreward import EditRewardProcessor
from .prompts_editreward import REWARD_SUFFIX, REWARD_TOKEN, RUBRIC_PROMPTS
from .scoring import EditRewardScorer, EditScores

EditRewardConfig.register_for_auto_class()
EditRewardModel.register_for_auto_class("AutoModel")
EditRewardProcessor.register_for_auto_class("AutoProcessor")
AutoConfig.register(EditRewardConfig.model_type, EditRewardConfig, exist_ok=True)
AutoModel.register(EditRewardConfig, EditRewardModel, exist_ok=True)
AutoProcessor.register(EditRewardConfig, EditRewardProcessor, exist_ok=True)

__all__ = [
    "EditRewardConfig", "EditRewardModel", "EditRewardOutput", "EditRewardProcessor", "fuse_dimensions",
    "preference_probability", "REWARD_SUFFIX", "REWARD_TOKEN", "RUBRIC_PROMPTS", "EditRewardScorer", "EditScores",
]
