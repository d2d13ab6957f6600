"""Rewards for reinforcement learning of image editors: `EditRewardFunction` (in process, batched by GRPO group,
optionally differentiable), per-prompt z-scores, adapters for TRL, flow_grpo and UniRL, and the HTTP server
(`editreward serve`, in `editreward.rewards.server`, which needs the `serve` extra).

Only mu is a reward. sigma (and log sigma) is the model's uncertainty about mu: penalise it (`uncertainty_penalty`)
if you like, never average it with mu.
"""

from .adapters import FlowGRPOReward, TRLReward, score_unirl_request
from .function import EditRewardFunction, RewardOutput
from .groups import DEFAULT_EPSILON, per_prompt_zscores

__all__ = ["DEFAULT_EPSILON", "EditRewardFunction", "FlowGRPOReward", "RewardOutput", "TRLReward", "per_prompt_zscores",
           "score_unirl_request"]  # fmt: skip
