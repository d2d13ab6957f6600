"""Edit families for the quickstart data set, and the ways an edit goes wrong.

Each family is a function ``family(rng) -> (instruction, apply)``: it draws the edit's parameters and one paraphrase of
its instruction, and returns the instruction with the image operation (``PIL.Image -> PIL.Image``, same size). All
randomness comes from the ``numpy.random.Generator`` passed in, so a seed fixes every edit.
"""

import io
from typing import Callable, NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

Operation = Callable[[Image.Image], Image.Image]


class Edit(NamedTuple):
    """One concrete edit: its family, the instruction that asks for it, and the operation that performs it."""

    family: str
    instruction: str
    apply: Operation


def pick(rng: np.random.Generator, options):
    """One element of a sequence, drawn with ``rng`` (numpy's choice would turn strings into numpy scalars)."""
    return options[int(rng.integers(len(options)))]


def _a(word: str) -> str:
    """The word with its indefinite article."""
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def grayscale(rng):
    text = pick(rng, [
        "Make the photo black and white.", "Convert the image to grayscale.",
        "Remove all the colour from this picture.", "Turn it into a monochrome photo.",
        "Desaturate the image completely.", "Make this a black-and-white picture.",
    ])
    return text, lambda image: ImageOps.grayscale(image).convert("RGB")


def brighter(rng):
    factor = rng.uniform(1.5, 1.8)
    text = pick(rng, [
        "Make the image brighter.", "Brighten the photo.", "Increase the brightness.", "Lighten the whole picture.",
        "The photo is too dark, brighten it up.", "Raise the exposure of this image.",
    ])
    return text, lambda image: ImageEnhance.Brightness(image).enhance(factor)


def darker(rng):
    factor = rng.uniform(0.45, 0.6)
    text = pick(rng, [
        "Make the image darker.", "Darken the photo.", "Decrease the brightness.", "Turn down the exposure.",
        "The picture is too bright, make it darker.", "Dim the whole image.",
    ])
    return text, lambda image: ImageEnhance.Brightness(image).enhance(factor)


def mirror(rng):
    text = pick(rng, [
        "Mirror the image horizontally.", "Flip the photo left to right.", "Flip it horizontally.",
        "Make a mirror image of the picture.", "Swap the left and right sides of the image.",
    ])
    return text, ImageOps.mirror


_TURNS = {
    Image.Transpose.ROTATE_270: [
        "Rotate the image 90 degrees clockwise.", "Turn the photo a quarter turn clockwise.",
        "Rotate the picture to the right by 90 degrees.",
    ],
    Image.Transpose.ROTATE_90: [
        "Rotate the image 90 degrees counter-clockwise.", "Turn the photo a quarter turn anticlockwise.",
        "Rotate the picture to the left by 90 degrees.",
    ],
    Image.Transpose.ROTATE_180: [
        "Turn the image upside down.", "Rotate the photo by 180 degrees.", "Rotate the picture half a turn.",
    ],
}


def rotate(rng):
    turn = pick(rng, list(_TURNS))
    return pick(rng, _TURNS[turn]), lambda image: image.transpose(turn)


def blur(rng):
    share = rng.uniform(0.025, 0.04)
    text = pick(rng, [
        "Blur the image.", "Make the photo blurry.", "Apply a strong blur to the whole picture.", "Defocus the photo.",
        "Soften the image with a blur.", "Make everything out of focus.",
    ])
    return text, lambda image: image.filter(ImageFilter.GaussianBlur(share * image.width))


# Named places (x, y as a share of the free range) and how instructions call them.
_PLACES = {
    "center": ((0.5, 0.5), ["center", "middle", "centre"]),
    "top left": ((0.0, 0.0), ["top left", "upper left", "top-left"]),
    "top right": ((1.0, 0.0), ["top right", "upper right", "top-right"]),
    "bottom left": ((0.0, 1.0), ["bottom left", "lower left", "bottom-left"]),
    "bottom right": ((1.0, 1.0), ["bottom right", "lower right", "bottom-right"]),
}


def zoom(rng):
    (fx, fy), words = _PLACES[pick(rng, list(_PLACES))]
    word, share = pick(rng, words), rng.uniform(0.5, 0.62)
    corner = "" if fx == 0.5 else " corner"
    text = pick(rng, [
        f"Zoom in on the {word}{corner}.", f"Crop the image to its {word} part.", f"Crop to the {word} of the photo.",
        f"Enlarge the {word}{corner} of the picture.", f"Zoom into the {word} of the image.",
    ])

    def apply(image):
        side_x, side_y = share * image.width, share * image.height
        left, top = fx * (image.width - side_x), fy * (image.height - side_y)
        box = (round(left), round(top), round(left + side_x), round(top + side_y))
        return image.resize(image.size, Image.Resampling.BICUBIC, box=box)

    return text, apply


