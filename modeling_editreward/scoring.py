"""One-call batched scoring for people who do not want to touch tensors."""

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .gaussian import preference_probability
from .modeling_editreward import EditRewardModel
from .processing_editreward import EditRewardProcessor, as_triplet_lists

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


class EditRewardScorer:
    """Scores (source, instruction, edited) triplets in batches under `torch.inference_mode`.

    Images may be PIL images, file paths or numpy arrays. Within a batch every distinct image is encoded once, so
    scoring several edits of one source together (`score_group`) is cheaper than scoring them one by one.

    The scorer uses `model` itself, not a copy: it moves it to `device` in place (CUDA when available, else CPU),
    casts it to `dtype` when one is given (else it keeps the model's dtype), and sets it to eval mode.
    """

    def __init__(self, model: EditRewardModel, processor: EditRewardProcessor, batch_size: int = 8, device=None, dtype=None):
        model.config.check_processor(processor)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        self.device, dtype = device_and_dtype(device, dtype)
        self.model = model.to(device=self.device, dtype=dtype).eval()
        self.processor = processor
        self.batch_size = batch_size

    @classmethod
    def from_pretrained(cls, path: str, batch_size: int = 8, device=None, dtype=None, **kwargs) -> "EditRewardScorer":
        """Load a model folder or Hub id (weights, config, processor) on `device` in `dtype` (default: CUDA in
        bfloat16 when available, else CPU in float32). `kwargs` go to the model's `from_pretrained`; the Hub
        arguments among them (revision, token, cache_dir, local_files_only, ...) to the processor's too."""
        from transformers import AutoModel, AutoProcessor

        device, dtype = loading_device_and_dtype(device, dtype)
        model = AutoModel.from_pretrained(path, trust_remote_code=True, dtype=dtype, **kwargs)
        hub = {key: kwargs[key] for key in _HUB_KWARGS if key in kwargs}
        processor = AutoProcessor.from_pretrained(path, trust_remote_code=True, **hub)
        return cls(model, processor, batch_size=batch_size, device=device, dtype=dtype)

    def __call__(self, source_images, instructions, edited_images) -> EditScores:
        """Score N triplets given as three equal-length lists (or one triplet given as three single items)."""
        source_images, instructions, edited_images = as_triplet_lists(source_images, instructions, edited_images)
        outputs = [
            self._score_batch(source_images[i : i + self.batch_size], instructions[i : i + self.batch_size],
                              edited_images[i : i + self.batch_size])
            for i in range(0, len(edited_images), self.batch_size)
        ]
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
    def _score_batch(self, sources, instructions, edits):
        inputs = self.processor(source_images=list(sources), instructions=list(instructions), edited_images=list(edits))
        inputs = inputs.to(self.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        out = self.model(**inputs)
        return (out.score.cpu().numpy(), out.score_log_sigma.exp().cpu().numpy(), out.mu.cpu().numpy(), out.sigma.cpu().numpy())
