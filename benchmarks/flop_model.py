"""The benchmarks' FLOP model and compute shares: what a FLOP count predicts for each way of scoring a batch, here
and for the full-size model (Qwen2.5-VL-7B, Qwen3-VL-8B), and the measured vision share, printed beside the measured
speed-ups. `python benchmarks/flop_model.py` prints the full-size FLOP model of scoring K edits for both families."""

import statistics
from dataclasses import dataclass

import torch
from common import FULL_SIZE, INSTRUCTIONS, PIXELS, edits_of, image_cost, overridden, photo, vlm_config
from reference_pass import Row, split_rows
from timing import interleaved, machine

@dataclass
class FlopModel:
    """Forward FLOPs of a backbone: 2 x parameters x tokens for the linear layers, plus attention over the (query,
    key) pairs computed (QK^T and AV; the full square of a row under a dense mask, as SDPA computes it). Backward
    costs about twice the forward on both sides of a comparison, so forward ratios predict training ratios too."""

    vision_per_image: float  # blocks and patch embedding on every patch, merger(s) on every visual token
    language_per_token: float  # 2 x language-model parameters without the embedding matrix
    attention_per_pair: float  # per (query, key) pair: 4 x attention width x layers
    language_params: int
    vision_params: int

    @classmethod
    def of(cls, config) -> "FlopModel":
        from editreward.modeling_editreward.backbones_editreward import backbone_family

        with torch.device("meta"):
            backbone = backbone_family(config.model_type).get("model_class")._from_config(config)
        count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
        visual, language = backbone.visual, backbone.language_model
        text = config.text_config
        head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
        width = text.num_attention_heads * head_dim
        language_params = count(language) - count(language.embed_tokens)
        patches, tokens = image_cost(config)
        mergers = count(visual.merger) + count(getattr(visual, "deepstack_merger_list", torch.nn.ModuleList()))
        return cls(
            vision_per_image=2 * (count(visual.blocks) + count(visual.patch_embed)) * patches + 2 * mergers * tokens,
            language_per_token=2 * language_params, attention_per_pair=4 * width * text.num_hidden_layers,
            language_params=language_params, vision_params=count(visual),
        )  # fmt: skip

    def forward(self, row_lengths: list[int], images: int, attention_pairs: int | None = None) -> float:
        """FLOPs of a pass over rows of these (padded) lengths that encodes `images` images; attention over each
        row's full square unless `attention_pairs` says how many (query, key) pairs are computed."""
        pairs = sum(n * n for n in row_lengths) if attention_pairs is None else attention_pairs
        return self.language_per_token * sum(row_lengths) + self.attention_per_pair * pairs + images * self.vision_per_image


