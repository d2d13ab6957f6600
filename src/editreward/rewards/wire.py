"""The reward's JSON wire formats (images as base64 bytes, never pickled objects): safe image decoding under
limits, the native request and response, and UniRL's RewardService `/score` protocol (version "1")."""

import base64
import binascii
import io
import math
import re
from dataclasses import dataclass

from PIL import Image

REWARD_NAME = "editreward"  # the reward's name in UniRL's `required_rewards`, `results` and `/health`
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")
UNIRL_IDENTITY_FIELDS = ("request_id", "sample_id", "group_id", "source_rank", "policy_version", "scorer_version",
                         "idempotency_key")  # fmt: skip


@dataclass(frozen=True)
class Limits:
    """What one request may hold: bytes of the body, images, pixels per image (read from the header, before the
    pixels are decoded)."""

    max_request_bytes: int = 64 * 2**20
    max_images: int = 64
    max_image_pixels: int = 4096 * 4096


class RequestError(ValueError):
    """A request refused as a whole, with its HTTP status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class ItemError(ValueError):
    """One item refused; the others are scored. `status` 413 for a size limit, else 422."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


# the scorer names a failing edit by its position in its batch, which means nothing to a client: name the field
_BATCH_POSITION = re.compile(r"^(source_image|edited_image|instruction)s\[\d+\]")


def item_message(message: str) -> str:
    """A scorer's error about one edit, its batch position replaced by the field (".edited_image: ...")."""
    return _BATCH_POSITION.sub(lambda m: "." + m.group(1), message)


def join_name(name: str, message: str) -> str:
    """`name` in front of an item's message ("items[3]" + ".edited_image: ..." or + ": ...")."""
    return name + ("" if message.startswith(".") else ": ") + message


@dataclass
class Triplet:
    source: Image.Image
    instruction: str
    edited: Image.Image


def decode_image(data, name: str, limits: Limits) -> Image.Image:
    """Base64 (optionally a data URL) to a loaded PIL image of an allowed format, its pixel count checked from the
    header before decoding."""
    if not isinstance(data, str) or not data:
        raise ItemError(f"{name}: expected a base64 string of PNG, JPEG or WebP bytes, got {type(data).__name__}.")
    if data.startswith("data:"):
        data = data.partition(",")[2]
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ItemError(f"{name}: not valid base64.") from None
    try:
        image = Image.open(io.BytesIO(raw), formats=IMAGE_FORMATS)
        width, height = image.size
    except Image.DecompressionBombError:
        raise ItemError(f"{name}: image is larger than {limits.max_image_pixels} pixels.", 413) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ItemError(f"{name}: not a PNG, JPEG or WebP image ({error}).") from None
    if width * height > limits.max_image_pixels:
        raise ItemError(f"{name}: image is {width}x{height} px, over the limit of {limits.max_image_pixels} pixels; "
                        "resize it before sending.", 413)  # fmt: skip
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as error:
        raise ItemError(f"{name}: the image data is truncated or corrupt ({error}).") from None
    return image


def encode_image(image: Image.Image, image_format: str = "PNG") -> str:
    """A PIL image as base64 bytes of `image_format` (clients and tests)."""
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _check_count(count: int, limits: Limits) -> None:
    if count > limits.max_images:
        raise RequestError(f"the request holds {count} images, over the limit of {limits.max_images}; send fewer "
                           "items per request.", 413)  # fmt: skip


def _field(item, key: str, name: str):
    if not isinstance(item, dict) or key not in item:
        raise ItemError(f"{name}: missing field {key!r}.")
    return item[key]


