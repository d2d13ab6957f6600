"""The compact single-pass format against one row per dimension, trained on the quickstart task: held-out accuracy,
training time and the language-model tokens each format computes, the same data, seed and steps for both.

Each format runs the whole quickstart (`editreward.quickstart.run_quickstart`: data, training with
`EditRewardTrainer`, tie-calibrated held-out accuracy with `editreward_accuracy`); only `input_format` differs. The
speed of each format at the 7B proportions is `bench_scoring.py` (its compact side) and `bench_training.py
--input-format compact`.

    python benchmarks/bench_compact_format.py [--steps 7000] [--seed 0] [--threads 2] [--formats per_dimension,compact]
"""

import argparse
import json
import tempfile
from pathlib import Path

import torch
from timing import load_average, machine

FORMATS = ("per_dimension", "compact")


def tokens_per_triplet(input_format: str, dataset_dir: Path, seed: int) -> float:
    """Language-model tokens one held-out triplet costs the quickstart's model in this format (both dimensions; rows
    up to their last reward token, the model's shared-prefix packing of one triplet)."""
    from datasets import load_from_disk

    from editreward.modeling_editreward.scoring import TripletTokens
    from editreward.quickstart.recipe import MODEL_RECIPE
    from editreward.quickstart.training import build_model

    model, processor = build_model(seed, {**MODEL_RECIPE, "input_format": input_format})
    test = load_from_disk(str(dataset_dir))["test"].select(range(16))
    costs = TripletTokens.of(processor(test["source"], test["instruction"], test["chosen"]), model.config)
    return sum(t.prefix + t.edit + t.tails for t in costs) / len(costs)


def train_and_evaluate(input_format: str, output_dir: Path, steps: int, seed: int) -> dict:
    """The whole quickstart in one format; its held-out accuracy, training time and tokens per triplet."""
    from editreward.quickstart.run import run_quickstart

    summary = run_quickstart(output_dir, seed=seed, training_overrides={"max_steps": steps}, progress=False,
                             input_format=input_format)  # fmt: skip
    overall = summary["evaluation"]["overall"]
    return dict(accuracy=overall["accuracy"], without_ties=overall["accuracy_without_ties"],
                low=overall.get("accuracy_ci_low"), high=overall.get("accuracy_ci_high"),
                minutes=summary["timings"]["training"] / 60, steps=summary["trained_steps"],
                tokens=tokens_per_triplet(input_format, output_dir / "dataset", seed))  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=7000, help="training steps of each format (the recipe's 7000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the quickstart's default: all)")
    parser.add_argument("--formats", default=",".join(FORMATS), help="which formats to run (default: both)")
    parser.add_argument("--results", type=Path, default=Path("bench_compact_format.json"),
                        help="results file, written after each format and read back: a format already in it for "
                             "the same steps and seed is not run again")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from editreward.quickstart.report import format_accuracy

    print(f"machine: {machine()}; torch threads {torch.get_num_threads()}; load average {load_average()}")
    key = f"steps={args.steps},seed={args.seed}"
    results = json.loads(args.results.read_text()) if args.results.exists() else {}
    rows = results.setdefault(key, {})
    with tempfile.TemporaryDirectory() as work:
        for input_format in args.formats.split(","):
            if input_format not in rows:
                rows[input_format] = train_and_evaluate(input_format, Path(work) / input_format, args.steps, args.seed)
                for name, row in rows.items():  # a row read back without its token count (the data are the same)
                    row["tokens"] = row.get("tokens") or tokens_per_triplet(name, Path(work) / input_format / "dataset",
                                                                            args.seed)  # fmt: skip
                args.results.write_text(json.dumps(results, indent=1))
    print(f"\nquickstart task, seed {args.seed}, {args.steps} steps each, load average at end {load_average()}")
    print(f"{'format':<15}{'held-out accuracy':>20}{'without ties':>14}{'training':>12}{'LM tokens / triplet':>21}")
    for name, r in rows.items():
        interval = f" [{r['low']:.3f}-{r['high']:.3f}]" if r["low"] is not None else ""
        print(f"{name:<15}{r['accuracy']:>8.3f}{interval:<12}{format_accuracy(r['without_ties']):>14}"
              f"{r['minutes']:>9.1f} min{r['tokens']:>21.0f}")  # fmt: skip
    if set(FORMATS) <= set(rows):
        gap = rows["compact"]["accuracy"] - rows["per_dimension"]["accuracy"]
        verdict = "kept: not" if gap >= -0.01 else "not worth keeping:"
        print(f"compact - per_dimension: {100 * gap:+.1f} points of held-out accuracy ({verdict} more than one point "
              "below the per-dimension format)")  # fmt: skip


if __name__ == "__main__":
    main()
