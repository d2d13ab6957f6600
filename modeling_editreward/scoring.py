"""One-call batched scoring for people who do not want to touch tensors."""

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from transformers import BatchFeature
from transformers.utils import logging

from .gaussian import preference_probability
from .modeling_editreward import EditRewardModel
from .packing_editreward import RowStructure
from .processing_editreward import EditRewardProcessor, as_triplet_lists

logger = logging.get_logger(__name__)
DEFAULT_MAX_BATCH_TOKENS = 16384  # language-model tokens per forward: a group of 8 edits at the released budget

_HUB_KWARGS = ("revision", "token", "cache_dir", "local_files_only", "force_download", "proxies", "subfolder")


@dataclass
class EditScores:
    """Scores of N edits: the fused score and its spread, and each dimension's Gaussian (mu, sigma).

    `scores[i]` is edit i's record (a dict), `scores[[2, 0]]` or `scores[1:]` the selected edits' `EditScores`;
    `best` and `ranking()` give the best edit and the order best first; `preference_probability(i, j)` the
    probability that edit i is preferred to edit j; `to_records()` and `to_pandas()` one row per edit."""

    dimensions: list[str]
    score: np.ndarray  # [N] fused score (higher is better; uncalibrated, compare within one model)
    score_sigma: np.ndarray  # [N] spread of the fused score
    mu: np.ndarray  # [N, D]
    sigma: np.ndarray  # [N, D]

    def __len__(self) -> int:
        return len(self.score)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self.to_records()[self._position(index)]
        index = np.arange(len(self))[index]  # a slice, a list of positions or a boolean mask
        return EditScores(list(self.dimensions), self.score[index], self.score_sigma[index], self.mu[index],
                          self.sigma[index])  # fmt: skip

    @property
    def best(self) -> int:
        """Position of the edit with the highest fused score (the first of equals)."""
        return int(np.argmax(self.score))

    def ranking(self, by: str = "score") -> list[int]:
        """Positions of the edits best first, by the fused score or one dimension's mu (stable among equals)."""
        values = self.score if by == "score" else self.mu[:, self._dimension(by)]
        return [int(i) for i in np.argsort(-values, kind="stable")]

    def preference_probability(self, i: int, j: int, dimension: str | None = None) -> float:
        """P(edit i preferred to edit j) under the fused Gaussians, or one dimension's: E[sigmoid(z)],
        z ~ N(mu_i - mu_j, sigma_i^2 + sigma_j^2) (see `editreward.preference_probability`)."""
        i, j = self._position(i), self._position(j)
        if dimension is None:
            mu, sigma = self.score, self.score_sigma
        else:
            d = self._dimension(dimension)
            mu, sigma = self.mu[:, d], self.sigma[:, d]
        return preference_probability(float(mu[i]), float(np.log(sigma[i])), float(mu[j]), float(np.log(sigma[j])))

    def to_records(self) -> list[dict]:
        """One JSON-ready dict per edit."""
        return [
            {
                "score": float(self.score[i]),
                "score_sigma": float(self.score_sigma[i]),
                **{f"{d}_mu": float(self.mu[i, j]) for j, d in enumerate(self.dimensions)},
                **{f"{d}_sigma": float(self.sigma[i, j]) for j, d in enumerate(self.dimensions)},
            }
            for i in range(len(self))
        ]

    def to_pandas(self):
        """A pandas DataFrame, one row per edit in input order, with the records' columns and `rank` (1 = best)."""
        import pandas as pd

        frame = pd.DataFrame.from_records(self.to_records())
        frame["rank"] = np.argsort(self.ranking()) + 1
        return frame

    def _position(self, index) -> int:
        if not -len(self) <= index < len(self):
            raise IndexError(f"edit {index} is out of range: these scores hold {len(self)} edits.")
        return int(index) % len(self)

    def _dimension(self, name: str) -> int:
        if name not in self.dimensions:
            raise ValueError(f"dimension {name!r} is unknown; this model scores {list(self.dimensions)}.")
        return list(self.dimensions).index(name)


def is_single_image(value) -> bool:
    """Whether `value` is one image (a PIL image, a file path, encoded bytes, an HWC or HW array), not a list."""
    from PIL import Image

    return isinstance(value, (Image.Image, str, bytes, os.PathLike)) or (isinstance(value, np.ndarray) and value.ndim <= 3)


