"""The images RL loops produce (PIL, uint8 HWC arrays, float CHW/NCHW tensors in [0, 1] on any device) as lists
of per-edit items, and as what the model's PIL path loads (numpy HWC arrays on the CPU)."""

import hashlib
import os

import numpy as np
import torch


def as_image_list(images, name: str) -> list:
    """One list entry per image: an NCHW tensor is split along N, a CHW tensor or one image is a list of one."""
    if isinstance(images, torch.Tensor):
        if images.ndim == 4:
            return list(images.unbind(0))
        if images.ndim == 3:
            return [images]
        raise ValueError(f"{name}: a tensor of shape {tuple(images.shape)} is not an image batch; give NCHW or CHW "
                         "floats in [0, 1].")  # fmt: skip
    if isinstance(images, (list, tuple)):
        return list(images)
    if isinstance(images, np.ndarray) and images.ndim == 4:
        return list(images)
    return [images]


def check_tensor_image(image: torch.Tensor, name: str) -> None:
    """A CHW float tensor with 3 channels (or a CHW uint8 tensor); NaN and values outside [0, 1] are named."""
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"{name}: tensor of shape {tuple(image.shape)} is not a CHW RGB image; give (3, H, W) "
                         "(a batch as (N, 3, H, W)).")  # fmt: skip
    if image.dtype == torch.uint8:
        return
    if not image.is_floating_point():
        raise ValueError(f"{name}: tensor dtype {image.dtype} is not supported; give floats in [0, 1] or uint8.")
    low, high = image.detach().aminmax()
    if not torch.isfinite(low) or not torch.isfinite(high):
        raise ValueError(f"{name}: tensor contains NaN or infinite values.")
    if low < 0 or high > 1:
        raise ValueError(f"{name}: tensor has values in [{low.item():.3g}, {high.item():.3g}]; float images must be "
                         "in [0, 1] (clamp them, or pass uint8).")  # fmt: skip


def to_loadable(image, name: str):
    """What the processor's loader takes: tensors become HWC numpy arrays on the CPU (floats in [0, 1] stay floats,
    so the loader rounds them to 8 bits once); PIL images, paths and arrays pass unchanged."""
    if isinstance(image, torch.Tensor):
        check_tensor_image(image, name)
        array = image.detach().permute(1, 2, 0).cpu()
        return array.numpy() if image.dtype == torch.uint8 else array.float().numpy()
    return image


def content_key(image) -> str:
    """A key equal for equal images: the path of a file, else a digest of the pixels (grouping by source)."""
    if isinstance(image, (str, os.PathLike)):
        return "path:" + os.fspath(image)
    if isinstance(image, bytes):
        return "bytes:" + hashlib.blake2b(image, digest_size=16).hexdigest()
    array = np.ascontiguousarray(np.asarray(image))
    digest = hashlib.blake2b(array.tobytes(), digest_size=16)
    digest.update(repr((array.shape, str(array.dtype))).encode())
    return "pixels:" + digest.hexdigest()
