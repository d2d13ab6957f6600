"""Edited images to Qwen2.5-VL pixel patches in torch, so that a reward's gradient reaches their pixels.

It mirrors the PIL path of `EditRewardProcessor` (`images_editreward.resize_to_budget`, then the image processor's
rescale, normalise and `patchify`): the image is resized to the same pixel-budget grid (`target_size`), by bicubic
interpolation with antialiasing (PIL's filter: a=-0.5, widened when downscaling), normalised by the image
processor's mean and standard deviation, and cut into patch vectors laid out as the image processor lays them out:
rows of merge groups, within a group its `merge x merge` patches row by row, and each patch vector channel, temporal
frame, patch row, patch column. Where the two paths differ: PIL rounds the resized image to 8 bits (and the loader
rounds a float input to 8 bits first), torch keeps floats; with `edited_image_frames="source_then_edited"` PIL
resizes the edit twice (to its own budget grid, then to the source's size), torch once, straight to the source's.
"""

import torch
import torch.nn.functional as F

from editreward.modeling_editreward.images_editreward import target_size


def resize_to_grid(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """CHW float image in [0, 1] to `size` = (width, height), bicubic with antialiasing, clamped to [0, 1] as 8-bit
    PIL output is."""
    width, height = size
    if tuple(image.shape[-2:]) == (height, width):
        return image
    resized = F.interpolate(image[None], size=(height, width), mode="bicubic", antialias=True, align_corners=False)
    return resized[0].clamp(0, 1)


def budget_size(image: torch.Tensor, processor, name: str) -> tuple[int, int]:
    """(width, height) of the pixel-budget grid the processor would resize this CHW image to."""
    return target_size(image.shape[-1], image.shape[-2], processor.image_pixels, processor.patch_group, name)


def patchify(image: torch.Tensor, processor) -> torch.Tensor:
    """Normalised CHW image (sides multiples of the patch group) to `[num_patches, C * T * patch * patch]` in the
    image processor's order, the frame repeated over the temporal patch."""
    ip = processor.image_processor
    patch, merge, frames = ip.patch_size, ip.merge_size, ip.temporal_patch_size
    channels, height, width = image.shape
    grid_h, grid_w = height // patch, width // patch
    patches = image.reshape(channels, grid_h // merge, merge, patch, grid_w // merge, merge, patch)
    patches = patches.permute(1, 4, 2, 5, 0, 3, 6)  # (gh, gw, mh, mw, C, ph, pw)
    patches = patches.unsqueeze(5).expand(*patches.shape[:5], frames, patch, patch)
    return patches.reshape(grid_h * grid_w, channels * frames * patch * patch)


def normalise(image: torch.Tensor, processor) -> torch.Tensor:
    """(image - mean) / std per channel, the image processor's constants (the image already in [0, 1])."""
    ip = processor.image_processor
    mean = torch.tensor(ip.image_mean, dtype=image.dtype, device=image.device)[:, None, None]
    std = torch.tensor(ip.image_std, dtype=image.dtype, device=image.device)[:, None, None]
    return (image - mean) / std


def edited_patches(image: torch.Tensor, processor, size: tuple[int, int]) -> torch.Tensor:
    """The patches of one edited CHW float image resized to `size` (differentiable end to end)."""
    return patchify(normalise(resize_to_grid(image.float(), size), processor), processor)


def splice_edited_patches(inputs, edited: list[torch.Tensor], processor) -> torch.Tensor:
    """`inputs["pixel_values"]` with each triplet's edited image replaced by `edited[i]` (patches of the same
    grid): the whole image under `"repeat"`, the edited half of the temporal frames under `"source_then_edited"`.
    Every triplet's edited image must be its own entry of the distinct images (placeholders ensure it)."""
    grids = inputs["image_grid_thw"]
    chunks = list(inputs["pixel_values"].split(grids.prod(-1).tolist()))
    frames = processor.image_processor.temporal_patch_size
    for (_, entry), patches in zip(inputs["image_index"].tolist(), edited):
        patches = patches.to(chunks[entry].dtype)
        if processor.edited_image_frames == "source_then_edited":
            n = patches.shape[0]
            kept = chunks[entry].view(n, 3, frames, -1)[:, :, : frames // 2]
            new = patches.view(n, 3, frames, -1)[:, :, frames // 2 :]
            patches = torch.cat([kept, new], dim=2).reshape(n, -1)
        chunks[entry] = patches
    return torch.cat(chunks)
