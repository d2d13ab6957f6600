"""The backbone families an EditReward model can sit on, and what differs between them (one home for it).

Both are transformers' own classes: Qwen2.5-VL (patch 14, merge 2: 28 x 28 px per visual token; MiMo-VL has its
architecture) and Qwen3-VL (patch 16, merge 2: 32 x 32 px per visual token; learned position embeddings interpolated
per grid; DeepStack: features of several vision layers added to the visual tokens' hidden states after the first
decoder layers; interleaved M-RoPE). The family is the backbone config's `model_type`.
"""

from dataclasses import dataclass

import transformers


@dataclass(frozen=True)
class BackboneFamily:
    name: str  # the backbone config's model_type
    title: str  # for cards and messages
    config_class: str  # names in transformers
    model_class: str
    generation_class: str
    deepstack: bool  # the vision tower's DeepStack features enter the first decoder layers
    example: str  # a base model of the family on the Hub

    def get(self, attribute: str):
        """The transformers class named by `attribute` (`config_class`, `model_class`, `generation_class`)."""
        return getattr(transformers, getattr(self, attribute))


FAMILIES = {
    family.name: family
    for family in (
        BackboneFamily("qwen2_5_vl", "Qwen2.5-VL", "Qwen2_5_VLConfig", "Qwen2_5_VLModel",
                       "Qwen2_5_VLForConditionalGeneration", deepstack=False, example="Qwen/Qwen2.5-VL-7B-Instruct"),
        BackboneFamily("qwen3_vl", "Qwen3-VL", "Qwen3VLConfig", "Qwen3VLModel", "Qwen3VLForConditionalGeneration",
                       deepstack=True, example="Qwen/Qwen3-VL-8B-Instruct"),
    )
}  # fmt: skip
DEFAULT_FAMILY = "qwen2_5_vl"
NO_SPLIT_MODULES = ["Qwen2_5_VLDecoderLayer", "Qwen2_5_VLVisionBlock", "Qwen3VLTextDecoderLayer", "Qwen3VLVisionBlock"]


def backbone_family(model_type: str) -> BackboneFamily:
    """The family of a backbone config's `model_type`, or an error naming the supported ones."""
    if model_type not in FAMILIES:
        supported = ", ".join(f"{f.name} ({f.title}, e.g. {f.example})" for f in FAMILIES.values())
        raise ValueError(f"Backbone model_type {model_type!r} is not supported; use one of: {supported}.")
    return FAMILIES[model_type]


def backbone_config_from_dict(values: dict):
    """A backbone config from its dict (as saved in config.json): the class its `model_type` names."""
    family = backbone_family(values.get("model_type", DEFAULT_FAMILY))
    values = {key: value for key, value in values.items() if key != "model_type"}
    return family.get("config_class")(**values)
