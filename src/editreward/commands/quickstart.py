"""`editreward quickstart`: build the data, train, evaluate, save and demo a small model, on this machine, offline."""

import argparse


def register(subparsers):
    from ..quickstart import QUICKSTART_SUMMARY

    parser = subparsers.add_parser(
        "quickstart", help="build an edit-preference set from real photos, train, evaluate and save a small model",
        description=QUICKSTART_SUMMARY,
    )  # fmt: skip
    parser.add_argument("--output-dir", default="quickstart-output",
                        help="where everything goes (default: %(default)s)")
    parser.add_argument("--fast", action="store_true",
                        help="tiny data and a few steps: checks the pipeline in seconds")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed of the data, the initial weights and the order")
    parser.add_argument("--family", choices=["qwen2_5_vl", "qwen3_vl"], default="qwen2_5_vl",
                        help="backbone family of the small model (default: %(default)s)")
    parser.add_argument("--input-format", choices=["per_dimension", "compact"], default="per_dimension",
                        help="one row per dimension (as the released models) or the compact single-pass format "
                             "(default: %(default)s)")  # fmt: skip
    parser.set_defaults(handler=run)
    return parser


def run(args) -> int:
    from ..quickstart.run import run_quickstart

    run_quickstart(args.output_dir, fast=args.fast, seed=args.seed, family=args.family, input_format=args.input_format)
    return 0


def non_negative_int(text: str) -> int:
    """argparse type of --seed: a non-negative integer, as numpy's seeds are."""
    if not text.isdecimal():
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return int(text)
