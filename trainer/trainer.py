"""EditRewardTrainer: TRL's RewardTrainer with image triplets, Gaussian ranking losses and tie-disentanglement."""

import copy

import datasets
import torch
from trl import RewardTrainer
from trl.trainer.utils import global_then_local_main_first

from editreward.modeling_editreward import EditRewardModel, EditRewardProcessor

from .card import write_training_record
from .collator import EditPairCollator
from .editreward_config import EditRewardTrainingArguments
from .losses import pairwise_loss, per_dimension_ranking_loss, pointwise_loss
from .pairs import pair_features, validate_pairs
from .ties import disentangle_ties

LANGUAGE_MODEL_LORA_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
EVAL_OUTPUTS = ("score_chosen", "score_rejected", "sigma_chosen", "sigma_rejected", "mu_chosen", "mu_rejected",
                "overall_target", "tie")


class EditRewardTrainer(RewardTrainer):
    """Trains an `EditRewardModel` on preference pairs of edits.

    `processing_class` is the `EditRewardProcessor` (checkpoints save it whole, so `AutoProcessor` loads them).
    Datasets follow `editreward.trainer.pairs`; rows are validated and their ties disentangled (`args.tie_mode`)
    before training, so no row is dropped silently. Pass `peft_config` for LoRA: adapters go on the language model
    only (unless the config says otherwise), and the heads and reward token are trained and saved in full.
    """

    _tag_names = ["trl", "reward-trainer", "editreward"]

    def __init__(self, model: EditRewardModel, args: EditRewardTrainingArguments | None = None, data_collator=None,
                 train_dataset=None, eval_dataset=None, processing_class: EditRewardProcessor | None = None,
                 compute_metrics=None, peft_config=None, **kwargs):
        if not isinstance(processing_class, EditRewardProcessor):
            raise TypeError("processing_class must be the model's EditRewardProcessor (AutoProcessor.from_pretrained).")
        if args is not None and not isinstance(args, EditRewardTrainingArguments):
            raise TypeError(f"args is a {type(args).__name__}; EditRewardTrainer needs EditRewardTrainingArguments (a "
                            "RewardConfig with the loss and tie options). Fix: build EditRewardTrainingArguments with "
                            "the same keyword arguments.")
        if isinstance(train_dataset, (datasets.DatasetDict, datasets.IterableDatasetDict)):
            splits = list(train_dataset)
            raise TypeError(f"train_dataset is a {type(train_dataset).__name__} with splits {splits}; training takes "
                            f"one split. Fix: pass train_dataset=pairs[{splits[0] if splits else 'train'!r}] (and "
                            "another split as eval_dataset).")
        args = args or EditRewardTrainingArguments(output_dir="editreward-output")
        self._dimensions = list(model.config.dimensions)
        configure_trainable_parameters(model, args.train_parts)
        super().__init__(
            model=model, args=args, data_collator=data_collator or EditPairCollator(processing_class),
            train_dataset=train_dataset, eval_dataset=eval_dataset, processing_class=processing_class.tokenizer,
            compute_metrics=compute_metrics or compute_pair_metrics,
            peft_config=_with_trainable_heads(peft_config, self._dimensions), **kwargs,
        )
        self.processing_class = processing_class

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        """Validate rows and disentangle ties, main process first as in TRL (no tokenising here: the collator
        processes images per batch)."""
        if isinstance(dataset, datasets.IterableDataset):
            raise TypeError(f"{dataset_name} dataset is an IterableDataset (streaming): EditRewardTrainer validates "
                            "the rows and disentangles ties before training. Fix: pass a map-style datasets.Dataset "
                            "(load_dataset without streaming=True, or load_from_disk).")
        with global_then_local_main_first():
            dataset = validate_pairs(dataset, self._dimensions, on_error=args.invalid_rows,
                                     require_scores=args.loss == "pointwise", validate_images=args.validate_images)
            if "overall_target" not in dataset.column_names:
                dataset = disentangle_ties(dataset, args.tie_mode, dimensions=self._dimensions)
        return dataset

    def _set_signature_columns_if_needed(self):
        """Keep the training-row columns the collator reads, not the model's forward arguments as TRL would."""
        if self._signature_columns is None:
            self._signature_columns = list(pair_features(targets=True))

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        mode = "train" if self.model.training else "eval"
        overall = inputs.pop("overall_target")
        dimension_targets = inputs.pop("dimension_targets")
        tie = inputs.pop("tie")
        human_scores = inputs.pop("human_scores", None)
        inputs.pop("use_cache", None)
        out = model(**inputs)
        n = overall.shape[0]
        loss = self._ranking_loss(out, overall, dimension_targets, human_scores)
        score_sigma = out.score_log_sigma.exp()
        if mode == "train":
            self._log_batch_metrics(out.score[:n], out.score[n:], score_sigma, overall, tie)
        if not return_outputs:
            return loss
        values = (out.score[:n], out.score[n:], score_sigma[:n], score_sigma[n:], out.mu[:n], out.mu[n:], overall, tie)
        return loss, dict(zip(EVAL_OUTPUTS, values))

    def _ranking_loss(self, out, overall, dimension_targets, human_scores):
        """Mean over supervised terms: the fused ranking of rows with an overall preference, plus each
        dimension's own ranking where it applies (rows without an overall preference, or every row with
        `per_dimension_supervision`). With loss='pointwise': the regression on the human scores, plus
        `pointwise_ranking_weight` times the mean per-dimension Bradley-Terry ranking."""
        args = self.args
        if args.loss == "pointwise":
            if human_scores is None:
                raise ValueError("loss='pointwise' needs chosen_scores and rejected_scores in every row.")
            loss = pointwise_loss(out.mu, human_scores, out.log_sigma).mean()
            if args.pointwise_ranking_weight:
                ranked, count = _per_dimension_terms("bradley_terry", out, dimension_targets.long())
                loss = loss + args.pointwise_ranking_weight * ranked / count.clamp(min=1)
            return loss
        n = overall.shape[0]
        options = dict(estimator=args.loss_estimator, num_nodes=args.quadrature_nodes,
                       num_samples=args.monte_carlo_samples)
        score, score_log_sigma = out.score, out.score_log_sigma
        fused = pairwise_loss(args.loss, score[:n], score_log_sigma[:n], score[n:], score_log_sigma[n:], **options)
        per_dimension_rows = torch.ones_like(overall) if args.per_dimension_supervision else (overall == 0).float()
        targets = dimension_targets.long() * per_dimension_rows.long().unsqueeze(-1)
        ranked, count = _per_dimension_terms(args.loss, out, targets, **options)
        return ((fused * overall).sum() + ranked) / (overall.sum() + count).clamp(min=1)

    def _log_batch_metrics(self, score_chosen, score_rejected, score_sigma, overall, tie):
        """Sums and counts over all processes in one collective, which every process makes whatever its batch holds
        (one with only tie rows too); accuracy is over the ranked pairs of all processes."""
        ranked = (overall > 0) & ~tie
        with torch.no_grad():
            chosen, rejected, sigma = score_chosen.float(), score_rejected.float(), score_sigma.float()
            totals = torch.stack([
                ((chosen > rejected) & ranked).sum().float(), ranked.sum().float(), chosen.sum(), rejected.sum(),
                sigma.sum(), chosen.new_tensor(chosen.numel()), sigma.new_tensor(sigma.numel()),
            ])
            correct, n_ranked, sum_chosen, sum_rejected, sum_sigma, n_pairs, n_sigma = (
                self.accelerator.reduce(totals, reduction="sum").tolist()
            )
        metrics = self._metrics["train"]
        if n_ranked:
            metrics["pair_accuracy"].append(correct / n_ranked)
        metrics["mu_chosen"].append(sum_chosen / n_pairs)
        metrics["mu_rejected"].append(sum_rejected / n_pairs)
        metrics["sigma"].append(sum_sigma / n_sigma)

    def create_model_card(self, model_name=None, dataset_name=None, tags=None):
        """The editreward model card, not TRL's text-model one: written by `save_model` and `save_merged_model`
        beside the weights it describes (TRL calls this before saving a checkpoint, when output_dir may hold none)."""
        if self.is_world_process_zero():
            write_training_record(self, self.args.output_dir)

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False):
        """`Trainer.save_model`, then `training_facts.json` and the editreward card beside the weights."""
        super().save_model(output_dir, _internal_call=_internal_call)
        if self.args.should_save:
            write_training_record(self, output_dir or self.args.output_dir)

    def save_merged_model(self, output_dir: str) -> torch.nn.Module | None:
        """Save a plain, Hub-native EditReward folder. With LoRA, the adapters are merged into a CPU copy of the model
        (host memory for one more model, none on the GPU), so the trainer's model keeps them. Call it on every
        process: only the main one writes. Returns the saved model (with LoRA the merged CPU copy) on the process that
        wrote it, None on the others."""
        model = self.accelerator.unwrap_model(self.model)
        merge = hasattr(model, "merge_and_unload")
        zero3 = self.is_deepspeed_enabled and self.accelerator.state.deepspeed_plugin.zero_stage == 3
        if merge and (zero3 or self.is_fsdp_enabled):
            raise NotImplementedError("save_merged_model merges LoRA into whole weights, not ZeRO-3 or FSDP shards. "
                                      "Fix: save the adapter with trainer.save_model() and merge it after training "
                                      "(PeftModel.from_pretrained(...).merge_and_unload()).")
        state_dict = None if merge else self.accelerator.get_state_dict(self.model)  # every process: gathers shards
        saved = None
        if self.args.should_save:
            saved = _cpu_copy(model).merge_and_unload() if merge else model
            saved.save_pretrained(output_dir, state_dict=state_dict)
            self.processing_class.save_pretrained(output_dir)
            write_training_record(self, output_dir)
        self.accelerator.wait_for_everyone()
        return saved


