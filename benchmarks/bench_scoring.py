"""Scoring throughput: the batched EditRewardScorer against a reference-style scorer, on the same weights.

Reference (the official way): for each edit and each dimension one backbone pass on one row that re-encodes both
of its images (`reference_pass.reference_row_output`). Batched: `EditRewardScorer.score_group`, one backbone pass
for the group in which every distinct image is encoded once, with the model's shared-prefix packing
(`share_prefix=True`: the system prompt and source image computed once for the group, each edited image once for
its two dimensions), its attention computed only where the tree mask allows (`packed_attention="tree"`, the
default) or over the whole packed row under the dense mask (`"mask"`), and without packing (`share_prefix=False`:
one row per (edit, dimension), images still encoded once), to show what each mechanism contributes. Last, the
compact single-pass format (`input_format="compact"`: one row per edit holding both rubrics' essentials and one
reward token per dimension; the same weights, another input, so other scores: a format for new models). Groups of
1, 2 and 4 edits of one source; every side includes preprocessing. Prints edited images per second of each side, the ratios, the largest score difference between the
sides, and the forward time per triplet of the tiny and the small config.

    python benchmarks/bench_scoring.py [--repeats 3] [--size small|tiny] [--threads 1] [--position-mode mrope]
"""

import argparse
import statistics

import torch
from common import INSTRUCTIONS, add_common_arguments, build_model, build_processor, edits_of, overridden, photo, set_threads
from flop_model import describe_config, predicted_ratios
from reference_pass import reference_triplet_output
from timing import interleaved, load_average, spread

from editreward import EditRewardScorer

GROUPS = {1: "chelsea", 2: "coffee", 4: "astronaut"}  # group size -> source photo


def reference_group(model, processor, source, instruction, edits) -> torch.Tensor:
    """[edits, dimensions, 2] raw head outputs, one backbone pass per (edit, dimension)."""
    with torch.inference_mode():
        return torch.stack([reference_triplet_output(model, processor, source, instruction, e) for e in edits])


def batched_side(scorer, share_prefix: bool, source, instruction, edits, results: dict, key: str,
                 packed_attention: str = "tree"):  # fmt: skip
    def run():
        scorer.model.config.share_prefix = share_prefix
        scorer.model.config.packed_attention = packed_attention
        results[key] = scorer.score_group(source, instruction, edits)

    return run


def compact_side(scorer, source, instruction, edits, results: dict):
    def run():
        scorer.model.config.share_prefix, scorer.model.config.packed_attention = True, "tree"
        with overridden(scorer.model.config, input_format="compact"):
            results["compact"] = scorer.score_group(source, instruction, edits)

    return run


def largest_difference(scores, reference: torch.Tensor) -> float:
    """Largest |difference| over the fused score, every dimension's mu and log sigma."""
    mu, log_sigma = reference[..., 0].numpy(), reference[..., 1].numpy()
    return float(max(abs(scores.score - mu.mean(-1)).max(), abs(scores.mu - mu).max(),
                     abs(torch.tensor(scores.sigma).log().numpy() - log_sigma).max()))  # fmt: skip


def bench_groups(model, processor, compact_processor, flop_models, repeats: int) -> list[tuple]:
    scorer = EditRewardScorer(model, processor, batch_size=max(GROUPS), device="cpu", dtype=torch.float32)
    with overridden(model.config, input_format="compact"):
        compact = EditRewardScorer(model, compact_processor, batch_size=max(GROUPS), device="cpu", dtype=torch.float32)
    table = []
    for count, name in GROUPS.items():
        source, instruction = photo(name), INSTRUCTIONS[name]
        edits = edits_of(source)[:count]
        inputs = processor(source_images=[source] * count, instructions=[instruction] * count, edited_images=edits)
        compact_inputs = compact_processor(source_images=[source] * count, instructions=[instruction] * count,
                                           edited_images=edits)  # fmt: skip
        predicted = [predicted_ratios(flops, inputs, model.config) for flops in flop_models]
        with overridden(model.config, input_format="compact"):
            for ratios, flops in zip(predicted, flop_models):
                ratios["compact"] = predicted_ratios(flops, compact_inputs, model.config, inputs)["tree"]
        results = {}
        sides = {
            "reference": lambda: results.__setitem__("reference", reference_group(model, processor, source,
                                                                                   instruction, edits)),  # fmt: skip
            "batched, one row per dimension": batched_side(scorer, False, source, instruction, edits, results, "rows"),
            "batched, shared prefix, dense mask": batched_side(scorer, True, source, instruction, edits, results,
                                                               "packed", "mask"),  # fmt: skip
            "batched, shared prefix, tree": batched_side(scorer, True, source, instruction, edits, results, "tree"),
            "compact format, shared prefix, tree": compact_side(compact, source, instruction, edits, results),
        }
        times = interleaved(sides, repeats)
        difference = max(largest_difference(results[key], results["reference"]) for key in ("rows", "packed", "tree"))
        table.append((count, times, difference, predicted))
    scorer.model.config.share_prefix, scorer.model.config.packed_attention = True, "tree"
    return table