def layouts(inputs, config) -> dict[str, tuple]:
    """(row lengths the language model runs, images encoded[, attention pairs]) of each way to score a processor
    batch: `reference` (every row alone, two images each), `rows` (one padded batch, distinct images once),
    `packed` (the model's shared-prefix rows, one per source image: prefix once, each edited image once, every
    rubric segment; padded; attention over the whole packed row under the dense mask) and `tree` (the same rows,
    attention only where the tree mask allows: each segment against its ancestors and itself). The model's rows end
    at the reward token (nothing after it can change its hidden state)."""
    lengths = inputs["attention_mask"].sum(-1).tolist()
    is_reward = (inputs["input_ids"] == config.reward_token_id).int()
    ends_at_reward = (is_reward.shape[1] - is_reward.flip(-1).argmax(-1)).tolist()  # after the last reward token
    vision_end = inputs["input_ids"] == config.vlm_config.vision_end_token_id
    ends = (vision_end.nonzero()[:, 1].view(-1, 2) + 1).tolist()
    packed = {}
    for row, ((prefix_end, edit_end), length) in enumerate(zip(ends, ends_at_reward)):
        source, edited = inputs["image_index"][row // config.rows_per_triplet].tolist()
        segments = packed.setdefault(source, {"prefix": prefix_end, "edits": {}, "rubrics": 0, "pairs": 0})
        segments["edits"][edited] = edit_end - prefix_end
        segments["rubrics"] += length - edit_end
        segments["pairs"] += (length - edit_end) * length  # a rubric sees the prefix, its edit and itself
    packed_lengths = [s["prefix"] + sum(s["edits"].values()) + s["rubrics"] for s in packed.values()]
    tree_pairs = sum(s["prefix"] ** 2 + sum(e * (s["prefix"] + e) for e in s["edits"].values()) + s["pairs"]
                     for s in packed.values())  # fmt: skip
    distinct = len(inputs["image_grid_thw"])
    packed_rows = [max(packed_lengths)] * len(packed_lengths)
    return {
        "reference": (lengths, 2 * len(lengths)),
        "rows": ([max(ends_at_reward)] * len(lengths), distinct),
        "packed": (packed_rows, distinct),
        "tree": (packed_rows, distinct, tree_pairs),
    }


def predicted_ratios(flops: FlopModel, inputs, config, reference_inputs=None) -> dict[str, float]:
    """Reference FLOPs / each layout's FLOPs; the reference of `reference_inputs` (the official rows of the same
    edits) when `inputs` are in another input format."""
    work = {name: flops.forward(*layout) for name, layout in layouts(inputs, config).items()}
    if reference_inputs is not None:
        with overridden(config, input_format="per_dimension"):
            work["reference"] = flops.forward(*layouts(reference_inputs, config)["reference"])
    return {name: work["reference"] / value for name, value in work.items() if name != "reference"}



def measured_vision_share(model, row: Row, repeats: int) -> tuple[float, float]:
    """Median seconds of the vision tower on one row's two images and of the language model on that row
    (forward, no grad), timed interleaved."""
    backbone = model.model
    embeds = backbone.get_input_embeddings()(row.input_ids.clamp(max=backbone.config.text_config.vocab_size - 1))
    mask = torch.ones_like(row.input_ids)
    with torch.inference_mode():
        times = interleaved({
            "vision": lambda: backbone.visual(row.pixel_values, grid_thw=row.image_grid_thw),
            "language": lambda: backbone.language_model(inputs_embeds=embeds, attention_mask=mask, use_cache=False),
        }, repeats)  # fmt: skip
    return statistics.median(times["vision"]), statistics.median(times["language"])


def describe_config(model, processor, size: str, threads: int, tokens_per_row: list[int], share_repeats: int = 3):
    """Print what is measured: sizes, tokens, compute shares (this config's and the family's full-size model's:
    Qwen2.5-VL-7B or Qwen3-VL-8B), threads, versions. Returns the FLOP models of this config and of the full size."""
    import transformers

    text, vision = model.config.vlm_config.text_config, model.config.vlm_config.vision_config
    tokens = sum(tokens_per_row) / len(tokens_per_row)
    family = model.config.backbone_family.name
    full_name = FULL_SIZE[family][0]
    mine = FlopModel.of(model.config.vlm_config)
    full = FlopModel.of(vlm_config(processor.tokenizer, "full", family))
    patches, visual_tokens = image_cost(model.config.vlm_config)
    vision_share = lambda f: 2 * f.vision_per_image / (f.language_per_token * tokens)  # noqa: E731
    attention_share = lambda f: f.attention_per_pair * tokens / f.language_per_token  # noqa: E731
    print(f"machine: {machine()}")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, threads {threads}, float32, "
          f"attention {model.model.language_model.config._attn_implementation}")  # fmt: skip
    print(f"config '{size}': language {text.num_hidden_layers} layers x {text.hidden_size} "
          f"(heads {text.num_attention_heads}/{text.num_key_value_heads} kv, MLP {text.intermediate_size}), "
          f"{mine.language_params / 1e6:.1f}M params without embeddings; vision {vision.depth} blocks x "
          f"{vision.hidden_size} (MLP {vision.intermediate_size}), {mine.vision_params / 1e6:.2f}M params; "
          f"position mode {model.config.position_mode}")  # fmt: skip
    print(f"inputs: {PIXELS:,} px per image = {patches:,} patches -> {visual_tokens} visual tokens; "
          f"released rubric prompts; tokens per (triplet, dimension) row {min(tokens_per_row)}-{max(tokens_per_row)}")
    print(f"vision share (2 images' encoding / one row's language model), linear-layer FLOPs: {vision_share(mine):.2f} "
          f"here, {vision_share(full):.2f} for {full_name}")  # fmt: skip
    print(f"attention / linear-layer FLOPs of the language model on one row: {attention_share(mine):.2f} here, "
          f"{attention_share(full):.2f} for {full_name} (attention grows with the square of a packed row's length, "
          "so a larger share here penalises shared-prefix packing)")  # fmt: skip
    row = split_rows(processor(source_images=[photo("astronaut")], instructions=[INSTRUCTIONS["astronaut"]],
                               edited_images=[edits_of(photo("astronaut"))[0]]), processor.dimensions)[0]  # fmt: skip
    vision_s, language_s = measured_vision_share(model, row, share_repeats)
    print(f"vision share measured here (forward time): {vision_s / language_s:.2f} "
          f"({vision_s * 1e3:.0f} ms / {language_s * 1e3:.0f} ms; attention and elementwise work, which the FLOP "
          "count leaves out, weigh more at these widths than at full size)")  # fmt: skip
    return mine, full