def device_and_dtype(device=None, dtype=None) -> tuple[torch.device, torch.dtype | None]:
    """`device` or, by default, CUDA when available, else CPU; `dtype` as a torch dtype (a name is accepted)."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if isinstance(dtype, str):
        if not isinstance(getattr(torch, dtype, None), torch.dtype):
            raise ValueError(f"dtype={dtype!r} is not a torch dtype; use e.g. 'bfloat16', 'float16' or 'float32'.")
        dtype = getattr(torch, dtype)
    return device, dtype


def loading_device_and_dtype(device=None, dtype=None) -> tuple[torch.device, torch.dtype]:
    """`device_and_dtype`, with the dtype `EditRewardScorer.from_pretrained` loads in by default: bfloat16 on CUDA,
    float32 on CPU."""
    device, dtype = device_and_dtype(device, dtype)
    return device, dtype or (torch.bfloat16 if device.type == "cuda" else torch.float32)


@dataclass
class TripletTokens:
    """What one triplet adds to a forward's language-model tokens, read from the processor's rows."""

    source: int  # its source image (packing shares the prefix of equal sources)
    edited: int  # its edited image (and the edited-image segment of equal edits)
    prefix: int  # tokens of the system prompt and source image
    edit: int  # tokens of the edited image segment
    tails: int  # tokens of its rubric rows, up to each row's last reward token
    row: int  # length of its longest row up to the last reward token (without packing)

    @classmethod
    def of(cls, inputs, config) -> list["TripletTokens"]:
        """One per triplet of a processor batch (rows triplet-major: one per dimension, or one if compact)."""
        per_triplet = config.rows_per_triplet
        image_index = inputs["image_index"]
        rows = RowStructure.of(inputs["input_ids"], inputs["attention_mask"],
                               image_index.repeat_interleave(per_triplet, dim=0), config)  # fmt: skip
        prefix, edit_end = rows.prefix_end.view(-1, per_triplet), rows.edit_end.view(-1, per_triplet)
        reward = rows.reward_col.view(-1, per_triplet)
        tails, row = (reward + 1 - edit_end).sum(-1), (reward + 1).max(-1).values
        return [cls(*values) for values in zip(image_index[:, 0].tolist(), image_index[:, 1].tolist(),
                                               prefix[:, 0].tolist(), (edit_end - prefix)[:, 0].tolist(),
                                               tails.tolist(), row.tolist())]  # fmt: skip


def batch_tokens(triplets: list[TripletTokens], rows_per_triplet: int, packed: bool) -> int:
    """Tokens one forward over these triplets computes, padding included: with shared-prefix packing, one packed row
    per source (its prefix once, each distinct edited image once, every rubric row) times the longest; without it,
    each triplet's rows times the longest row."""
    if not packed:
        return len(triplets) * rows_per_triplet * max(t.row for t in triplets)
    lengths, edits = {}, set()
    for t in triplets:
        lengths[t.source] = lengths.get(t.source, t.prefix) + t.tails + (t.edit if (t.source, t.edited) not in edits else 0)
        edits.add((t.source, t.edited))
    return len(lengths) * max(lengths.values())


def next_batch(triplets: list[TripletTokens], start: int, max_tokens: int, max_edits: int, rows_per_triplet: int,
               packed: bool) -> int:  # fmt: skip
    """End of the longest run of triplets from `start` within both limits (at least one triplet)."""
    stop = start + 1
    while (stop < len(triplets) and stop - start < max_edits
           and batch_tokens(triplets[start : stop + 1], rows_per_triplet, packed) <= max_tokens):  # fmt: skip
        stop += 1
    return stop


def select_triplets(inputs, start: int, stop: int, rows_per_triplet: int) -> BatchFeature:
    """The processor batch of triplets `start:stop` of `inputs`: their rows and only the images they use."""
    if start == 0 and stop == inputs["image_index"].shape[0]:
        return inputs
    used, image_index = torch.unique(inputs["image_index"][start:stop], return_inverse=True)
    grids = inputs["image_grid_thw"]
    patches = inputs["pixel_values"].split(grids.prod(-1).tolist())
    rows = slice(start * rows_per_triplet, stop * rows_per_triplet)
    length = int(inputs["attention_mask"][rows].sum(-1).max())  # right-padded: drop the columns only others used
    return BatchFeature({
        "input_ids": inputs["input_ids"][rows, :length], "attention_mask": inputs["attention_mask"][rows, :length],
        "pixel_values": torch.cat([patches[i] for i in used.tolist()]), "image_grid_thw": grids[used],
        "image_index": image_index,
    })  # fmt: skip


def forward_in_batches(forward, inputs, model, max_tokens: int, max_edits: int) -> tuple[list, int]:
    """`forward` over the triplets of one processor batch, in order, in batches of at most `max_edits` triplets and
    `max_tokens` language-model tokens (`batch_tokens`: a group's packed length). After an out-of-memory error the
    batch is halved and retried, and the rest keep the halved size; every triplet is run exactly once. Returns the
    outputs in order and the edits-per-forward limit for what follows."""
    config, packed = model.config, model._shares_prefix()
    per_triplet = config.rows_per_triplet
    triplets = TripletTokens.of(inputs, config)
    outputs, start = [], 0
    while start < len(triplets):
        stop = next_batch(triplets, start, max_tokens, max_edits, per_triplet, packed)
        try:
            outputs.append(forward(select_triplets(inputs, start, stop, per_triplet)))
            start = stop
            continue
        except torch.OutOfMemoryError as error:
            tokens = batch_tokens(triplets[start:stop], per_triplet, packed)
            if stop - start == 1:
                raise torch.OutOfMemoryError(
                    f"One edit ({tokens} language-model tokens) does not fit in memory on {model.device}; lower the "
                    "image budget (image_pixels), score in bfloat16, or use a larger device."
                ) from error
        max_edits = (stop - start) // 2  # outside the except block, so the failed batch's tensors are freed
        logger.warning(f"Out of memory scoring {stop - start} edits ({tokens} tokens) in one forward; retrying "
                       f"with at most {max_edits} edits per forward.")  # fmt: skip
        if model.device.type == "cuda":
            torch.cuda.empty_cache()
    return outputs, max_edits


