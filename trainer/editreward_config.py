"""EditRewardTrainingArguments: TRL's RewardConfig plus the EditReward loss, tie and training-scope options."""

from dataclasses import dataclass, field

from trl import RewardConfig

from .losses import ESTIMATORS, PAIRWISE_LOSSES
from .ties import TIE_MODES

TRAIN_PARTS = ("full", "freeze_vision", "heads")
# RewardConfig options EditRewardTrainer does not implement: __post_init__ refuses any value but None rather than
# ignore it silently. Each maps to the fix its error message gives.
_REFUSED_TRL_OPTIONS = {
    "max_length": "a row's length follows from the processor's image_pixels and rubric prompts, so bound memory there",
    "center_rewards_coefficient": "only score differences enter the pairwise losses",
}


@dataclass
class EditRewardTrainingArguments(RewardConfig):
    r"""
    `RewardConfig` for EditReward. Defaults that differ from TRL's: `bf16` is on only where the hardware supports it
    and gradient checkpointing only where an accelerator is present and `use_cpu` is off (so the same script runs on
    CPU, where checkpointing saves no memory that matters and only costs time), `disable_dropout=False` (the released
    heads train with dropout 0.05), `max_length=None` (refused otherwise, as is `center_rewards_coefficient`), and
    the dataset columns the collator needs are kept. The released recipe (the EditReward paper's) is
    `learning_rate=2e-6`, `lr_scheduler_type="constant_with_warmup"`, `warmup_steps=0.05` (a float below 1 is a
    fraction of the training steps; transformers 5 has no `warmup_ratio`), per-device batch 2 x accumulation 4, bf16,
    gradient checkpointing, DeepSpeed ZeRO-2.
    """

    loss: str = field(
        default="expected_bt",
        metadata={"help": f"Ranking loss: one of {PAIRWISE_LOSSES} or 'pointwise'. 'expected_bt' is the released "
                  "models' objective; 'gaussian_nll' the true likelihood, under which sigma learns uncertainty; "
                  "'pointwise' regresses each head's mean on its human score and fits sigma to the error."},
    )
    loss_estimator: str = field(
        default="quadrature",
        metadata={"help": f"How expected_bt integrates over the score noise: one of {ESTIMATORS}. 'monte_carlo' with "
                  "1000 samples reproduces the official code."},
    )
    quadrature_nodes: int = field(default=32, metadata={"help": "Quadrature nodes for the Gaussian losses (>= 2)."})
    monte_carlo_samples: int = field(
        default=1000, metadata={"help": "Samples per pair for loss_estimator='monte_carlo' (>= 1)."}
    )
    pointwise_ranking_weight: float = field(
        default=0.0,
        metadata={"help": "With loss='pointwise', add this weight times a per-dimension Bradley-Terry ranking of each "
                  "head's mean, over the pairs whose human scores differ in that dimension. The regression learns "
                  "absolute scores; the ranking term learns relative cues (which of two edits is noisier) sooner."},
    )
    per_dimension_supervision: bool = field(
        default=False,
        metadata={"help": "Also rank each head by its own dimension's human scores (the released models rank only "
                  "the fused score). Ties disentangled 'by_dimension' are always supervised per dimension."},
    )
    tie_mode: str = field(
        default="both_orders",
        metadata={"help": f"How overall ties become training rows: one of {TIE_MODES} (see disentangle_ties)."},
    )
    invalid_rows: str = field(
        default="raise",
        metadata={"help": "'raise' on the first invalid row (missing image, NaN or infinite score, chosen equal to "
                  "rejected without a tie), or 'skip' invalid rows with one counted warning."},
    )
    validate_images: bool = field(
        default=False,
        metadata={"help": "Before training, check that every image will decode (validate_pairs(validate_images=True)): "
                  "each image's header and end marker (a truncated file), and a full decode of 64 evenly spaced "
                  "rows. Costs about 20 us per image plus the 192 decodes (seconds), against a run that would stop "
                  "at the first bad image; a bad image is an invalid row (invalid_rows)."},
    )
    train_parts: str = field(
        default="full",
        metadata={"help": f"What trains, one of {TRAIN_PARTS}: 'full' (all but the input embedding matrix, as the "
                  "released models), 'freeze_vision', 'heads' (heads and reward token). With peft_config, LoRA "
                  "adapters on the language model plus the heads and reward token."},
    )
    disable_dropout: bool = field(default=False, metadata={"help": "Zero every dropout (TRL's default is True)."})
    max_length: int | None = field(
        default=None,
        metadata={"help": "Not supported (TRL filters tokenised text by it): a row's length follows from the "
                  "processor's image_pixels and rubric prompts, so bound memory there. Must stay None."},
    )
    bf16: bool | None = field(
        default=None,
        metadata={"help": "bf16 mixed precision; default: on where CUDA supports bf16, off elsewhere (CPU)."},
    )
    gradient_checkpointing: bool | None = field(
        default=None,
        metadata={"help": "Recompute activations in the backward pass to save memory (alias of "
                  "activation_checkpointing); default: on where an accelerator is present and use_cpu is off, off on "
                  "CPU, where it only costs time.", "nargs": "?", "const": True},
    )

    def __post_init__(self):
        for name, value, choices in (
            ("loss", self.loss, (*PAIRWISE_LOSSES, "pointwise")),
            ("loss_estimator", self.loss_estimator, ESTIMATORS),
            ("tie_mode", self.tie_mode, TIE_MODES),
            ("invalid_rows", self.invalid_rows, ("raise", "skip")),
            ("train_parts", self.train_parts, TRAIN_PARTS),
        ):
            if value not in choices:
                raise ValueError(f"{name}={value!r} is not supported; use one of {choices}.")
        if self.pointwise_ranking_weight and self.loss != "pointwise":
            raise ValueError("pointwise_ranking_weight applies to loss='pointwise' only; per_dimension_supervision "
                             "ranks each head under the pairwise losses.")
        if self.pointwise_ranking_weight < 0 or self.pointwise_ranking_weight != self.pointwise_ranking_weight:
            raise ValueError(f"pointwise_ranking_weight must be a number >= 0, got {self.pointwise_ranking_weight}.")
        if self.loss_estimator != "quadrature" and self.loss != "expected_bt":
            raise ValueError("loss_estimator='monte_carlo' applies to loss='expected_bt' only.")
        if self.quadrature_nodes < 2:
            raise ValueError(f"quadrature_nodes={self.quadrature_nodes}: one node or fewer ignores sigma. Fix: use at "
                             "least 2 (the default 32 is the tested setting).")
        if self.monte_carlo_samples < 1:
            raise ValueError(f"monte_carlo_samples={self.monte_carlo_samples}: the loss would be NaN. Fix: use at "
                             "least 1 (the official estimator uses 1000).")
        if self.per_dimension_supervision and self.loss == "pointwise":
            raise ValueError("per_dimension_supervision applies to the pairwise losses only; loss='pointwise' already "
                             "fits every head. Fix: drop it, or set pointwise_ranking_weight to add a per-dimension "
                             "ranking.")
        for name, fix in _REFUSED_TRL_OPTIONS.items():
            if getattr(self, name) is not None:
                raise ValueError(f"{name}={getattr(self, name)} is not supported by EditRewardTrainer (it would be "
                                 f"ignored). Fix: leave it None; {fix}.")
        if self.bf16 is None:
            self.bf16 = not self.fp16 and not self.use_cpu and _cuda_bf16()
        if self.gradient_checkpointing is None and self.activation_checkpointing is None:
            self.activation_checkpointing = not self.use_cpu and _accelerator_present()
        super().__post_init__()


def _cuda_bf16() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def _accelerator_present() -> bool:
    """A CUDA, XPU, MPS or other torch accelerator is usable (what Trainer would place the model on)."""
    import torch

    return torch.accelerator.is_available()
