"""`editreward curate`: score a data set with a reward model (resumable), keep the best rows exactly, report."""

from .options import add_batch_size_option, add_device_options, add_model_option


def register(subparsers):
    parser = subparsers.add_parser("curate", help="score a data set of edits and keep the best rows (resumable)")
    add_model_option(parser)
    parser.add_argument("--model-revision", default=None, help="the model's Hub revision (branch, tag or commit)")
    parser.add_argument("--data", required=True,
                        help="Hub id, save_to_disk folder, data files (parquet, jsonl, csv) or a data folder")
    parser.add_argument("--split", default=None, help="split of a data set with several (default: train)")
    parser.add_argument("--revision", default=None, help="the data set's Hub revision")
    parser.add_argument("--columns", default=None,
                        help="map the triplet's columns: source=COL,instruction=COL,edited=COL (default: those names)")
    parser.add_argument("--output-dir", required=True, help="scores/, selected/, errors.jsonl, report and plots")
    cut = parser.add_mutually_exclusive_group(required=True)
    cut.add_argument("--top-k", type=int, default=None, help="keep the K best rows")
    cut.add_argument("--top-fraction", type=float, default=None, help="keep this fraction of the candidates")
    cut.add_argument("--min-score", type=float, default=None, help="keep rows whose value is at least this")
    parser.add_argument("--by", default="score", help="rank by: score (fused) or a dimension, e.g. visual_quality")
    parser.add_argument("--lower-bound", type=float, default=None, metavar="Z",
                        help="rank by mu - Z*sigma (the lower confidence bound) instead of mu")
    parser.add_argument("--min", action="append", default=[], metavar="DIM=X",
                        help="require DIM's mu >= X (score or a dimension; repeat for several)")
    parser.add_argument("--group-by", default=None, metavar="COLUMN[,COLUMN]",
                        help="rows with equal values of these columns form a group (e.g. source,instruction)")
    parser.add_argument("--best-of-n", type=int, default=1, help="keep the best N rows of each group (default 1)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: this process; ray: Ray Data actors (RAY_ADDRESS, else a local instance)")
    parser.add_argument("--num-workers", type=int, default=None,
                        help="Ray scorer actors (default: one per GPU, else 1)")
    parser.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                        help="a row that cannot be scored: stop naming it, or skip it into errors.jsonl")
    parser.add_argument("--shard-size", type=int, default=256, help="rows per score shard (default 256)")
    parser.add_argument("--push-to-hub", default=None, metavar="ORG/NAME", help="upload the selection with its card")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots (they need matplotlib)")
    add_batch_size_option(parser)
    add_device_options(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args) -> int:
    from ..curation import SelectionRule, curate

    rule = SelectionRule(top_k=args.top_k, top_fraction=args.top_fraction, min_score=args.min_score, by=args.by,
                         lower_bound=args.lower_bound, minimums=parse_minimums(args.min),
                         group_by=args.group_by.split(",") if args.group_by else None, best_of_n=args.best_of_n)  # fmt: skip
    result = curate(args.model, args.data, args.output_dir, rule, split=args.split, revision=args.revision,
                    model_revision=args.model_revision, columns=args.columns, engine=args.engine,
                    batch_size=args.batch_size, shard_size=args.shard_size, device=args.device, dtype=args.dtype,
                    on_error=args.on_error, num_workers=args.num_workers, plots=not args.no_plots,
                    push_to_hub=args.push_to_hub)  # fmt: skip
    counts = result.selection.counts
    print((result.output_dir / "report.md").read_text(encoding="utf-8"))
    print(f"kept {counts['selected']:,} of {counts['rows']:,} rows -> {result.output_dir / 'selected'}"
          + (f"; {counts['not_scored']:,} could not be scored (errors.jsonl)" if counts["not_scored"] else "")
          + (f"; plots: {', '.join(p.name for p in result.plots)}" if result.plots else ""))  # fmt: skip
    return 0


def parse_minimums(items: list[str]) -> dict[str, float]:
    """`["visual_quality=0.5"]` -> {"visual_quality": 0.5}, naming a malformed item."""
    minimums = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            minimums[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise ValueError(f"--min {item!r}: write DIM=X, e.g. --min visual_quality=0.5")
    return minimums
