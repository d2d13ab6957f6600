"""The paper's curation claim in miniature, on the quickstart's training pairs with a known share of them swapped.

Do the reward model's margins find the swapped pairs, and does a model trained on the kept half beat one trained on a
random half of the same size (same steps, same seed)?

1. the quickstart's model, `QUICKSTART/model` (trained with `run_quickstart` first when the folder has none);
2. the quickstart's training pairs built at `--data-seed` (default 1: new crops, scenes and edits the model never
   saw; the quickstart's `--seed` gives the rows it trained on), chosen and rejected swapped on `--corrupt` (30%) of
   them, seeded;
3. each row's margin, score(chosen) - score(rejected) as the row states them (the quickstart's `score_pairs`), and
   the top half by margin kept with `editreward.curation.select`; a seeded random half of the same size beside it;
4. the quickstart's small model (same seed) trained on each half for `--steps` steps with the quickstart's recipe,
   and evaluated on the quickstart's held-out test split with its evaluation code.

    python benchmarks/bench_curation_claim.py [--quickstart quickstart-output] [--steps 5000] [--data-seed 1]
        [--corrupt 0.3] [--seed 0] [--threads 1]        # --steps 0: only steps 1-3

Prints the swapped share of each half and the held-out accuracies, and writes them to `--output` (JSON). Measured
on 2 CPU cores (2026-12-07; benchmarks/README.md, Curation): the kept half held 3.5% swapped rows against the input's
30%; held-out accuracy 0.762 on the kept half against 0.488 on a random half at 5,000 steps, 0.731 against 0.565 at
the quickstart's 7,000; 26 and 34 minutes given the quickstart's output.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from common import set_threads

from editreward.curation import SelectionRule, select
from editreward.curation.data import undecoded_columns
from editreward.quickstart.evaluation import evaluate_pairs, score_pairs
from editreward.quickstart.recipe import TRAINING_RECIPE
from editreward.quickstart.run import build_dataset, run_quickstart
from editreward.quickstart.training import build_model, train

# Steps of each half's model: the quickstart's 7,000 take about 15 minutes per model on 2 shared CPU cores.
STEPS = 5000


def quickstart_model(folder: Path, seed: int):
    """The quickstart's model, processor and held-out split under `folder`, running the quickstart if it is not
    there."""
    import datasets

    from editreward import EditRewardModel, EditRewardProcessor

    if not (folder / "model" / "config.json").is_file():
        run_quickstart(folder, seed=seed, progress=False)
    model = EditRewardModel.from_pretrained(str(folder / "model")).eval()
    processor = EditRewardProcessor.from_pretrained(str(folder / "model"))
    return model, processor, datasets.load_from_disk(str(folder / "dataset"))["test"]


def corrupt(split, share: float, seed: int):
    """`split` with chosen and rejected swapped (the scores, tie and kinds left as they were) on round(share * rows)
    seeded rows, and a `corrupted` column marking them."""
    flipped = np.zeros(len(split), dtype=bool)
    flipped[np.random.default_rng([seed, 0]).choice(len(split), round(share * len(split)), replace=False)] = True

    def swap(rows, indices):
        swapped = flipped[indices]
        pick = lambda a, b: [y if s else x for x, y, s in zip(rows[a], rows[b], swapped)]  # noqa: E731
        return {"chosen": pick("chosen", "rejected"), "rejected": pick("rejected", "chosen")}

    raw = undecoded_columns(split, split.column_names)  # image bytes are swapped, not decoded and re-encoded
    swapped = raw.map(swap, with_indices=True, batched=True, desc="swapping").cast(split.features)
    return swapped.add_column("corrupted", flipped.tolist())


def margins(model, processor, split) -> np.ndarray:
    """score(chosen) - score(rejected) of every row, as the row states them."""
    scores = score_pairs(model, processor, split)
    return np.asarray(scores.score[0::2], dtype=float) - np.asarray(scores.score[1::2], dtype=float)


def held_out(model, processor, test) -> dict:
    """The quickstart's evaluation of a model on its held-out split (overall row)."""
    scores = score_pairs(model, processor, test)
    return evaluate_pairs(test, scores.score[0::2], scores.score[1::2])["overall"]


def train_on(rows, test, steps: int, seed: int, output_dir: Path) -> dict:
    """The quickstart's model trained from its seed on `rows` for `steps` steps, evaluated on `test`."""
    model, processor = build_model(seed)
    mark = time.monotonic()
    train(model, processor, rows, output_dir, {**TRAINING_RECIPE, "max_steps": steps}, seed=seed, progress=False)
    return {**held_out(model, processor, test), "training_s": time.monotonic() - mark}


