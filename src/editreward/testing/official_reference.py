"""The released EditReward checkpoints' layout and scoring, rewritten as a test oracle.

The conversion tests and `benchmarks/gpu_check.py` build a model in the official layout here, save its state dict
as TIGER-Lab released it, and score it the official way, to check that a converted folder scores the same. The
official way: one backbone pass per dimension prompt with every image of every row encoded, token embeddings (the
`<|Reward|>` row included) with the vision features scattered in, plain sequential 1-D positions on all three rope
axes, the head over all hidden states with the reward-token position picked, then the mean of the two heads'
`[mu, log_sigma]`.

The official Qwen3-VL class (`Qwen3_VLRewardModelBT_MultiHead`) differs in one place, its backbone call: it passes
`input_ids`, `pixel_values`, `image_grid_thw` and the attention mask to `Qwen3VLModel`, which scatters the visual
tokens, adds the DeepStack features after the first decoder layers and computes 3-D interleaved M-RoPE itself. The
oracle makes the same call on transformers' own `Qwen3VLModel` (under transformers 5 it also needs
`mm_token_type_ids`, which 4.57 derived from `input_ids`), one row per (triplet, dimension), every image encoded
in every row: nothing of EditRewardModel's feature scattering, DeepStack placement, packing or positions is used.
"""

import copy
from pathlib import Path

import torch
from torch import nn

IMAGE_PAD = "<|image_pad|>"


def official_head(hidden_size: int) -> nn.Sequential:
    """Linear(hidden, 1024) -> ReLU -> Dropout(0.05) -> Linear(1024, 16) -> ReLU -> Linear(16, 2): indices 0, 3, 5."""
    return nn.Sequential(
        nn.Linear(hidden_size, 1024), nn.ReLU(), nn.Dropout(0.05), nn.Linear(1024, 16), nn.ReLU(), nn.Linear(16, 2)
    )


OFFICIAL_CLASSES = {"qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration", "qwen3_vl": "Qwen3VLForConditionalGeneration"}


class OfficialRewardModel(nn.Module):
    """The module tree of the official checkpoints: Qwen2_5_VLForConditionalGeneration's (or, for a Qwen3-VL
    config, Qwen3VLForConditionalGeneration's) `model` and `lm_head` with the vocabulary resized after `<|Reward|>`
    was appended, and `rm_heads.head_0/1` kept in float32."""

    def __init__(self, vlm_config, num_tokens: int, dtype=torch.float32):
        import transformers

        super().__init__()
        generation_class = getattr(transformers, OFFICIAL_CLASSES[vlm_config.model_type])
        # _from_config sets the attention implementation (a bare constructor leaves it None); resizing edits the config
        vlm = generation_class._from_config(copy.deepcopy(vlm_config)).to(dtype)
        vlm.resize_token_embeddings(num_tokens)
        self.model, self.lm_head = vlm.model, vlm.lm_head
        hidden = vlm_config.text_config.hidden_size
        self.rm_heads = nn.ModuleDict({f"head_{i}": official_head(hidden) for i in range(2)}).float()
        self.image_token_id = vlm_config.image_token_id
        self.family = vlm_config.model_type
        self.eval()


def make_official_model(vlm_config, num_tokens: int, reward_token_id: int, seed: int = 0, dtype=torch.float32):
    """A random official-layout model whose `<|Reward|>` row is distinct from every other row (as if trained)."""
    torch.manual_seed(seed)
    model = OfficialRewardModel(vlm_config, num_tokens, dtype=dtype)
    with torch.no_grad():
        embeddings = model.model.get_input_embeddings().weight
        embeddings[reward_token_id] = torch.randn_like(embeddings[reward_token_id]) * embeddings.std()
    return model


def to_legacy_layout(state_dict: dict) -> dict:
    """The pre-4.52 names of the same tensors: `visual.*` and `model.{embed_tokens,layers,norm}.*`."""
    renamed = {}
    for key, tensor in state_dict.items():
        if key.startswith("model.visual."):
            key = key.removeprefix("model.")
        elif key.startswith("model.language_model."):
            key = "model." + key.removeprefix("model.language_model.")
        renamed[key] = tensor
    return renamed


