"""`editreward quickstart`: build the data, train, evaluate, save and demo a small model, on this machine, offline."""

import argparse


def register(subparsers):
    from ..quickstart import DEFAULT_MAX_MINUTES, QUICKSTART_SUMMARY

    parser = subparsers.add_parser(
        "quickstart", help="build an edit-preference set from real photos, train, evaluate and save a small model",
        description=QUICKSTART_SUMMARY,
    )  # fmt: skip
    parser.add_argument("--output-dir", default="quickstart-output",
                        help="where everything goes (default: %(default)s)")
    parser.add_argument("--fast", action="store_true",
                        help="tiny data and a few steps: checks the pipeline in seconds (ignores --max-minutes)")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed of the data, the initial weights and the order")
    parser.add_argument("--max-minutes", type=float, default=DEFAULT_MAX_MINUTES,
                        help="stop training this many minutes after the start of the run, data building included "
                        "(default: %(default)s; 0 or less: train all the planned steps)")
    parser.set_defaults(handler=run)
    return parser


def run(args) -> int:
    from ..quickstart.run import run_quickstart

    max_minutes = args.max_minutes if args.max_minutes and args.max_minutes > 0 and not args.fast else None
    run_quickstart(args.output_dir, fast=args.fast, seed=args.seed, max_minutes=max_minutes)
    return 0


def non_negative_int(text: str) -> int:
    """argparse type of --seed: a non-negative integer, as numpy's seeds are."""
    if not text.isdecimal():
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return int(text)
