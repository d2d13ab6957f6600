"""Turn user images (PIL, file paths, numpy arrays) into RGB PIL images at the model's pixel budget.

Every way an image can be silently wrong gets a clear error instead: unreadable files, images smaller than one
vision patch group, transparency, animation, channel-first arrays, float arrays outside [0, 1], ambiguous integer
modes.
Large images are decoded at reduced size where the format allows it (JPEG draft mode) and never upscaled first.
An EXIF Orientation tag is applied (as transformers' `load_image` does), so phone photos are scored upright.
"""

import os

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

_DRAFT_FACTOR = 8  # decode JPEGs at reduced size only when they are this many times over the budget
_EXACT_MODES = {"L", "P", "CMYK", "YCbCr", "LAB", "HSV", "1"}  # modes with an exact conversion to RGB
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
_ORIENTATION = 0x0112  # EXIF tag: 2-8 flip or rotate the stored pixels for display; 5-8 swap width and height


def load_rgb_image(image, name: str = "image") -> Image.Image:
    """Open `image` (PIL image, path or numpy array) as an RGB PIL image; `name` locates it in error messages."""
    if isinstance(image, (str, os.PathLike)):
        return _to_rgb(_open_file(image, name), name)
    if isinstance(image, Image.Image):
        return _to_rgb(image, name)
    if isinstance(image, np.ndarray):
        return _array_to_rgb(image, name)
    raise TypeError(f"{name}: expected a PIL image, a file path or a numpy array, got {type(image).__name__}.")


def target_size(width: int, height: int, pixels: int, patch_group: int, name: str = "image") -> tuple[int, int]:
    """(width, height) with sides multiples of `patch_group` (the pixels of one visual token: vision patch times
    spatial merge) and about `pixels` pixels, aspect kept (Qwen's smart_resize)."""
    if min(width, height) < patch_group:
        raise ValueError(
            f"{name}: image is {width}x{height} px; the smallest side must be at least {patch_group} px "
            "(one vision patch group). Upscale it yourself if that is really intended."
        )
    if max(width, height) / min(width, height) > 200:
        raise ValueError(f"{name}: image is {width}x{height} px; the aspect ratio must be below 200.")
    new_height, new_width = smart_resize(height, width, factor=patch_group, min_pixels=pixels, max_pixels=pixels)
    return new_width, new_height


def resize_to_budget(image: Image.Image, pixels: int, patch_group: int, name: str = "image",
                     full_size=None) -> Image.Image:  # fmt: skip
    """Resize an RGB image to the pixel budget (bicubic, as the released models' preprocessing). `full_size`: the
    size to compute the budget's grid from when `image` was decoded at reduced size."""
    size = target_size(*(full_size or image.size), pixels, patch_group, name)
    return image if image.size == size else image.resize(size, Image.Resampling.BICUBIC)


def load_image_for_budget(image, pixels: int, patch_group: int, name: str = "image") -> Image.Image:
    """load_rgb_image + resize_to_budget, decoding very large JPEG files at reduced size."""
    full_size = None
    if isinstance(image, (str, os.PathLike)):
        image = _open_file(image, name)
        full_size = _upright_size(image, name)
        width, height = target_size(*full_size, pixels, patch_group, name)
        if image.width * image.height > _DRAFT_FACTOR * width * height:
            if full_size != image.size:  # draft sizes are in the stored orientation
                width, height = height, width
            image.draft("RGB", (2 * width, 2 * height))  # no-op for formats without reduced decoding
    return resize_to_budget(load_rgb_image(image, name), pixels, patch_group, name, full_size)


def _open_file(path, name: str) -> Image.Image:
    try:
        image = Image.open(path)
        image.size  # noqa: B018 - header parsed; pixels are decoded lazily
    except FileNotFoundError:
        raise FileNotFoundError(f"{name}: no such image file: {os.fspath(path)!r}.") from None
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"{name}: cannot read {os.fspath(path)!r} as an image ({error}).") from None
    except Image.DecompressionBombError as error:
        raise ValueError(f"{name}: {os.fspath(path)!r} is too large to decode safely ({error}).") from None
    return image


def _decoded(read, name: str):
    """`read()` (decoding pixels or metadata), with a decoding failure reported as a ValueError naming the image."""
    try:
        return read()
    except (OSError, SyntaxError) as error:
        raise ValueError(f"{name}: the image data is truncated or corrupt ({error}).") from None


def _upright_size(image: Image.Image, name: str) -> tuple[int, int]:
    """(width, height) once the EXIF orientation is applied."""
    swapped = _decoded(image.getexif, name).get(_ORIENTATION, 1) in (5, 6, 7, 8)  # PNG reads EXIF after the pixels
    return image.size[::-1] if swapped else image.size


def _to_rgb(image: Image.Image, name: str) -> Image.Image:
    if getattr(image, "is_animated", False):  # GIF, APNG, WebP: PIL would give the first frame without a word
        raise ValueError(
            f"{name}: an animated image of {image.n_frames} frames, and the model scores one still image. Pick the "
            "frame yourself: im.seek(k); frame = im.convert('RGB')."
        )
    _decoded(image.load, name)
    if image.getexif().get(_ORIENTATION, 1) != 1:
        image = ImageOps.exif_transpose(image)
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in _ALPHA_MODES:
        return _drop_opaque_alpha(image, name)
    if image.mode in _EXACT_MODES:
        return image.convert("RGB")
    if image.mode in _SIXTEEN_BIT_MODES:
        return _array_to_rgb(np.asarray(image).astype(np.uint16), name)
    raise ValueError(
        f"{name}: image mode {image.mode!r} has no unambiguous 8-bit RGB conversion; convert it to RGB yourself."
    )


def _drop_opaque_alpha(image: Image.Image, name: str) -> Image.Image:
    alpha = np.asarray(image.getchannel(image.mode[-1]))
    if alpha.min() < 255:
        raise ValueError(
            f"{name}: image mode {image.mode} has transparent pixels, and the model scores opaque RGB images. "
            "Composite it onto the background you intend, e.g. "
            "Image.alpha_composite(Image.new('RGBA', im.size, 'white'), im.convert('RGBA')).convert('RGB')."
        )
    return image.convert("RGB")


def _array_to_rgb(array: np.ndarray, name: str) -> Image.Image:
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        raise ValueError(f"{name}: array of shape {array.shape} looks channels-first; pass it as (H, W, C).")
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (3, 4))):
        raise ValueError(f"{name}: array of shape {array.shape} is not an image; expected (H, W), (H, W, 3) or (H, W, 4).")
    array = _to_uint8(array, name)
    if array.ndim == 3 and array.shape[-1] == 4:
        return _drop_opaque_alpha(Image.fromarray(array, "RGBA"), name)
    return Image.fromarray(array).convert("RGB")


def _to_uint8(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return np.round(array / 257.0).astype(np.uint8)  # 65535 -> 255, exact rescale of 16-bit data
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ValueError(f"{name}: float array contains NaN or infinite values.")
        if array.min() < 0.0 or array.max() > 1.0:
            raise ValueError(
                f"{name}: float array has values in [{array.min():.3g}, {array.max():.3g}]; "
                "float images must be in [0, 1] (or pass uint8 in [0, 255])."
            )
        return np.round(array * 255.0).astype(np.uint8)
    raise ValueError(f"{name}: array dtype {array.dtype} is not supported; use uint8, uint16 or float in [0, 1].")
