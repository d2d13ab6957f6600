"""Source images for the quickstart data set, all available offline.

Real photos ship inside scikit-image (``skimage.data``) and scikit-learn (``sklearn/datasets/images``); the grayscale
ones are given a random two-tone colouring per crop, so that colour edits stay visible. Random square crops of each
photo, and seeded procedural scenes (sky and ground gradients with coloured shapes), add variety.
"""

import functools
import importlib.util
import os
import zlib
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from .edits import pick

COLOUR_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle", "hubble_deep_field", "retina",
                 "immunohistochemistry", "colorwheel", "logo", "china", "flower")
GRAYSCALE_PHOTOS = ("camera", "brick", "grass", "gravel", "moon", "coins", "clock", "page", "text")
PHOTOS = COLOUR_PHOTOS + GRAYSCALE_PHOTOS


class Source(NamedTuple):
    """A source image and the name of the photo (or scene) it comes from."""

    photo: str
    image: Image.Image


@functools.lru_cache(maxsize=None)
def load_photo(name: str) -> Image.Image:
    """The full photo ``name`` (one of ``PHOTOS``), in mode RGB or, for grayscale photos, L."""
    if name in ("china", "flower"):
        spec = importlib.util.find_spec("sklearn")
        if spec is None:
            raise ModuleNotFoundError(f"photo {name!r} ships with scikit-learn: pip install scikit-learn")
        path = os.path.join(spec.submodule_search_locations[0], "datasets", "images", f"{name}.jpg")
        return Image.open(path).convert("RGB")
    import skimage.data

    if name == "motorcycle":
        return Image.fromarray(skimage.data.stereo_motorcycle()[0])
    if name not in PHOTOS:
        raise ValueError(f"photo {name!r} is unknown; choose from {', '.join(PHOTOS)}")
    image = Image.fromarray(getattr(skimage.data, name)())
    if image.mode == "RGBA":
        return Image.alpha_composite(Image.new("RGBA", image.size, "white"), image).convert("RGB")
    return image


def _two_tone(rng: np.random.Generator, image: Image.Image) -> Image.Image:
    """A grayscale image coloured by a random gradient from a dark to a light colour."""
    dark, light = rng.integers(0, 110, 3), rng.integers(150, 256, 3)
    return ImageOps.colorize(image, tuple(int(c) for c in dark), tuple(int(c) for c in light))


def photo_crops(name: str, count: int, size: int, seed: int = 0) -> list[Source]:
    """``count`` random square crops of photo ``name`` (at least 45% of its short side), resized to ``size`` px."""
    photo = load_photo(name)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    short = min(photo.size)
    crops = []
    for _ in range(count):
        side = rng.uniform(0.45, 1.0) * short
        left, top = rng.uniform(0, photo.width - side), rng.uniform(0, photo.height - side)
        crop = photo.resize((size, size), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side))
        crops.append(Source(name, _two_tone(rng, crop) if crop.mode == "L" else crop))
    return crops


def _gradient(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A vertical gradient between two random colours, as a float array (height, width, 3)."""
    top, bottom = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    return np.broadcast_to(top + ramp * (bottom - top), (height, width, 3))


def _random_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(0, 256, 3))


def procedural_scene(rng: np.random.Generator, size: int) -> Image.Image:
    """A random landscape-like scene: sky and ground gradients, soft texture, a sun, hills and objects."""
    big = 2 * size  # drawn at twice the size, then downsampled for smooth edges
    horizon = int(rng.uniform(0.3, 0.75) * big)
    pixels = np.concatenate([_gradient(rng, horizon, big), _gradient(rng, big - horizon, big)])
    texture = np.asarray(Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize(
        (big, big), Image.Resampling.BICUBIC), dtype=np.float64)
    mix = rng.uniform(0.1, 0.35)
    image = Image.fromarray(((1 - mix) * pixels + mix * texture).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    if rng.random() < 0.6:
        radius, x = rng.uniform(0.05, 0.12) * big, rng.uniform(0.1, 0.9) * big
        y = rng.uniform(0.05, 0.8) * horizon
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=_random_colour(rng))
    for _ in range(int(rng.integers(0, 3))):  # hills on the horizon
        x, width, height = rng.uniform(0, big), rng.uniform(0.2, 0.6) * big, rng.uniform(0.05, 0.3) * big
        draw.polygon([(x - width / 2, horizon), (x, horizon - height), (x + width / 2, horizon)],
                     fill=_random_colour(rng))
    for _ in range(int(rng.integers(1, 6))):  # objects standing on the ground
        width, height = rng.uniform(0.06, 0.3) * big, rng.uniform(0.06, 0.35) * big
        x, base = rng.uniform(0, big - width), rng.uniform(horizon, big)
        box = (x, base - height, x + width, base)
        kind = pick(rng, ("ellipse", "rectangle", "triangle"))
        if kind == "ellipse":
            draw.ellipse(box, fill=_random_colour(rng))
        elif kind == "rectangle":
            draw.rectangle(box, fill=_random_colour(rng), outline=_random_colour(rng), width=2)
        else:
            draw.polygon([(x, base), (x + width / 2, base - height), (x + width, base)], fill=_random_colour(rng))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def scenes(count: int, size: int, seed: int = 0) -> list[Source]:
    """``count`` procedural scenes named ``scene-0000``, ``scene-0001``, ...; each is its own source photo."""
    return [Source(f"scene-{i:04d}", procedural_scene(np.random.default_rng([seed, 7919, i]), size))
            for i in range(count)]
