"""The `editreward` commands, one module each, all of one shape (as TRL's CLI registers its commands):

- `register(subparsers)` adds the command's parser and options and sets `handler=run`; it imports nothing heavy,
  so that `editreward --help` answers at once (no torch);
- `run(args) -> int` imports the room that does the work, calls it, and prints what the user needs to know.

`COMMANDS` is the order `editreward --help` lists them in. A new command is a module here plus its name below.
"""

import importlib

COMMANDS = ("score", "quickstart", "evaluate", "metric", "convert", "card", "push", "curate", "serve")


def register_all(subparsers) -> None:
    """Register every command of `COMMANDS` on an argparse subparsers object."""
    for name in COMMANDS:
        importlib.import_module(f".{name}", __name__).register(subparsers)