class EditRewardScorer:
    """Scores (source, instruction, edited) triplets in batches under `torch.inference_mode`.

    Images may be PIL images, file paths or numpy arrays. Within a batch every distinct image is encoded once, so
    scoring several edits of one source together (`score_group`) is cheaper than scoring them one by one.

    Batches are sized by tokens: the processor reads up to `batch_size` triplets at a time, and each forward takes
    as many of them as fit `max_batch_tokens` language-model tokens (a group's packed length, padding included,
    computed from the processor's rows before the forward). When a forward runs out of accelerator memory
    (`torch.OutOfMemoryError`) the batch is halved and retried, and later batches of the call keep the halved size;
    every triplet is scored exactly once, and the scores do not depend on how the triplets were batched.

    The scorer uses `model` itself, not a copy: it moves it to `device` in place (CUDA when available, else CPU),
    casts it to `dtype` when one is given (else it keeps the model's dtype), and sets it to eval mode.
    """

    def __init__(self, model: EditRewardModel, processor: EditRewardProcessor, batch_size: int = 8, device=None,
                 dtype=None, max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS):  # fmt: skip
        model.config.check_processor(processor)
        for name, value in (("batch_size", batch_size), ("max_batch_tokens", max_batch_tokens)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        self.device, dtype = device_and_dtype(device, dtype)
        self.model = model.to(device=self.device, dtype=dtype).eval()
        self.processor = processor
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens

    @classmethod
    def from_pretrained(cls, path: str, batch_size: int = 8, device=None, dtype=None,
                        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS, **kwargs) -> "EditRewardScorer":  # fmt: skip
        """Load a model folder or Hub id (weights, config, processor) on `device` in `dtype` (default: CUDA in
        bfloat16 when available, else CPU in float32). `kwargs` go to the model's `from_pretrained`; the Hub
        arguments among them (revision, token, cache_dir, local_files_only, ...) to the processor's too."""
        from transformers import AutoModel, AutoProcessor

        device, dtype = loading_device_and_dtype(device, dtype)
        model = AutoModel.from_pretrained(path, trust_remote_code=True, dtype=dtype, **kwargs)
        hub = {key: kwargs[key] for key in _HUB_KWARGS if key in kwargs}
        processor = AutoProcessor.from_pretrained(path, trust_remote_code=True, **hub)
        return cls(model, processor, batch_size=batch_size, device=device, dtype=dtype,
                   max_batch_tokens=max_batch_tokens)  # fmt: skip

    def __call__(self, source_images, instructions, edited_images) -> EditScores:
        """Score N triplets given as three equal-length lists (or one triplet given as three single items)."""
        source_images, instructions, edited_images = as_triplet_lists(source_images, instructions, edited_images)
        outputs, max_edits = [], self.batch_size
        for i in range(0, len(edited_images), self.batch_size):
            window = slice(i, i + self.batch_size)
            max_edits = self._score_window(source_images[window], instructions[window], edited_images[window],
                                           max_edits, outputs)  # fmt: skip
        return EditScores(self.model.config.dimensions, *(np.concatenate(parts) for parts in zip(*outputs)))

    def score_group(self, source_image, instruction: str, edited_images) -> EditScores:
        """Score several candidate edits of one source image under one instruction (one image is a group of one)."""
        if is_single_image(edited_images):
            edited_images = [edited_images]
        elif not isinstance(edited_images, Sequence):
            raise TypeError(f"edited_images is a {type(edited_images).__name__}; give a list of edited images (PIL "
                            "images, file paths or arrays), or one image.")
        count = len(edited_images)
        return self([source_image] * count, [instruction] * count, list(edited_images))

    @torch.inference_mode()
    def _score_window(self, sources, instructions, edits, max_edits: int, outputs: list) -> int:
        """Score one processor call's triplets in token-budget batches, appending to `outputs` in order; returns
        the edits-per-forward limit for the rest of the call (halved after each out-of-memory error)."""
        inputs = self.processor(source_images=list(sources), instructions=list(instructions), edited_images=list(edits))
        parts, max_edits = forward_in_batches(self._forward, inputs, self.model, self.max_batch_tokens, max_edits)
        outputs.extend(parts)
        return max_edits

    def _forward(self, inputs):
        inputs = inputs.to(self.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        out = self.model(**inputs)
        return (out.score.cpu().numpy(), out.score_log_sigma.exp().cpu().numpy(), out.mu.cpu().numpy(), out.sigma.cpu().numpy())
