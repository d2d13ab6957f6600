"""EditRewardFunction: the reward of RL for image editors, one float per edit, in process."""

import re
from dataclasses import dataclass
from collections.abc import Mapping

import numpy as np
import torch
from transformers.utils import ModelOutput

from editreward.modeling_editreward.scoring import (
    DEFAULT_MAX_BATCH_TOKENS,
    EditRewardScorer,
    forward_in_batches,
    is_single_image,
)

from . import differentiable as diff
from .groups import DEFAULT_EPSILON, plan_batches, per_prompt_zscores
from .images import as_image_list, check_tensor_image, content_key, to_loadable

_NAMED = re.compile(r"\b(source_images|edited_images|instructions)\[0\]")
_INPUT_ERRORS = (ValueError, TypeError, FileNotFoundError)


@dataclass
class RewardOutput(ModelOutput):
    """
    Rewards of N edits and the Gaussians behind them (tensors on the edited images' device, else the CPU).

    Args:
        rewards (`torch.FloatTensor` of shape `(N,)`): what to train on: the fused mu by default, or the weighted
            dimensions' mu, minus `uncertainty_penalty` times its sigma when asked.
        score (`torch.FloatTensor` of shape `(N,)`): the fused mu (the model's overall score).
        score_sigma (`torch.FloatTensor` of shape `(N,)`): the fused spread, exp(score_log_sigma): an
            uncertainty, not a score.
        mu, sigma (`torch.FloatTensor` of shape `(N, num_dimensions)`): each dimension's Gaussian.
    """

    rewards: torch.FloatTensor | None = None
    score: torch.FloatTensor | None = None
    score_sigma: torch.FloatTensor | None = None
    mu: torch.FloatTensor | None = None
    sigma: torch.FloatTensor | None = None


