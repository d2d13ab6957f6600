"""Lazy attributes for a package's `__init__` (as transformers does): names import their submodule on first use."""

import importlib


def lazy_attributes(package: str, submodule_of: dict[str, str]):
    """`(__getattr__, __dir__)` for the package `package`, where `submodule_of[name]` is the submodule (relative to
    the package) that defines `name`. A loaded name is stored in the package, so it is imported once."""
    module_globals = importlib.import_module(package).__dict__

    def __getattr__(name):
        if name not in submodule_of:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{submodule_of[name]}", package), name)
        module_globals[name] = value
        return value

    def __dir__():
        return sorted(set(module_globals) | set(submodule_of))

    return __getattr__, __dir__
