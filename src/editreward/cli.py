"""The `editreward` command. Heavy libraries are imported inside each command so that `--help` answers at once."""

import argparse
import json
import os
import sys

from .extras import EXTRA_OF_MODULE


def _score(args) -> int:
    from .modeling_editreward import EditRewardScorer

    scorer = EditRewardScorer.from_pretrained(args.model, batch_size=args.batch_size, device=args.device, dtype=args.dtype)
    scores = scorer.score_group(args.source, args.instruction, args.edited)
    records = [{"edited": path, **record} for path, record in zip(args.edited, scores.to_records())]
    if args.json:
        print(json.dumps(records, indent=2))
    else:
        print(_table(records, scores.dimensions))
    return 0


def _table(records: list[dict], dimensions: list[str]) -> str:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="editreward", description="Score, train, evaluate and publish reward models for image edits."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    score = commands.add_parser("score", help="score edited images of one source image under one instruction")
    score.add_argument("--model", required=True, help="model folder or Hub id")
    score.add_argument("--source", required=True, help="source image file")
    score.add_argument("--instruction", required=True, help="the edit instruction")
    score.add_argument("--edited", required=True, action="append", help="edited image file (repeat for several)")
    score.add_argument("--json", action="store_true", help="print JSON instead of a table")
    score.add_argument("--batch-size", type=int, default=8, help="triplets per forward pass (default 8)")
    score.add_argument("--device", default=None, help="cuda, cuda:1, cpu (default: cuda if available)")
    score.add_argument("--dtype", default=None, choices=("bfloat16", "float16", "float32"),
                       help="default: bfloat16 on GPU, float32 on CPU")
    score.set_defaults(handler=_score)

    from .convert import add_convert_parser
    from .evaluate_metrics.cli import add_evaluate_parser, add_metric_parser
    from .hub_card.cli import add_card_parser, add_push_parser
    from .quickstart.run import add_quickstart_parser

    add_quickstart_parser(commands)
    add_evaluate_parser(commands)
    add_metric_parser(commands)
    add_convert_parser(commands)
    add_card_parser(commands)
    add_push_parser(commands)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if getattr(args, "model", None) is not None:
            args.model = check_model_folder(args.model)
        if getattr(args, "device", None) is not None:
            check_device(args.device)
        return args.handler(args)
    except (ValueError, OSError, ImportError) as error:
        print(f"editreward {args.command}: error: {_user_message(error, args.command)}", file=sys.stderr)
        return 2


def check_model_folder(model: str) -> str:
    """`--model` as given (a Hub id), or as a folder with `~` expanded; one that looks like a local path must be a
    folder, since the Hub loader would call it a malformed repo id."""
    folder = os.path.expanduser(model)
    if os.path.isdir(folder):
        return folder
    if model.startswith((".", "~", os.sep)) or os.path.exists(folder) or (os.sep in model and not _is_hub_id(model)):
        raise ValueError(f"no such model folder: {model}")
    return model


def _is_hub_id(name: str) -> bool:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def check_device(device: str) -> None:
    """Refuse a `--device` that torch cannot parse, naming the option."""
    import torch

    try:
        torch.device(device)
    except RuntimeError:
        raise ValueError(f"--device {device!r}: use cpu, cuda or cuda:N") from None


def _user_message(error: Exception, command: str) -> str:
    """The error's message; for a missing optional module, also the pip extra that provides it."""
    module = (getattr(error, "name", None) or "").partition(".")[0]
    if not isinstance(error, ModuleNotFoundError) or module not in EXTRA_OF_MODULE:
        return str(error)
    extra = "quickstart" if command == "quickstart" else EXTRA_OF_MODULE[module]
    return f"{error}; it comes with pip install \"editreward[{extra}]\""


if __name__ == "__main__":
    sys.exit(main())