def _instruction(value, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ItemError(f"{name}: the instruction is empty or not a string.")
    return value


def native_items(payload, limits: Limits) -> list:
    """`{"items": [{"source_image": b64, "instruction": str, "edited_image": b64}, ...]}` to one `Triplet` or
    `ItemError` per item."""
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        raise RequestError('the body must be a JSON object with a non-empty list "items" of {"source_image", '
                           '"instruction", "edited_image"} objects (images as base64).')  # fmt: skip
    _check_count(2 * len(items), limits)
    parsed = []
    for i, item in enumerate(items):
        name = f"items[{i}]"
        try:
            parsed.append(Triplet(decode_image(_field(item, "source_image", name), f"{name}.source_image", limits),
                                  _instruction(_field(item, "instruction", name), f"{name}.instruction"),
                                  decode_image(_field(item, "edited_image", name), f"{name}.edited_image", limits)))
        except ItemError as error:
            parsed.append(error)
    return parsed


def unirl_items(payload, limits: Limits) -> list:
    """UniRL's `{"protocol_version": "1", "requests": [{"history": [{"text", "image_b64"} source,
    {"text", "image_b64"} edited], "required_rewards": [...], ...identity}]}` to one `Triplet` or `ItemError` each."""
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise RequestError('the body must be a JSON object with a list "requests" (UniRL RewardService protocol 1).')
    if payload.get("protocol_version", "1") != "1":
        raise RequestError(f"protocol_version {payload.get('protocol_version')!r} is not supported; use '1'.")
    _check_count(2 * len(payload["requests"]), limits)
    parsed = []
    for i, request in enumerate(payload["requests"]):
        name = f"requests[{i}]"
        try:
            history = _field(request, "history", name)
            if not isinstance(history, list) or len(history) != 2:
                raise ItemError(f"{name}.history: expected two turns, the source image then the edited image, each "
                                '{"text": instruction, "image_b64": ...}.')  # fmt: skip
            required = request.get("required_rewards") or [REWARD_NAME]
            if REWARD_NAME not in required:
                raise ItemError(f"{name}: required_rewards {required} do not include {REWARD_NAME!r}, the reward "
                                "this server serves.")  # fmt: skip
            source = decode_image(_field(history[0], "image_b64", f"{name}.history[0]"), f"{name}.history[0]", limits)
            edited = decode_image(_field(history[1], "image_b64", f"{name}.history[1]"), f"{name}.history[1]", limits)
            instruction = _instruction(history[1].get("text") or history[0].get("text"), f"{name}.history[1].text")
            parsed.append(Triplet(source, instruction, edited))
        except ItemError as error:
            parsed.append(error)
    return parsed


def outcome_record(output, i: int, dimensions: list[str]) -> dict:
    """Edit i of a `RewardOutput` as the native response's result."""
    return {
        "reward": float(output.rewards[i]),
        "score": float(output.score[i]),
        "score_sigma": float(output.score_sigma[i]),
        "mu": {d: float(output.mu[i, j]) for j, d in enumerate(dimensions)},
        "sigma": {d: float(output.sigma[i, j]) for j, d in enumerate(dimensions)},
    }


def native_response(outcomes: list, model: dict) -> tuple[dict, int]:
    """(body, status): results (None for a failed item), errors naming the items; 200, or the items' 4xx."""
    errors = [{"item": i, "error": str(o)} for i, o in enumerate(outcomes) if isinstance(o, Exception)]
    statuses = [getattr(o, "status", 422) for o in outcomes if isinstance(o, Exception)]
    body = {**model, "results": [None if isinstance(o, Exception) else o for o in outcomes], "errors": errors}
    return body, (max(statuses) if statuses else 200)


def unirl_response(payload: dict, outcomes: list) -> dict:
    """UniRL's response: `results[i] = {"editreward": {"score": mu, <dimension>: mu, ...}}` (only means: UniRL
    reduces a reward's sub-metrics by first, mean or max, so no sigma is among them), `errors[i] = {"editreward":
    message}`, and the requests' identities echoed."""
    results, errors = [], []
    for outcome in outcomes:
        if isinstance(outcome, Exception) or not math.isfinite(outcome["reward"]):
            results.append({})
            errors.append({REWARD_NAME: str(outcome) if isinstance(outcome, Exception) else "non-finite reward"})
        else:
            results.append({REWARD_NAME: {"score": outcome["reward"], **outcome["mu"]}})
            errors.append({})
    identities = [{key: request.get(key) for key in UNIRL_IDENTITY_FIELDS} if isinstance(request, dict) else {}
                  for request in payload["requests"]]  # fmt: skip
    return {"protocol_version": "1", "results": results, "errors": errors, "identities": identities}