def k_edit_report(ks=(1, 2, 4, 8)) -> list[dict]:
    """The FLOP model of scoring K edits of one source at full size, for each family (Qwen2.5-VL-7B, Qwen3-VL-8B):
    the official way (one pass per (edit, dimension) row, both images re-encoded) against the packed forward (each
    image once, the shared prefix once; attention under the dense mask or the tree's) and the compact format (one
    row per edit, packed, tree attention). Real processors, the released prompts, 448 x 448 photos; no weights."""
    from common import FAMILIES, build_processor, full_size_config

    from editreward import EditRewardConfig

    source = photo("astronaut")
    candidates = edits_of(source) + edits_of(photo("coffee"))
    report = []
    for family in FAMILIES:
        processor, compact = build_processor(family), build_processor(family, input_format="compact")
        config = EditRewardConfig.from_processor(processor, full_size_config(processor.tokenizer, family))
        compact_config = EditRewardConfig.from_processor(compact, config.vlm_config)
        flops = FlopModel.of(config.vlm_config)
        for k in ks:
            edits = candidates[:k]
            group = dict(source_images=[source] * k, instructions=[INSTRUCTIONS["astronaut"]] * k, edited_images=edits)
            inputs = processor(**group)
            work = {name: flops.forward(*layout) for name, layout in layouts(inputs, config).items()}
            work["compact"] = flops.forward(*layouts(compact(**group), compact_config)["tree"])
            report.append(dict(family=FULL_SIZE[family][0], k=k, tokens_per_image=image_cost(config.vlm_config)[1],
                               row_tokens=int(inputs["attention_mask"].sum(-1).max()),
                               official_tflops=work["reference"] / 1e12, packed_tflops=work["packed"] / 1e12,
                               tree_tflops=work["tree"] / 1e12, speedup=work["reference"] / work["packed"],
                               tree_speedup=work["reference"] / work["tree"], compact_tflops=work["compact"] / 1e12,
                               compact_speedup=work["reference"] / work["compact"]))  # fmt: skip
    return report


if __name__ == "__main__":
    print("| backbone | K edits | visual tokens / image | tokens / row | official | packed, dense mask | packed, tree "
          "attention | compact format, tree |")
    print("|---|---|---|---|---|---|---|---|")
    for r in k_edit_report():
        print(f"| {r['family']} | {r['k']} | {r['tokens_per_image']} | {r['row_tokens']} | {r['official_tflops']:.1f} "
              f"| {r['packed_tflops']:.1f} ({r['speedup']:.2f}x) | {r['tree_tflops']:.1f} ({r['tree_speedup']:.2f}x) "
              f"| {r['compact_tflops']:.1f} ({r['compact_speedup']:.2f}x) |")