COLOURS = {
    "red": (220, 30, 30), "green": (30, 170, 50), "blue": (30, 70, 230), "yellow": (250, 220, 30),
    "orange": (255, 140, 0), "purple": (140, 50, 200), "white": (255, 255, 255), "black": (0, 0, 0),
}


def add_shape(rng):
    colour, shape = pick(rng, list(COLOURS)), pick(rng, ["circle", "square", "triangle"])
    (fx, fy), words = _PLACES[pick(rng, list(_PLACES))]
    where = f"in the {pick(rng, words)}" + ("" if fx == 0.5 else " corner")
    share = rng.uniform(0.22, 0.3)
    text = pick(rng, [
        f"Add {_a(colour)} {shape} {where}.", f"Put {_a(colour)} {shape} {where}.",
        f"Draw a small {colour} {shape} {where} of the image.", f"Place {_a(colour)} {shape} {where}.",
    ])

    def apply(image):
        side, margin = share * image.width, 0.06 * image.width
        left = margin + fx * (image.width - 2 * margin - side)
        top = margin + fy * (image.height - 2 * margin - side)
        box = (left, top, left + side, top + side)
        image = image.copy()
        draw = ImageDraw.Draw(image)
        if shape == "circle":
            draw.ellipse(box, fill=COLOURS[colour])
        elif shape == "square":
            draw.rectangle(box, fill=COLOURS[colour])
        else:
            draw.polygon([(left + side / 2, top), (left + side, top + side), (left, top + side)], fill=COLOURS[colour])
        return image

    return text, apply


_TINTS = {"red": (230, 40, 40), "green": (40, 200, 70), "blue": (40, 90, 255), "orange": (255, 140, 0),
          "purple": (150, 60, 230), "pink": (255, 90, 190)}


def tint(rng):
    colour, alpha = pick(rng, list(_TINTS)), rng.uniform(0.3, 0.4)
    text = pick(rng, [
        f"Give the photo {_a(colour)} tint.", f"Add {_a(colour)} colour filter to the image.",
        f"Tint the whole picture {colour}.", f"Wash the image in {colour}.", f"Apply {_a(colour)} color cast.",
    ])
    return text, lambda image: Image.blend(image, Image.new("RGB", image.size, _TINTS[colour]), alpha)


def invert(rng):
    text = pick(rng, [
        "Invert the colours.", "Make a negative of the photo.", "Turn the image into a photographic negative.",
        "Invert all the colors in the picture.",
    ])
    return text, ImageOps.invert


FAMILIES = {f.__name__: f for f in (grayscale, brighter, darker, mirror, rotate, blur, zoom, add_shape, tint, invert)}

# Family pairs whose combination can undo or hide the requested edit: never an over-edit of one another.
_CLASHES = [{"brighter", "darker", "invert"}, {"grayscale", "tint", "invert"}, {"zoom", "add_shape"},
            {"zoom", "mirror"}, {"zoom", "rotate"}]


def sample_edit(rng: np.random.Generator, family: str) -> Edit:
    """A random edit of ``family``, with a paraphrased instruction."""
    instruction, apply = FAMILIES[family](rng)
    return Edit(family, instruction, apply)


def sample_over_edit(rng: np.random.Generator, edit: Edit) -> Edit:
    """The requested edit on top of an unrequested edit from a family that cannot undo it."""
    others = [f for f in FAMILIES if f != edit.family and not any({f, edit.family} <= clash for clash in _CLASHES)]
    extra = sample_edit(rng, pick(rng, others))
    return Edit(f"{edit.family}+{extra.family}", edit.instruction, lambda image: edit.apply(extra.apply(image)))


def sample_degradation(rng: np.random.Generator) -> tuple[str, Operation]:
    """Visible damage to an image (monochrome noise or JPEG blocking), as ``(name, operation)``."""
    if rng.random() < 0.5:
        sigma, noise_seed = rng.uniform(16.0, 26.0), int(rng.integers(2**32))

        def noise(image):
            pixels = np.asarray(image, dtype=np.float32)
            grain = np.random.default_rng(noise_seed).normal(0.0, sigma, pixels.shape[:2])[..., None]
            return Image.fromarray(np.clip(pixels + grain, 0, 255).round().astype(np.uint8))

        return "noise", noise
    quality = int(rng.integers(5, 13))

    def jpeg(image):
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality)
        return Image.open(buffer).convert("RGB")

    return "jpeg", jpeg


def visibly_different(a: Image.Image, b: Image.Image, level: int = 32, share: float = 0.02) -> bool:
    """Whether at least ``share`` of the pixels differ by ``level`` or more (0-255) in some channel."""
    diff = np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).max(axis=-1)
    return bool((diff >= level).mean() >= share)
