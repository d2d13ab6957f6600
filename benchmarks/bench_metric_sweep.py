"""Time the tie-calibrated sweep of editreward_accuracy against a brute-force sweep.

The metric sorts |m| once and reads every threshold's accuracy off cumulative counts (O(n log n)); the brute force
recomputes acc(eps) from scratch at every candidate threshold (O(n * distinct |m|)). Both run on the same smaller
set to compare their times and results; the fast sweep also runs on the large set.

    python benchmarks/bench_metric_sweep.py [--pairs 1000000] [--brute-pairs 20000] [--decimals 4]
"""

import argparse
import os
import platform
import time

import numpy as np

from editreward.evaluate_metrics import load_metric_script


def random_pairs(num_pairs, decimals, seed):
    """Scores rounded to `decimals` (exact zero margins, repeated |m|); about 20% human ties."""
    rng = np.random.default_rng(seed)
    scores = np.round(rng.normal(size=(num_pairs, 2)), decimals)
    margins = scores[:, 0] - scores[:, 1]
    noisy = margins + rng.normal(size=num_pairs)
    human = np.where(np.abs(noisy) < 0.35, 0, np.sign(noisy)).astype(np.int8)
    return margins, human


def brute_force_sweep(margins, human):
    """O(n * distinct |m|): acc(eps) from scratch at eps = -1 (no ties) and at every distinct |m|."""
    abs_margins, human_tie = np.abs(margins), human == 0
    ordered_right = ~human_tie & (np.sign(margins) == human)
    best_correct, best_eps = -1, None
    for eps in [-1.0, *np.unique(abs_margins)]:
        model_tie = abs_margins <= eps
        correct = np.count_nonzero(np.where(model_tie, human_tie, ordered_right))
        if correct > best_correct:
            best_correct, best_eps = correct, float(eps)
    return best_correct / len(margins), best_eps


def best_time(function, *args, repeats):
    timings, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(*args)
        timings.append(time.perf_counter() - start)
    return min(timings), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1_000_000, help="pairs for the fast sweep")
    parser.add_argument("--brute-pairs", type=int, default=20_000, help="pairs for the side-by-side comparison")
    parser.add_argument("--decimals", type=int, default=4, help="score rounding (creates ties and repeated |m|)")
    parser.add_argument("--repeats", type=int, default=3, help="timings keep the best of this many runs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sweep = load_metric_script().tie_calibrated_sweep

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, numpy {np.__version__}")
    print(f"config: scores ~ N(0, 1) rounded to {args.decimals} decimals, ~20% human ties, seed {args.seed}, "
          f"best of {args.repeats} runs")

    small_margins, small_human = random_pairs(args.brute_pairs, args.decimals, args.seed)
    distinct = len(np.unique(np.abs(small_margins)))
    brute_s, brute_result = best_time(brute_force_sweep, small_margins, small_human, repeats=1)
    fast_small_s, fast_small_result = best_time(sweep, small_margins, small_human, repeats=args.repeats)
    print(f"\nn = {args.brute_pairs:,} pairs ({distinct:,} distinct |m|, "
          f"{np.count_nonzero(small_margins == 0):,} zero margins)")
    print(f"  brute force O(n * distinct |m|): {brute_s:9.4f} s  accuracy {brute_result[0]:.6f}  eps {brute_result[1]}")
    print(f"  metric sweep O(n log n):         {fast_small_s:9.4f} s  accuracy {fast_small_result[0]:.6f}  "
          f"eps {fast_small_result[1]}")
    print(f"  speedup: {brute_s / fast_small_s:,.0f}x   results agree: {brute_result == fast_small_result}")

    margins, human = random_pairs(args.pairs, args.decimals, args.seed + 1)
    fast_s, fast_result = best_time(sweep, margins, human, repeats=args.repeats)
    big_distinct = len(np.unique(np.abs(margins)))
    brute_estimate_s = brute_s / (args.brute_pairs * (distinct + 1)) * args.pairs * (big_distinct + 1)
    print(f"\nn = {args.pairs:,} pairs ({big_distinct:,} distinct |m|)")
    print(f"  metric sweep O(n log n):         {fast_s:9.4f} s  accuracy {fast_result[0]:.6f}  eps {fast_result[1]}")
    print(f"  throughput: {args.pairs / fast_s / 1e6:.1f} M pairs/s; brute force estimated from its cost per "
          f"pair x threshold above: {brute_estimate_s:,.0f} s ({brute_estimate_s / fast_s:,.0f}x)")
    if brute_result != fast_small_result:
        raise SystemExit("the sweeps disagree")


if __name__ == "__main__":
    main()