def save_official_checkpoint(model, folder, layout: str = "module", file_format: str = "safetensors") -> Path:
    """Save the state dict as TIGER-Lab did: one `model.safetensors` (or `model.pth`) in `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state_dict = {key: tensor.contiguous() for key, tensor in model.state_dict().items()}
    if layout == "legacy":
        state_dict = to_legacy_layout(state_dict)
    if file_format == "pth":
        torch.save(state_dict, folder / "model.pth")
        return folder / "model.pth"
    from safetensors.torch import save_file

    save_file(state_dict, folder / "model.safetensors", metadata={"format": "pt"})
    return folder / "model.safetensors"


def official_inputs(tokenizer, image_processor, chat_template, pixels, rubric, suffix, sources, instructions, edits):
    """One dimension's batch: per triplet one user turn (source, edited, rubric + suffix), every image resized to
    `pixels` and encoded, each `<|image_pad|>` expanded to its number of visual tokens, right padding."""
    from PIL import Image
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    patch_group = image_processor.patch_size * image_processor.merge_size

    def resized(image):
        height, width = smart_resize(image.height, image.width, factor=patch_group, min_pixels=pixels,
                                     max_pixels=pixels)  # fmt: skip
        return image.convert("RGB").resize((width, height), Image.Resampling.BICUBIC)

    images = [resized(image) for pair in zip(sources, edits) for image in pair]
    vision = image_processor(images=images, return_tensors="pt")
    counts = iter((vision["image_grid_thw"].prod(-1) // image_processor.merge_size**2).tolist())
    texts = []
    for instruction in instructions:
        prompt = rubric.format(text_prompt=instruction) + suffix
        content = [{"type": "image"}, {"type": "image"}, {"type": "text", "text": prompt}]
        text = tokenizer.apply_chat_template([{"role": "user", "content": content}], chat_template=chat_template,
                                             tokenize=False, add_generation_prompt=True)
        parts = text.split(IMAGE_PAD)
        texts.append(parts[0] + "".join(IMAGE_PAD * next(counts) + part for part in parts[1:]))
    text_inputs = tokenizer(texts, padding=True, padding_side="right", return_tensors="pt", add_special_tokens=False)
    return {**text_inputs, "pixel_values": vision["pixel_values"], "image_grid_thw": vision["image_grid_thw"]}


@torch.no_grad()
def official_head_output(model: OfficialRewardModel, head: str, inputs: dict, reward_token_id: int) -> torch.Tensor:
    """[batch, 2] = `[mu, log_sigma]` of one head, the way the released models were run."""
    input_ids = inputs["input_ids"]
    hidden = (_qwen3_vl_hidden if model.family == "qwen3_vl" else _qwen25_vl_hidden)(model, inputs)
    logits = model.rm_heads[head](hidden.float())  # every position, as the official code, then the reward token's
    return logits[input_ids == reward_token_id].view(input_ids.shape[0], 2)


def _qwen3_vl_hidden(model, inputs):
    """The official Qwen3-VL backbone call: Qwen3VLModel on ids, pixels and grids (its M-RoPE, its DeepStack)."""
    input_ids = inputs["input_ids"]
    return model.model(
        input_ids=input_ids, attention_mask=inputs["attention_mask"], pixel_values=inputs["pixel_values"],
        image_grid_thw=inputs["image_grid_thw"], mm_token_type_ids=(input_ids == model.image_token_id).int(),
        use_cache=False,
    ).last_hidden_state


def _qwen25_vl_hidden(model, inputs):
    """The released Qwen2.5-VL backbone call: features scattered by hand, then 1-D positions on all rope axes."""
    input_ids, attention_mask = inputs["input_ids"], inputs["attention_mask"]
    embeds = model.model.get_input_embeddings()(input_ids)
    pixel_values = inputs["pixel_values"].to(model.model.visual.dtype)
    image_embeds = model.model.visual(pixel_values, grid_thw=inputs["image_grid_thw"]).pooler_output
    image_mask = (input_ids == model.image_token_id).unsqueeze(-1).expand_as(embeds)
    embeds = embeds.masked_scatter(image_mask, image_embeds.to(embeds.dtype))
    positions = (attention_mask.long().cumsum(-1) - 1).masked_fill(attention_mask == 0, 1)
    return model.model.language_model(
        inputs_embeds=embeds, attention_mask=attention_mask, position_ids=positions.unsqueeze(0).expand(3, -1, -1),
        use_cache=False,
    ).last_hidden_state


def official_scores(model, tokenizer, image_processor, chat_template, pixels, sources, instructions, edits,
                    device="cpu"):
    """Per-dimension `mu`, `log_sigma` [N, 2] (head_0 = instruction following, head_1 = visual quality) and the
    mean-fused `score`, `score_log_sigma` [N]: one backbone pass per dimension prompt."""
    from editreward.modeling_editreward import REWARD_SUFFIX, RUBRIC_PROMPTS

    reward_token_id = tokenizer.convert_tokens_to_ids("<|Reward|>")
    outputs = []
    for head, dimension in (("head_0", "instruction_following"), ("head_1", "visual_quality")):
        inputs = official_inputs(tokenizer, image_processor, chat_template, pixels, RUBRIC_PROMPTS[dimension],
                                 REWARD_SUFFIX, sources, instructions, edits)
        inputs = {key: value.to(device) for key, value in inputs.items()}
        outputs.append(official_head_output(model, head, inputs, reward_token_id))
    raw = torch.stack(outputs, dim=1)  # [N, heads, 2]
    fused = raw.mean(dim=1)
    return {"mu": raw[..., 0], "log_sigma": raw[..., 1], "score": fused[:, 0], "score_log_sigma": fused[:, 1]}