class EditRewardFunction:
    r"""
    Rewards (source image, instruction, edited image) triplets for reinforcement learning: a float tensor, one
    reward per edit. The reward is the fused mu (`score`) unless `weights` says otherwise; sigma is the model's
    uncertainty about mu and never a reward (`uncertainty_penalty=k` subtracts k * sigma).

    Edits sharing a (source, instruction) (a GRPO group) are scored in one forward call, which encodes the source
    and the prompt once for the whole group; calls hold at most `max_batch_edits` edits and `max_batch_tokens`
    language-model tokens (a group's packed length), and a call that runs out of accelerator memory is halved and
    retried (the rest of the call keeps the halved size), every edit scored exactly once.

    Args:
        model, processor: an `EditRewardModel` and its `EditRewardProcessor` (used in place: moved to `device`,
            cast to `dtype` when given, set to eval mode).
        weights (`dict[str, float]`, *optional*): reward = sum of weight * mu over the named dimensions (the rest
            weigh 0); its sigma is sqrt(sum of weight^2 * sigma^2).
        uncertainty_penalty (`float`, defaults to 0): k in reward = mu - k * sigma.
        max_batch_edits (`int`, defaults to 32): edits per forward call.
        max_batch_tokens (`int`, defaults to 16384): language-model tokens per forward call.
        differentiable (`bool`, defaults to False): preprocess the edited images in torch and keep the graph, so
            that the rewards' gradient reaches their pixels (edited images must then be float tensors).
        train_model (`bool`, defaults to False): with `differentiable`, let gradients reach the reward model's
            weights too; otherwise its weights are frozen (`requires_grad=False`).
    """

    __name__ = "editreward"  # the name TRL logs a reward function under

    def __init__(self, model, processor, weights: Mapping[str, float] | None = None, uncertainty_penalty: float = 0.0,
                 max_batch_edits: int = 32, differentiable: bool = False, train_model: bool = False, device=None,
                 dtype=None, max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS):  # fmt: skip
        scorer = EditRewardScorer(model, processor, batch_size=max_batch_edits, device=device, dtype=dtype,
                                  max_batch_tokens=max_batch_tokens)  # fmt: skip
        self.max_batch_tokens = max_batch_tokens
        self.model, self.processor, self.device = scorer.model, scorer.processor, scorer.device
        self.dimensions = list(self.model.config.dimensions)
        self.weights = self._weight_vector(weights)
        if uncertainty_penalty < 0:
            raise ValueError(f"uncertainty_penalty must be >= 0 (reward = mu - k * sigma), got {uncertainty_penalty}.")
        self.uncertainty_penalty = float(uncertainty_penalty)
        self.max_batch_edits = max_batch_edits
        self.differentiable = differentiable
        if train_model and not differentiable:
            raise ValueError("train_model=True needs differentiable=True (gradients flow only on that path).")
        if differentiable and not train_model:
            self.model.requires_grad_(False)

    @classmethod
    def from_pretrained(cls, path, device=None, dtype=None, model_kwargs: dict | None = None, **options):
        """Load a model folder or Hub id as `EditRewardScorer.from_pretrained` does (CUDA in bfloat16 when
        available, else CPU in float32); `options` are this class's (weights, uncertainty_penalty, ...)."""
        scorer = EditRewardScorer.from_pretrained(str(path), device=device, dtype=dtype, **(model_kwargs or {}))
        return cls(scorer.model, scorer.processor, device=scorer.device, **options)

    def _weight_vector(self, weights):
        if weights is None:
            return None
        unknown = sorted(set(weights) - set(self.dimensions))
        if unknown:
            raise ValueError(f"weights name unknown dimensions {unknown}; this model scores {self.dimensions}.")
        return torch.tensor([float(weights.get(d, 0.0)) for d in self.dimensions])

    def __call__(self, source_images, instructions, edited_images) -> torch.Tensor:
        """The rewards, a float tensor of shape (N,). A single source image or instruction applies to every edit."""
        return self.score(source_images, instructions, edited_images).rewards

    def score(self, source_images, instructions, edited_images) -> RewardOutput:
        """Rewards with the fused and per-dimension Gaussians (`RewardOutput`)."""
        items = self._prepare(source_images, instructions, edited_images)
        return self._score_prepared(items, list(range(len(items["edits"]))))

    def score_items(self, source_images, instructions, edited_images) -> tuple[RewardOutput, dict[int, str]]:
        """`score`, with a bad item failing alone: its rows are NaN and `errors[i]` says why (for servers)."""
        items = self._prepare(source_images, instructions, edited_images, check=False)
        errors = self._failures(items, range(len(items["edits"])), checked_only=True)
        good = [i for i in range(len(items["edits"])) if i not in errors]
        if good:
            try:
                scored = self._score_prepared(items, good)
            except _INPUT_ERRORS:
                errors.update(self._failures(items, good))
                good = [i for i in good if i not in errors]
                scored = self._score_prepared(items, good) if good else None
        n, dims = len(items["edits"]), len(self.dimensions)
        full = RewardOutput(rewards=torch.full((n,), float("nan")), score=torch.full((n,), float("nan")),
                            score_sigma=torch.full((n,), float("nan")), mu=torch.full((n, dims), float("nan")),
                            sigma=torch.full((n, dims), float("nan")))  # fmt: skip
        if good:
            index = torch.tensor(good)
            for field in full.keys():
                full[field][index] = scored[field].detach().cpu().float()
        return full, dict(sorted(errors.items()))

    def group_advantages(self, source_images, instructions, edited_images, epsilon: float = DEFAULT_EPSILON,
                         global_std: bool = False) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """(rewards, per-prompt z-scores), the groups being the edits of one (source image, instruction)."""
        items = self._prepare(source_images, instructions, edited_images)
        rewards = self._score_prepared(items, list(range(len(items["edits"])))).rewards
        return rewards, per_prompt_zscores(rewards, items["keys"], epsilon=epsilon, global_std=global_std)

    def group_keys(self, source_images, instructions, edited_images) -> list:
        """The (source content, instruction) key of each edit: equal keys are one group."""
        return self._prepare(source_images, instructions, edited_images)["keys"]

    # preparation ------------------------------------------------------------------------------------------------

    def _prepare(self, source_images, instructions, edited_images, check: bool = True) -> dict:
        edits = as_image_list(edited_images, "edited_images")
        if not edits:
            raise ValueError("No edits given: edited_images is empty.")
        single_source = is_single_image(source_images) or (isinstance(source_images, torch.Tensor)
                                                             and source_images.ndim == 3)  # fmt: skip
        sources = [source_images] * len(edits) if single_source else as_image_list(source_images, "source_images")
        instructions = [instructions] * len(edits) if isinstance(instructions, str) else list(instructions)
        lengths = {"source_images": len(sources), "instructions": len(instructions), "edited_images": len(edits)}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"source_images, instructions and edited_images must have the same length (or give one "
                             f"source image or one instruction for all edits), got {lengths}.")  # fmt: skip
        loadable, keys, cache, source_errors = [], [], {}, {}
        for i, source in enumerate(sources):
            if id(source) not in cache:  # one conversion and one digest per distinct source object
                try:
                    converted = to_loadable(source, f"source_images[{i}]")
                    cache[id(source)] = (converted, content_key(converted))
                except _INPUT_ERRORS as error:
                    if check:
                        raise
                    cache[id(source)] = (None, _message(error))
            converted, key = cache[id(source)]
            if converted is None:
                source_errors[i] = re.sub(r"source_images\[\d+\]", f"source_images[{i}]", key)
            loadable.append(converted)
            keys.append((key, str(instructions[i])))
        if self.differentiable:
            for i, edit in enumerate(edits):
                if not (isinstance(edit, torch.Tensor) and edit.is_floating_point()):
                    raise TypeError(f"edited_images[{i}] is a {type(edit).__name__}; differentiable=True needs float "
                                    "tensors in [0, 1] (CHW, or NCHW for the batch).")  # fmt: skip
                check_tensor_image(edit, f"edited_images[{i}]")
        elif check:
            edits = [to_loadable(edit, f"edited_images[{i}]") for i, edit in enumerate(edits)]
        out_device = edits[0].device if isinstance(edits[0], torch.Tensor) else torch.device("cpu")
        return {"sources": loadable, "instructions": instructions, "edits": edits, "keys": keys, "device": out_device,
                "source_errors": source_errors}

    def _failures(self, items, positions, checked_only: bool = False) -> dict[int, str]:
        """Why each failing item fails, named by its position: conversion (always), and the processor on the item
        alone (unless `checked_only`)."""
        errors = {}
        for i in positions:
            if i in items["source_errors"]:
                errors[i] = items["source_errors"][i]
                continue
            try:
                if not self.differentiable:
                    items["edits"][i] = to_loadable(items["edits"][i], f"edited_images[{i}]")
                if not checked_only:
                    edit = items["edits"][i]
                    if self.differentiable:
                        edit = _placeholder((edit.shape[-1], edit.shape[-2]), 0)
                    self.processor(source_images=[items["sources"][i]], instructions=[items["instructions"][i]],
                                   edited_images=[edit])  # fmt: skip
            except _INPUT_ERRORS as error:
                errors[i] = _NAMED.sub(lambda m: f"{m.group(1)}[{i}]", _message(error))
        return errors

    # scoring ------------------------------------------------------------------------------------------------------

    def _score_prepared(self, items, positions: list[int]) -> RewardOutput:
        keys = [items["keys"][i] for i in positions]
        parts, order, limit = [], [], self.max_batch_edits
        for batch in plan_batches(keys, self.max_batch_edits):
            members = [positions[b] for b in batch]
            try:
                part, limit = self._forward(items, members, limit)
                parts.append(part)
            except _INPUT_ERRORS:
                failures = self._failures(items, members)
                if failures:
                    raise ValueError(next(iter(failures.values()))) from None
                raise
            order += members
        fields = {name: torch.cat([p[name] for p in parts]) for name in ("score", "score_log_sigma", "mu", "log_sigma")}
        rank = {position: k for k, position in enumerate(positions)}
        inverse = torch.empty(len(order), dtype=torch.long)
        inverse[torch.tensor([rank[o] for o in order])] = torch.arange(len(order))
        fields = {name: value[inverse.to(value.device)] for name, value in fields.items()}
        sigma = fields["log_sigma"].exp()
        score_sigma = fields["score_log_sigma"].exp()
        if self.weights is None:
            mean, spread = fields["score"], score_sigma
        else:
            weights = self.weights.to(fields["mu"].device)
            mean, spread = fields["mu"] @ weights, ((sigma**2) @ weights**2).sqrt()
        rewards = mean - self.uncertainty_penalty * spread if self.uncertainty_penalty else mean
        out = {"rewards": rewards, "score": fields["score"], "score_sigma": score_sigma, "mu": fields["mu"], "sigma": sigma}
        return RewardOutput(**{name: value.to(items["device"]) for name, value in out.items()})

    def _forward(self, items, members: list[int], max_edits: int) -> tuple[dict, int]:
        """The model's outputs for `members` (token-budget batches, halved on out-of-memory errors) and the
        edits-per-forward limit for the rest of the call."""
        sources = [items["sources"][i] for i in members]
        instructions = [items["instructions"][i] for i in members]
        if not self.differentiable:
            with torch.inference_mode():
                return self._run(self.processor(source_images=sources, instructions=instructions,
                                                edited_images=[items["edits"][i] for i in members]), max_edits)  # fmt: skip
        edits = [items["edits"][i] for i in members]
        sizes = [diff.budget_size(edit, self.processor, f"edited_images[{i}]") for edit, i in zip(edits, members)]
        # at the edit's own size, so that the processor computes the same grid (its budget resize is not idempotent)
        placeholders = [_placeholder((edit.shape[-1], edit.shape[-2]), k) for k, edit in enumerate(edits)]
        inputs = self.processor(source_images=sources, instructions=instructions, edited_images=placeholders)
        _check_distinct_edits(inputs)
        if self.processor.edited_image_frames == "source_then_edited":  # the edit takes its source's size
            patch = self.processor.patch_size
            grids = inputs["image_grid_thw"]
            sizes = [(int(grids[s][2]) * patch, int(grids[s][1]) * patch) for s, _ in inputs["image_index"].tolist()]
        patches = [diff.edited_patches(edit.to(self.device), self.processor, size) for edit, size in zip(edits, sizes)]
        inputs["pixel_values"] = diff.splice_edited_patches(inputs, patches, self.processor)
        with torch.enable_grad():
            return self._run(inputs, max_edits)

    def _run(self, inputs, max_edits: int) -> tuple[dict, int]:
        parts, max_edits = forward_in_batches(self._run_batch, inputs, self.model, self.max_batch_tokens, max_edits)
        return {name: torch.cat([part[name] for part in parts]) for name in parts[0]}, max_edits

    def _run_batch(self, inputs) -> dict:
        inputs = inputs.to(self.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        out = self.model(**inputs)
        return {"score": out.score, "score_log_sigma": out.score_log_sigma, "mu": out.mu, "log_sigma": out.log_sigma}


def _placeholder(size: tuple[int, int], k: int) -> np.ndarray:
    """An image of `size` in one colour that spells `k` (a flat colour survives resizing exactly): distinct from
    the batch's other placeholders, so that each edit keeps its own entry, whose patches the torch ones replace."""
    width, height = size
    return np.broadcast_to(np.array([k % 256, (k // 256) % 256, 173], dtype=np.uint8), (height, width, 3))


def _check_distinct_edits(inputs) -> None:
    index = inputs["image_index"]
    edited = index[:, 1].tolist()
    if len(set(edited)) != len(edited) or set(edited) & set(index[:, 0].tolist()):
        raise RuntimeError("A placeholder edit was merged with another image; score this batch in smaller calls.")


def _message(error: BaseException) -> str:
    return str(error.args[0]) if getattr(error, "args", None) else str(error)
