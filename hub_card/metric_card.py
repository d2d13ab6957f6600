"""The card of the `editreward_accuracy` metric's Space, with its generated app.py and requirements.txt.

After editing the card's template (or the texts it shares with the model card), regenerate the committed files with
`python -m editreward.hub_card.metric_card --write-metric-card`.
"""

import argparse
import ast
import textwrap
from pathlib import Path

from ..evaluate_metrics import METRIC_DIR
from .texts import EDITREWARD_BIBTEX, METRIC_SCRIPT, PUBLISHED_RESULTS, TEMPLATES, TIES_MATTER_BIBTEX, scores_explanation

METRIC_README = Path(METRIC_DIR) / "README.md"
REGENERATE_METRIC_CARD = "python -m editreward.hub_card.metric_card --write-metric-card"


def metric_script_strings() -> dict[str, str]:
    """The metric script's module-level strings (`_CITATION`, `_KWARGS_DESCRIPTION`, ...), read, never imported."""
    tree = ast.parse(METRIC_SCRIPT.read_text(encoding="utf-8"))
    return {
        target.id: node.value.value
        for node in tree.body if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }  # fmt: skip


def metric_examples() -> str:
    """The doctest examples of the metric script's `_KWARGS_DESCRIPTION`, as markdown: the card shows tested code."""
    examples = textwrap.dedent(metric_script_strings()["_KWARGS_DESCRIPTION"].split("Examples:", 1)[1]).strip()
    return "\n\n".join(
        f"```python\n{block}\n```" if block.startswith(">>>") else block for block in examples.split("\n\n")
    )


def render_metric_card() -> str:
    """The README.md of the `editreward_accuracy` metric (its Hub Space card)."""
    import jinja2

    template = jinja2.Template((TEMPLATES / "metric_card.md").read_text(encoding="utf-8"), keep_trailing_newline=True)
    return template.render(
        scores_text=scores_explanation(None), examples=metric_examples(), published_results=PUBLISHED_RESULTS,
        citation=f"{EDITREWARD_BIBTEX}\n{TIES_MATTER_BIBTEX}",
    )


# The Space's gradio app (evaluate's widget convention) and its requirements. The app loads the script beside it, so
# the Space works under any <org>/<name> (a bare name would look for evaluate-metric/editreward_accuracy).
METRIC_APP = """\
import os

import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "editreward_accuracy.py"))
launch_gradio_widget(module)
"""
METRIC_REQUIREMENTS = "evaluate>=0.4.6,<0.5\ndatasets>=5.2,<6\nnumpy>=1.26\n"  # the `evaluate` extra of setup.cfg


def metric_space_files() -> dict[str, str]:
    """{file name: content} of the generated files of the metric's Space: its card, app.py and requirements.txt."""
    return {"README.md": render_metric_card(), "app.py": METRIC_APP, "requirements.txt": METRIC_REQUIREMENTS}


def write_metric_card(folder=None) -> list[Path]:
    """Regenerate the metric Space's generated files in its folder (or in `folder`); returns their paths."""
    paths = []
    for name, text in metric_space_files().items():
        paths.append(Path(folder or METRIC_DIR) / name)
        paths[-1].write_text(text, encoding="utf-8")
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Generate the editreward_accuracy metric's card.")
    parser.add_argument("--write-metric-card", action="store_true",
                        help=f"write the metric Space's README.md, app.py and requirements.txt in {METRIC_DIR}")
    args = parser.parse_args(argv)
    if not args.write_metric_card:
        parser.print_help()
        return 0
    print("Wrote " + ", ".join(map(str, write_metric_card())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
