"""The compact single-pass format against one row per dimension, trained on the quickstart task: held-out accuracy,
training time and the language-model tokens each format computes, the same data, seed and steps for both.

Each format runs the whole quickstart (`editreward.quickstart.run_quickstart`: data, training with
`EditRewardTrainer`, tie-calibrated held-out accuracy with `editreward_accuracy`); only `input_format` differs. The
speed of each format at the 7B proportions is `bench_scoring.py` (its compact side) and `bench_training.py
--input-format compact`.

    python benchmarks/bench_compact_format.py [--steps 7000] [--seed 0] [--threads 2]
"""

import argparse
import tempfile
from pathlib import Path

import torch
from timing import load_average, machine

FORMATS = ("per_dimension", "compact")


def tokens_per_triplet(output_dir: Path) -> float:
    """Language-model tokens one held-out triplet costs this format's saved model (both dimensions; rows up to their
    last reward token, the model's shared-prefix packing of one triplet)."""
    from datasets import load_from_disk

    from editreward import EditRewardModel, EditRewardProcessor
    from editreward.modeling_editreward.scoring import TripletTokens

    model = EditRewardModel.from_pretrained(output_dir / "model")
    processor = EditRewardProcessor.from_pretrained(output_dir / "model")
    test = load_from_disk(str(output_dir / "dataset"))["test"].select(range(16))
    inputs = processor(test["source"], test["instruction"], test["chosen"])
    costs = TripletTokens.of(inputs, model.config)
    return sum(t.prefix + t.edit + t.tails for t in costs) / len(costs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=7000, help="training steps of each format (the recipe's 7000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the quickstart's default: all)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from editreward.quickstart.report import format_accuracy
    from editreward.quickstart.run import run_quickstart

    print(f"machine: {machine()}; torch threads {torch.get_num_threads()}; load average {load_average()}")
    rows = {}
    with tempfile.TemporaryDirectory() as work:
        for input_format in FORMATS:
            out = Path(work) / input_format
            summary = run_quickstart(out, seed=args.seed, training_overrides={"max_steps": args.steps},
                                     progress=False, input_format=input_format)  # fmt: skip
            overall = summary["evaluation"]["overall"]
            rows[input_format] = dict(accuracy=overall["accuracy"], without_ties=overall["accuracy_without_ties"],
                                      low=overall.get("accuracy_ci_low"), high=overall.get("accuracy_ci_high"),
                                      minutes=summary["timings"]["training"] / 60, steps=summary["trained_steps"],
                                      tokens=tokens_per_triplet(out))  # fmt: skip
    print(f"\nquickstart task, seed {args.seed}, {args.steps} steps each, load average at end {load_average()}")
    print(f"{'format':<15}{'held-out accuracy':>20}{'without ties':>14}{'training':>12}{'LM tokens / triplet':>21}")
    for name, r in rows.items():
        interval = f" [{r['low']:.3f}-{r['high']:.3f}]" if r["low"] is not None else ""
        print(f"{name:<15}{r['accuracy']:>8.3f}{interval:<12}{format_accuracy(r['without_ties']):>14}{r['minutes']:>9.1f} min"
              f"{r['tokens']:>21.0f}")  # fmt: skip
    gap = rows["compact"]["accuracy"] - rows["per_dimension"]["accuracy"]
    verdict = "within" if gap >= -0.01 else "more than"
    print(f"compact - per_dimension: {100 * gap:+.1f} points of held-out accuracy ({verdict} one point below); "
          f"training time ratio {rows['per_dimension']['minutes'] / rows['compact']['minutes']:.2f}x")


if __name__ == "__main__":
    main()
