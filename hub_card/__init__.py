"""Model and metric cards, and publishing to the Hub.

Names load lazily from their submodules, so `python -m editreward.hub_card.metric_card` runs the module once and
the `editreward` command adds its subcommands without importing more than it needs.
"""

import importlib

_LAZY = {
    "CARD_MARKER": "texts",
    "EDITREWARD_BIBTEX": "texts",
    "scores_explanation": "texts",
    "render_converted_model_card": "model_card",
    "render_model_card": "model_card",
    "render_metric_card": "metric_card",
    "write_metric_card": "metric_card",
    "check_model_folder": "publish",
    "files_to_upload": "publish",
    "push_model_folder": "publish",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'editreward.hub_card' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
