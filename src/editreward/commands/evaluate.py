"""`editreward evaluate`: score a benchmark (resumable) and merge its results into results.json and results.md."""

import sys

from .options import add_batch_size_option, add_device_options, add_model_option


def register(subparsers):
    from ..evaluate_metrics.benchmarks import BENCHMARKS  # import-light: no torch, no datasets

    parser = subparsers.add_parser(
        "evaluate", help="score a benchmark; write results.json and results.md (resumable)",
        description="Score a benchmark's edits in batches (cached in OUTPUT_DIR/scores-<benchmark>.jsonl, so an "
        "interrupted run resumes), compute editreward_accuracy, and merge the results into OUTPUT_DIR/results.json "
        "and results.md.",
    )  # fmt: skip
    add_model_option(parser)
    parser.add_argument("--benchmark", required=True, choices=list(BENCHMARKS), help="which schema the data has")
    parser.add_argument("--data", default=None,
                        help="Hub dataset id or local path (save_to_disk folder, parquet, JSON); default: the "
                        "benchmark's Hub dataset (genai-bench, editreward-bench)")  # fmt: skip
    parser.add_argument("--config", default=None, help="Hub dataset config; several as '2pair,3pair,4pair'")
    parser.add_argument("--revision", default=None, help="Hub dataset commit sha (pin it to reproduce results)")
    parser.add_argument("--split", default=None, help="dataset split (default: test_v1 / train for the Hub ones)")
    parser.add_argument("--output-dir", default="eval_results", help="scores and results folder (default eval_results)")
    add_batch_size_option(parser, help="edits per forward pass (default 8)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pairs / groups / rated items")
    add_device_options(parser)
    parser.add_argument("--image-root", default=None, help="base of relative image paths (default: the data's folder)")
    parser.add_argument("--tie-threshold", type=float, default=None, help="also report accuracy at this fixed eps")
    parser.add_argument("--name", default=None, help="results.json key (default: the benchmark's name)")
    parser.add_argument("--on-conflict", choices=("error", "skip"), default="error",
                        help="editreward-bench groups with contradictory labels: stop, or leave them out")
    parser.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                        help="an edit that cannot be scored (unreadable image, empty instruction): stop naming its "
                        "row and column, or leave it and its pairs out (counted; reasons in "
                        "OUTPUT_DIR/errors-<benchmark>.jsonl)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run, loads_model=True)
    return parser


def run(args) -> int:
    from ..evaluate_metrics.runner import run_benchmark

    try:
        entry = run_benchmark(
            args.model, args.benchmark, args.data, output_dir=args.output_dir, batch_size=args.batch_size,
            device=args.device, dtype=args.dtype, config=args.config, revision=args.revision, split=args.split,
            limit=args.limit, image_root=args.image_root, tie_threshold=args.tie_threshold, name=args.name,
            on_conflict=args.on_conflict, progress=not args.no_progress, on_error=args.on_error,
        )  # fmt: skip
    except KeyboardInterrupt:
        print(f"\neditreward evaluate: interrupted. The scores computed so far are kept in "
              f"{args.output_dir}/scores-{args.benchmark}.jsonl; run the same command again to resume.",
              file=sys.stderr)  # fmt: skip
        return 130
    metrics = entry["metrics"]
    summary = ", ".join(
        f"{key} {metrics[key]:.4f}" for key in ("accuracy", "accuracy_without_ties", "pairwise_accuracy", "spearman")
        if isinstance(metrics.get(key), float)
    )  # fmt: skip
    print(f"{args.benchmark}: {summary} (epsilon {metrics['epsilon']:.4g}, {entry['num_pairs']} pairs)")
    if entry.get("num_skipped_edits"):
        print(f"skipped {entry['num_skipped_edits']} edits that cannot be scored, and the items holding them: "
              f"reasons in {args.output_dir}/errors-{args.benchmark}.jsonl")
    print(f"wrote {args.output_dir}/results.json and {args.output_dir}/results.md")
    return 0