def _cpu_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A deep copy of `model` with every parameter and buffer on the CPU, copied one tensor at a time."""
    memo = {}
    for tensor in (*model.parameters(), *model.buffers()):
        copied = tensor.detach().to("cpu", copy=True)
        is_parameter = isinstance(tensor, torch.nn.Parameter)
        memo[id(tensor)] = torch.nn.Parameter(copied, tensor.requires_grad) if is_parameter else copied
    return copy.deepcopy(model, memo)


def _per_dimension_terms(loss: str, out, targets: torch.Tensor, **options):
    """(sum, count) of `loss` ranking each head's mean by its own dimension over the nonzero `targets` (+1 chosen
    wins that dimension, -1 rejected wins); rows are [chosen..., rejected...], as the collator stacks them."""
    if not targets.any():
        return out.mu.new_zeros(()), targets.new_zeros(())
    n = targets.shape[0]
    mu, log_sigma = out.mu, out.log_sigma
    terms = per_dimension_ranking_loss(loss, mu[:n], log_sigma[:n], mu[n:], log_sigma[n:], targets, **options)
    return terms.sum(), (targets != 0).sum()


def compute_pair_metrics(eval_prediction) -> dict[str, float]:
    """Eval metrics over the whole eval set (names distinct from TRL's batch-averaged `accuracy`)."""
    arrays = dict(zip(EVAL_OUTPUTS, eval_prediction.predictions))
    ranked = (arrays["overall_target"] > 0) & ~arrays["tie"].astype(bool)
    correct = arrays["score_chosen"][ranked] > arrays["score_rejected"][ranked]
    return {
        "pair_accuracy": float(correct.mean()) if ranked.any() else float("nan"),
        "mean_mu_chosen": float(arrays["score_chosen"].mean()),
        "mean_mu_rejected": float(arrays["score_rejected"].mean()),
        "mean_sigma": float((arrays["sigma_chosen"].mean() + arrays["sigma_rejected"].mean()) / 2),
    }


def configure_trainable_parameters(model: EditRewardModel, train_parts: str) -> None:
    """Freeze what `train_parts` leaves out. The input embedding matrix always stays frozen (as in the released
    models); the reward token trains through its own module."""
    for name, param in model.named_parameters():
        param.requires_grad_(
            name.startswith(("heads.", "reward_token."))
            or (train_parts == "full" and not name.startswith("model.language_model.embed_tokens"))
            or (train_parts == "freeze_vision" and name.startswith("model.language_model.")
                and "embed_tokens" not in name)
        )


def default_lora_config(r: int = 16, alpha: int = 32, dropout: float = 0.05, **kwargs):
    """LoRA on the language model's projections only (not the vision tower, which a plain list of
    `gate_proj/up_proj/down_proj` would also match)."""
    from peft import LoraConfig

    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=LANGUAGE_MODEL_LORA_TARGETS, **kwargs)


def _with_trainable_heads(peft_config, dimensions):
    """The heads and the reward token are new: LoRA must train them in full, and save them with the adapter."""
    if peft_config is None:
        return None
    keep = list(peft_config.modules_to_save or [])
    peft_config.modules_to_save = keep + [m for m in (*dimensions, "reward_token") if m not in keep]
    return peft_config
