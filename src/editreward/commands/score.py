"""`editreward score`: score edited images of one source image under one instruction, best first."""

import json

from .options import add_batch_size_option, add_device_options, add_model_option


def register(subparsers):
    parser = subparsers.add_parser("score", help="score edited images of one source image under one instruction")
    add_model_option(parser)
    parser.add_argument("--source", required=True, help="source image file")
    parser.add_argument("--instruction", required=True, help="the edit instruction")
    parser.add_argument("--edited", required=True, action="append", help="edited image file (repeat for several)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_batch_size_option(parser)
    add_device_options(parser)
    parser.set_defaults(handler=run, loads_model=True)
    return parser


def run(args) -> int:
    from ..modeling_editreward import EditRewardScorer

    scorer = EditRewardScorer.from_pretrained(args.model, batch_size=args.batch_size, device=args.device, dtype=args.dtype)
    scores = scorer.score_group(args.source, args.instruction, args.edited)
    records = [{"edited": path, **record} for path, record in zip(args.edited, scores.to_records())]
    print(json.dumps(records, indent=2) if args.json else ranked_table(records, scores.dimensions))
    return 0


def ranked_table(records: list[dict], dimensions: list[str]) -> str:
    """Plain-text table, best edit first: fused score +- sigma, then each dimension's mu +- sigma."""
    header = ["rank", "edited", "score"] + dimensions
    rows = [
        [str(rank), r["edited"], f"{r['score']:+.3f} ± {r['score_sigma']:.3f}"]
        + [f"{r[f'{d}_mu']:+.3f} ± {r[f'{d}_sigma']:.3f}" for d in dimensions]
        for rank, r in enumerate(sorted(records, key=lambda r: -r["score"]), start=1)
    ]
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in [header] + rows]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])