def share(mask: np.ndarray, rows: np.ndarray) -> float:
    return float(mask[rows].mean()) if len(rows) else float("nan")


def selection_shares(margin: np.ndarray, corrupted: np.ndarray, ties: np.ndarray, kept: np.ndarray,
                     random_half: np.ndarray) -> dict:  # fmt: skip
    """The swapped share of the input, the kept half (and its rows without a human tie) and the random half; the
    share of swapped and of clean rows with a negative margin; the share of human ties in the input and kept."""
    every = np.arange(len(margin))
    return {
        "rows": len(margin), "kept_rows": len(kept), "corrupted_input": share(corrupted, every),
        "corrupted_kept": share(corrupted, kept), "corrupted_random_half": share(corrupted, random_half),
        "corrupted_kept_without_ties": share(corrupted, kept[~ties[kept]]),
        "corrupted_with_negative_margin": share(margin < 0, np.flatnonzero(corrupted)),
        "clean_with_negative_margin": share(margin < 0, np.flatnonzero(~corrupted)),
        "ties_input": share(ties, every), "ties_kept": share(ties, kept),
    }  # fmt: skip


def describe_shares(result: dict) -> str:
    return (f"swapped share: input {result['corrupted_input']:.3f}, kept half {result['corrupted_kept']:.3f} "
            f"({result['corrupted_kept_without_ties']:.3f} of its rows without a human tie), random half "
            f"{result['corrupted_random_half']:.3f}\nnegative margin: {result['corrupted_with_negative_margin']:.3f} "
            f"of the swapped rows, {result['clean_with_negative_margin']:.3f} of the others; human ties: input "
            f"{result['ties_input']:.3f}, kept half {result['ties_kept']:.3f}")  # fmt: skip


def describe_accuracy(name: str, result: dict) -> str:
    return (f"{name:<28} {result['accuracy']:.3f} [{result['accuracy_ci_low']:.3f}, {result['accuracy_ci_high']:.3f}]"
            f"   without ties {result['accuracy_without_ties']:.3f}")  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quickstart", type=Path, default=Path("quickstart-output"),
                        help="the quickstart's output folder (trained there first when it has no model)")
    parser.add_argument("--steps", type=int, default=STEPS,
                        help=f"training steps of each half's model (default {STEPS}; the quickstart's "
                             f"{TRAINING_RECIPE['max_steps']}); 0: no training")  # fmt: skip
    parser.add_argument("--data-seed", type=int, default=1,
                        help="seed of the pairs to curate (default 1; the quickstart's --seed: its own rows)")
    parser.add_argument("--corrupt", type=float, default=0.3, help="share of rows with chosen and rejected swapped")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the quickstart, the swaps, the random half and the models")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default: 1)")
    parser.add_argument("--output", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args()
    threads = set_threads(args.threads)
    start = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="bench-curation-claim-"))

    model, processor, test = quickstart_model(args.quickstart, args.seed)
    scorer_result = held_out(model, processor, test)
    pairs, _ = build_dataset(work / "pairs", fast=False, seed=args.data_seed)
    noisy = corrupt(pairs["train"], args.corrupt, args.seed)
    mark = time.monotonic()
    margin = margins(model, processor, noisy)
    timings = {"scoring": time.monotonic() - mark}
    kept = select({"score": margin, "score_sigma": np.zeros_like(margin)}, SelectionRule(top_fraction=0.5)).rows
    # a stream of its own: one seeded like the swaps would draw the swapped rows first
    random_half = np.sort(np.random.default_rng([args.seed, 1]).choice(len(noisy), len(kept), replace=False))
    result = {"config": {**{k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                         "threads": threads},
              **selection_shares(margin, np.asarray(noisy["corrupted"]), np.asarray(noisy["tie"]), kept, random_half),
              "scorer_held_out": scorer_result}  # fmt: skip
    print(f"\n{len(noisy):,} pairs (data seed {args.data_seed}), {args.corrupt:.0%} swapped; kept the top "
          f"{len(kept):,} by margin (scored in {timings['scoring']:.0f} s)\n{describe_shares(result)}")  # fmt: skip
    print("held-out accuracy (tie-calibrated, bootstrap 95% interval)")
    print(describe_accuracy("the curating model", scorer_result))
    if args.steps:
        for name, rows in (("kept_half", kept), ("random_half", random_half)):
            result[name] = train_on(noisy.select(rows).remove_columns("corrupted"), test, args.steps, args.seed,
                                    work / name)  # fmt: skip
            print(describe_accuracy(f"{name.replace('_', ' ')} ({args.steps} steps)", result[name]))
    result["timings_s"] = {**timings, "total": time.monotonic() - start}
    print(f"total {result['timings_s']['total'] / 60:.1f} min (torch threads {threads}); work folder {work}")
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
