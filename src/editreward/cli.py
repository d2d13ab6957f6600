"""The `editreward` command: a parser built from the command registry (`editreward.commands`), each command's heavy
imports inside its `run`, so that `editreward --help` answers at once."""

import argparse
import sys

from .commands import register_all
from .utils.extras import EXTRA_OF_MODULE
from .utils.locations import resolve_model_location


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="editreward", description="Score, train, evaluate and publish reward models for image edits."
    )
    register_all(parser.add_subparsers(dest="command", metavar="COMMAND"))
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if getattr(args, "model", None) is not None:
            args.model = resolve_model_location(args.model)
            if getattr(args, "loads_model", False):
                check_model_loads(args.model)
        if getattr(args, "device", None) is not None:
            check_device(args.device)
        return args.handler(args)
    except (ValueError, OSError, ImportError) as error:
        print(f"editreward {args.command}: error: {_user_message(error, args.command)}", file=sys.stderr)
        return 2


def check_device(device: str) -> None:
    """Refuse a `--device` that torch cannot parse, naming the option."""
    import torch

    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise ValueError(f"--device {device!r}: use cpu, cuda or cuda:N") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        build = f"this torch {torch.__version__} is a CPU build" if torch.version.cuda is None else "no GPU is visible"
        raise ValueError(f"--device {device!r}: {build}; use --device cpu, or a machine and torch build with CUDA")
    if parsed.type == "cuda" and parsed.index is not None and parsed.index >= torch.cuda.device_count():
        raise ValueError(f"--device {device!r}: only {torch.cuda.device_count()} GPU(s) are visible (cuda:0 ...)")


def check_model_loads(model: str) -> None:
    """Refuse a local model folder that would fail to load (a truncated weight file, weights of another config, a
    missing processor file), naming the file, before transformers' own, longer report."""
    import os

    if not os.path.isdir(model):
        return  # a Hub id: transformers checks what it downloads
    from .hub_card.publish import loading_problems

    problems = loading_problems(model)
    if problems:
        more = f" (and {len(problems) - 1} more: `editreward push --dry-run` lists them all)" if len(problems) > 1 else ""
        raise ValueError(f"{model} cannot be loaded: {problems[0]}{more}")


def _user_message(error: Exception, command: str) -> str:
    """The error's message; for a missing optional module, also the pip extra that provides it."""
    module = (getattr(error, "name", None) or "").partition(".")[0]
    if not isinstance(error, ModuleNotFoundError) or module not in EXTRA_OF_MODULE:
        return str(error)
    extra = "quickstart" if command == "quickstart" else EXTRA_OF_MODULE[module]
    return f"{error}; it comes with pip install \"editreward[{extra}]\""


if __name__ == "__main__":
    sys.exit(main())