def print_groups(table):
    print("\nedited images per second (median of the interleaved repetitions; time per group: median (min-max));")
    print("x reference: measured speed-up; FLOP model: the speed-up FLOP counts predict here and for the full-size "
          "model (Qwen2.5-VL-7B or Qwen3-VL-8B)")
    print(f"{'edits':>5}  {'side':<36}{'edits/s':>9}  {'time per group':<28}{'x reference':>11}  {'FLOP model':>14}")
    layout_of = {"batched, one row per dimension": "rows", "batched, shared prefix, dense mask": "packed",
                 "batched, shared prefix, tree": "tree", "compact format, shared prefix, tree": "compact"}  # fmt: skip
    for count, times, difference, (here, full) in table:
        reference = statistics.median(times["reference"])
        for side, seconds in times.items():
            median = statistics.median(seconds)
            ratio, model = "", ""
            if side != "reference":
                ratio = f"{reference / median:.2f}x"
                model = f"{here[layout_of[side]]:.2f}x / {full[layout_of[side]]:.2f}x"
            print(f"{count:>5}  {side:<36}{count / median:>9.2f}  {spread(seconds):<28}{ratio:>11}  {model:>14}")
        print(f"{'':>5}  largest |score, mu or log sigma difference| vs reference: {difference:.2e} (the compact "
              "format's input differs: not compared)")  # fmt: skip


def bench_forward_per_triplet(processor, models: dict, repeats: int):
    """Forward time of one triplet (batch of 1, both dimensions, share_prefix=True), the sizes interleaved."""
    source = photo("rocket")
    inputs = processor(source_images=[source], instructions=[INSTRUCTIONS["rocket"]],
                       edited_images=[edits_of(source)[1]])  # fmt: skip
    with torch.inference_mode():
        times = interleaved({size: (lambda m=m: m(**inputs)) for size, m in models.items()}, repeats)
    print("\nforward time per triplet (batch of 1, model forward only, both dimensions, shared prefix)")
    for size, seconds in times.items():
        print(f"  {size:<6} {spread(seconds, 1e3, 'ms')}")


def main(argv=None):
    parser = add_common_arguments(argparse.ArgumentParser(description=__doc__.split("\n")[0]), repeats=3)
    args = parser.parse_args(argv)
    threads = set_threads(args.threads)
    print(f"load average at start: {load_average()}")
    processor = build_processor(args.family)
    models = {size: build_model(processor, size, family=args.family, position_mode=args.position_mode)
              for size in ("tiny", "small")}  # fmt: skip
    model = models[args.size]
    probe = processor(source_images=[photo("coffee")] * 2, instructions=[INSTRUCTIONS["coffee"]] * 2,
                      edited_images=edits_of(photo("coffee"))[:2])  # fmt: skip
    flop_models = describe_config(model, processor, args.size, threads, probe["attention_mask"].sum(-1).tolist())
    print(f"repetitions per side: {args.repeats} after 1 warm-up, sides interleaved; every side includes "
          "preprocessing (the reference runs the processor once per edit)")
    compact_processor = build_processor(args.family, input_format="compact")
    print_groups(bench_groups(model, processor, compact_processor, flop_models, args.repeats))
    bench_forward_per_triplet(processor, models, args.repeats)
    print(f"\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
