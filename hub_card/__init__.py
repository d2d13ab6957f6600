"""Model and metric cards, and publishing to the Hub.

Names load lazily from their submodules, so `python -m editreward.hub_card.metric_card` runs the module once and
the `editreward` command adds its subcommands without importing more than it needs.
"""

from ..utils.lazy import lazy_attributes

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


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
