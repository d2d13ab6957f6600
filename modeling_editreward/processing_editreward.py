"""EditRewardProcessor: (source image, instruction, edited image) triplets to one batch for all dimensions."""

import hashlib
import os
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from transformers.feature_extraction_utils import BatchFeature
from transformers.processing_utils import ProcessorMixin

from .configuration_editreward import DEFAULT_IMAGE_PIXELS, EDITED_IMAGE_FRAMES, check_input_format
from .images_editreward import load_image_for_budget
from .prompts_editreward import COMPACT_PROMPT, REWARD_SUFFIX, REWARD_TOKEN, RUBRIC_PROMPTS

IMAGE_PAD = "<|image_pad|>"
_INSTRUCTION_SLOT = "\x00instruction\x00"  # stands for the instruction in the cached rendering of a row
_RESERVED_TOKENS = (IMAGE_PAD, "<|video_pad|>", "<|vision_start|>", "<|vision_end|>")


class EditRewardProcessor(ProcessorMixin):
    r"""
    Wraps the backbone's tokenizer and PIL image processor, and builds the released models' input: for each triplet
    and each dimension, one user turn with the source image, the edited image, then the rubric prompt with the
    instruction and the reward suffix, rendered with the backbone's chat template (`add_generation_prompt=True`).

    Rows are triplet-major (`row = triplet * num_dimensions + dimension`; one row per triplet in the compact format).
    Each distinct image is resized and patchified once per call, however many rows use it; `image_index[i] =
    (source, edited)` points into the distinct images (`image_grid_thw`, `pixel_values`).

    Args:
        image_processor (`Qwen2VLImageProcessorPil`): the backbone's image processor (PIL backend).
        tokenizer (`Qwen2Tokenizer`): the backbone's tokenizer, with the reward token added as a special token.
        chat_template (`str`): the backbone's chat template.
        dimensions (`list[str]`): the quality dimensions, in head order (must match the model config).
        rubric_prompts (`dict[str, str]`): one prompt template per dimension, with a `{text_prompt}` field.
        reward_suffix (`str`): appended to each prompt; contains the reward token.
        reward_token (`str`): the token whose hidden state the heads read.
        image_pixels (`int`): pixel budget of every image (aspect kept, sides multiples of `patch_group`).
        edited_image_frames (`str`): how the edited image fills the vision tower's two temporal frames.
            `"repeat"` (the released models): the edited image on its own, its frame repeated as Qwen2.5-VL does
            for any still image. `"source_then_edited"`: the source image, then the edited image (resized to the
            source's size), so that the temporal patch embedding compares them pixel by pixel; the model must be
            trained this way (`EditRewardConfig.edited_image_frames`).
        input_format (`str`): `"per_dimension"` (the released models: one row per dimension as above) or
            `"compact"` (one row per triplet with `compact_prompt`, one reward token per dimension).
        compact_prompt (`str`): the compact format's prompt, with a `{text_prompt}` field.
    """

    def __init__(
        self,
        image_processor=None,
        tokenizer=None,
        chat_template=None,
        dimensions=None,
        rubric_prompts=None,
        reward_suffix=REWARD_SUFFIX,
        reward_token=REWARD_TOKEN,
        image_pixels=DEFAULT_IMAGE_PIXELS,
        edited_image_frames="repeat",
        input_format="per_dimension",
        compact_prompt=COMPACT_PROMPT,
        **kwargs,
    ):
        if edited_image_frames not in EDITED_IMAGE_FRAMES:
            raise ValueError(f"edited_image_frames={edited_image_frames!r}; use one of {EDITED_IMAGE_FRAMES}.")
        self.dimensions = list(dimensions) if dimensions is not None else list(RUBRIC_PROMPTS)
        self.rubric_prompts = dict(rubric_prompts) if rubric_prompts is not None else dict(RUBRIC_PROMPTS)
        self.reward_suffix = reward_suffix
        self.reward_token = reward_token
        self.image_pixels = image_pixels
        self.edited_image_frames = edited_image_frames
        self.input_format = input_format
        self.compact_prompt = compact_prompt
        check_input_format(self)
        if tokenizer is not None and reward_token not in tokenizer.get_vocab():
            tokenizer.add_special_tokens({"additional_special_tokens": [reward_token]})
        super().__init__(image_processor, tokenizer, chat_template=chat_template)

    @classmethod
    def from_backbone(cls, backbone: str, **kwargs) -> "EditRewardProcessor":
        """The processor for a new reward model on a pretrained backbone (Hub id or folder): its tokenizer (with
        the reward token added), its image processor and its chat template. `kwargs` set dimensions, prompts,
        suffix, reward token or pixel budget."""
        from transformers import AutoImageProcessor, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(backbone)
        image_processor = AutoImageProcessor.from_pretrained(backbone)
        return cls(image_processor, tokenizer, chat_template=_backbone_chat_template(backbone, tokenizer), **kwargs)

    @property
    def patch_size(self) -> int:
        return self.image_processor.patch_size

    @property
    def merge_size(self) -> int:
        return self.image_processor.merge_size

    @property
    def patch_group(self) -> int:
        """Side in pixels of one visual token: the image processor's patch times its merge size."""
        return self.patch_size * self.merge_size

    @property
    def reward_token_id(self) -> int:
        return self.tokenizer.convert_tokens_to_ids(self.reward_token)

    @property
    def image_token_id(self) -> int:
        return self.tokenizer.convert_tokens_to_ids(IMAGE_PAD)

    def __call__(self, source_images=None, instructions=None, edited_images=None, return_tensors="pt", **kwargs):
        """Encode triplets. Images may be PIL images, file paths or numpy arrays; lists must have equal lengths."""
        reserved = (*_RESERVED_TOKENS, self.reward_token)
        source_images, instructions, edited_images = as_triplet_lists(source_images, instructions, edited_images, reserved)
        images, image_index = self._load_distinct_images(source_images, edited_images)
        vision = self.image_processor(images=images, do_resize=False, return_tensors="pt")
        if self.edited_image_frames == "source_then_edited":
            vision, image_index = self._source_then_edited(vision, image_index)
        tokens_per_image = (vision["image_grid_thw"].prod(-1) // self.merge_size**2).tolist()
        texts = [
            self._row_text(instruction, tokens_per_image[source], tokens_per_image[edited], *prompt)
            for (source, edited), instruction in zip(image_index, instructions)
            for prompt in self._row_prompts()
        ]
        # right padding whatever the tokenizer's default: the model's shared-prefix packing relies on it
        text = self.tokenizer(texts, padding=True, padding_side="right", return_tensors="pt", add_special_tokens=False)
        data = {
            "input_ids": text["input_ids"],
            "attention_mask": text["attention_mask"],
            "pixel_values": vision["pixel_values"],
            "image_grid_thw": vision["image_grid_thw"],
            "image_index": torch.tensor(image_index, dtype=torch.long),
        }
        return BatchFeature(data=data, tensor_type=return_tensors)

    def _load_distinct_images(self, source_images, edited_images):
        """Load every image once and keep one copy of identical images (same pixels after resizing). With
        `edited_image_frames="source_then_edited"` each edited image is resized to its source's size."""
        loaded, distinct, image_index = {}, {}, []

        def index_of(image, name, size=None):
            key = (os.fspath(image) if isinstance(image, (str, os.PathLike)) else id(image), size)
            if key not in loaded:
                resized = load_image_for_budget(image, self.image_pixels, self.patch_group, name)
                if size is not None and resized.size != size:
                    resized = resized.resize(size, Image.Resampling.BICUBIC)
                loaded[key] = _content_key(resized)
            content, resized = loaded[key]
            return distinct.setdefault(content, (len(distinct), resized))

        paired = self.edited_image_frames == "source_then_edited"
        for i, (source, edited) in enumerate(zip(source_images, edited_images)):
            source_index, source_image = index_of(source, f"source_images[{i}]")
            edited_index, _ = index_of(edited, f"edited_images[{i}]", source_image.size if paired else None)
            image_index.append([source_index, edited_index])
        return [resized for _, resized in distinct.values()], image_index

    def _source_then_edited(self, vision, image_index):
        """Replace each triplet's edited image by a two-frame clip whose first frame is the source's and whose second
        is the edited image's (patch vectors are laid out channel, frame, row, column); identical clips once."""
        frames = self.image_processor.temporal_patch_size
        if frames < 2:
            raise ValueError(f"edited_image_frames='source_then_edited' needs temporal_patch_size >= 2, got {frames}.")
        grids = vision["image_grid_thw"]
        patches = vision["pixel_values"].split(grids.prod(-1).tolist())
        entries, new_index = {}, []

        def entry(key, make, grid):
            if key not in entries:
                entries[key] = (len(entries), make(), grid)
            return entries[key][0]

        def clip(source, edited):
            n = patches[source].shape[0]
            first = patches[source].view(n, -1, frames, self.image_processor.patch_size**2)[:, :, : frames // 2]
            second = patches[edited].view(n, -1, frames, self.image_processor.patch_size**2)[:, :, frames // 2 :]
            return torch.cat([first, second], dim=2).reshape(n, -1)

        for source, edited in image_index:
            new_index.append([
                entry(("image", source), lambda: patches[source], grids[source]),
                entry(("clip", source, edited), lambda: clip(source, edited), grids[source]),
            ])
        values = list(entries.values())
        vision = {
            "pixel_values": torch.cat([p for _, p, _ in values]),
            "image_grid_thw": torch.stack([g for _, _, g in values]),
        }
        return vision, new_index

    def _row_prompts(self) -> list[tuple[str, str, str]]:
        """(name, prompt, suffix) of each row a triplet gets: one per dimension, or the one compact row."""
        if self.input_format == "compact":
            return [("compact", self.compact_prompt, "")]
        return [(d, self.rubric_prompts[d], self.reward_suffix) for d in self.dimensions]

    def _row_text(self, instruction: str, source_tokens: int, edited_tokens: int, name: str, prompt: str,
                  suffix: str) -> str:  # fmt: skip
        before, between, after = self._row_template(name, prompt, suffix, self.chat_template)
        return before + IMAGE_PAD * source_tokens + between + IMAGE_PAD * edited_tokens + after.replace(
            _INSTRUCTION_SLOT, instruction
        )

    def _row_template(self, dimension: str, rubric: str, suffix: str, chat_template: str) -> tuple[str, str, str]:
        """The chat template rendered once per prompt, with a slot for the instruction: (text before the source
        image, between the images, after the edited image). Keyed by everything the rendering depends on."""
        key = (dimension, rubric, suffix, chat_template)
        cache = self.__dict__.setdefault("_row_templates", {})
        if key not in cache:
            prompt = rubric.format(text_prompt=_INSTRUCTION_SLOT) + suffix
            content = [{"type": "image"}, {"type": "image"}, {"type": "text", "text": prompt}]
            text = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": content}], chat_template=chat_template, tokenize=False,
                add_generation_prompt=True,
            )  # fmt: skip
            parts = text.split(IMAGE_PAD)
            if len(parts) != 3 or text.count(_INSTRUCTION_SLOT) != 1 or _INSTRUCTION_SLOT not in parts[2]:
                raise ValueError("The chat template must render two images and then the prompt, once each.")
            cache[key] = tuple(parts)
        return cache[key]

    def batch_decode(self, *args, **kwargs):
        return self.tokenizer.batch_decode(*args, **kwargs)

    def decode(self, *args, **kwargs):
        return self.tokenizer.decode(*args, **kwargs)


def _backbone_chat_template(backbone: str, tokenizer) -> str:
    """The backbone's chat template: its `chat_template.jinja` or legacy `chat_template.json`, else the tokenizer's."""
    import json

    from transformers.utils import cached_file

    for filename in ("chat_template.jinja", "chat_template.json"):
        path = cached_file(backbone, filename, _raise_exceptions_for_missing_entries=False)
        if path:
            text = open(path, encoding="utf-8").read()
            return json.loads(text)["chat_template"] if filename.endswith(".json") else text
    if tokenizer.chat_template:
        return tokenizer.chat_template
    raise ValueError(f"{backbone} has no chat template; pass chat_template= to EditRewardProcessor.")


def _content_key(image):
    digest = hashlib.blake2b(np.asarray(image).tobytes(), digest_size=16)
    digest.update(repr(image.size).encode())
    return digest.hexdigest(), image


def as_triplet_lists(source_images, instructions, edited_images, reserved_tokens=()):
    """Validate and normalise the three inputs to equal-length lists, naming what is wrong."""
    if source_images is None or instructions is None or edited_images is None:
        raise ValueError("source_images, instructions and edited_images are all required.")
    if isinstance(instructions, str):
        instructions = [instructions]
    source_images, edited_images = _image_list(source_images), _image_list(edited_images)
    lengths = {"source_images": len(source_images), "instructions": len(instructions), "edited_images": len(edited_images)}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"source_images, instructions and edited_images must have the same length, got {lengths}.")
    if not source_images:
        raise ValueError("No triplets given: source_images, instructions and edited_images are empty.")
    for i, instruction in enumerate(instructions):
        if not isinstance(instruction, str) or not instruction.strip():
            raise ValueError(f"instructions[{i}] is empty or not a string ({instruction!r}); give the edit instruction.")
        reserved = [token for token in reserved_tokens if token in instruction]
        if reserved:
            raise ValueError(f"instructions[{i}] contains the reserved special tokens {reserved}; remove them.")
    return list(source_images), list(instructions), list(edited_images)


def _image_list(images) -> list:
    """A list of images from a list, a tuple or any other sequence (a `datasets` column); one image (a PIL image, a
    path, an array) becomes a list of one."""
    return list(images) if isinstance(images, Sequence) and not isinstance(images, (str, bytes)) else [images]
