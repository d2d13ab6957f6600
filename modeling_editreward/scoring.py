"""One-call batched scoring for people who do not want to touch tensors."""

from dataclasses import dataclass

import numpy as np
import torch

from .modeling_editreward import EditRewardModel
from .processing_editreward import EditRewardProcessor, as_triplet_lists

_HUB_KWARGS = ("revision", "token", "cache_dir", "local_files_only", "force_download", "proxies", "subfolder")


@dataclass
class EditScores:
    """Scores of N edits: the fused score and its spread, and each dimension's Gaussian (mu, sigma)."""

    dimensions: list[str]
    score: np.ndarray  # [N] fused score (higher is better; uncalibrated, compare within one model)
    score_sigma: np.ndarray  # [N] spread of the fused score
    mu: np.ndarray  # [N, D]
    sigma: np.ndarray  # [N, D]

    def __len__(self) -> int:
        return len(self.score)

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
        """Score several candidate edits of one source image under one instruction."""
        count = len(edited_images)
        return self([source_image] * count, [instruction] * count, list(edited_images))

    @torch.inference_mode()
    def _score_batch(self, sources, instructions, edits):
        inputs = self.processor(source_images=list(sources), instructions=list(instructions), edited_images=list(edits))
        inputs = inputs.to(self.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        out = self.model(**inputs)
        return (out.score.cpu().numpy(), out.score_log_sigma.exp().cpu().numpy(), out.mu.cpu().numpy(), out.sigma.cpu().numpy())
