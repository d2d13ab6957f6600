"""Training EditReward models with TRL: losses, pair data and tie rules, the collator and the trainer."""

from .collator import EditPairCollator
from .editreward_config import EditRewardTrainingArguments
from .editreward_data import EDITREWARD_VOTES, INSTRUCTION_COLUMNS, from_editreward_data
from .pairs import DEFAULT_DIMENSIONS, PAIR_FEATURES, pair_features, validate_pairs
from .ties import TIE_MODES, disentangle_ties, tie_rule
from .trainer import EditRewardTrainer, compute_pair_metrics, configure_trainable_parameters, default_lora_config

__all__ = [
    "DEFAULT_DIMENSIONS", "EDITREWARD_VOTES", "INSTRUCTION_COLUMNS", "PAIR_FEATURES", "TIE_MODES", "EditPairCollator",
    "EditRewardTrainer", "EditRewardTrainingArguments", "compute_pair_metrics", "configure_trainable_parameters",
    "default_lora_config", "disentangle_ties", "from_editreward_data", "pair_features", "tie_rule", "validate_pairs",
]
