"""Training EditReward models with TRL: losses, pair data and tie rules, the collator and the trainer."""

from .collator import EditPairCollator
from .configuration import EditRewardTrainingArguments
from .pairs import disentangle_ties, from_editreward_data, pair_features, validate_pairs
from .trainer import EditRewardTrainer, compute_pair_metrics, configure_trainable_parameters, default_lora_config

__all__ = [
    "EditPairCollator", "EditRewardTrainer", "EditRewardTrainingArguments", "compute_pair_metrics",
    "configure_trainable_parameters", "default_lora_config", "disentangle_ties", "from_editreward_data",
    "pair_features", "validate_pairs",
]
