"""The words every editreward card shares: tags, the explanation of the scores, the paper's numbers, the citation.

The model card, the converted model's card and the metric's Space card all take them from here, so they never drift
apart.
"""

import ast
import textwrap
from pathlib import Path

from ..evaluate_metrics import METRIC_DIR

TEMPLATES = Path(__file__).parent / "templates"
METRIC_SCRIPT = Path(METRIC_DIR) / "editreward_accuracy.py"

# The Hub's tags. It has no reward-model task, and each task it lists promises an output this model does not give
# (`image-text-to-text` a generated text, and the Hub's widget would prompt it for one; `text-classification` text
# in, labels out). So the cards name no pipeline_tag (no widget, no inference API that would misuse the model): the
# tags `reward-model` and `image-editing` say what it is, and library_name `transformers` that it loads with
# transformers' AutoModel (with its own code). The model-index results are of a task named for what they measure.
LIBRARY_NAME = "transformers"
EVAL_TASK_TYPE = "image-edit-preference"
HUB_TAGS_TEXT = (
    "The card names no Hub task (`pipeline_tag`): the Hub has no reward-model task, and each of its tasks promises an "
    "output this model does not give (`image-text-to-text`, its backbone's, a generated text). The tags "
    "`reward-model` and `image-editing` say what it is; `library_name: transformers` says it loads with transformers' "
    "`AutoModel` (with the model's own code). It outputs scores, not text."
)
CARD_TAG = "editreward"  # the Hub tag of every editreward model; a Trainer's generic card carries it too
# What marks a card written by editreward: a comment only hub_card's templates write (TRL's generated card, whose tags
# include CARD_TAG when the trainer's do, cannot contain it). `editreward push` checks for it.
CARD_MARKER = "<!-- editreward model card -->"
TAGS = ["reward-model", "image-editing", CARD_TAG]
PAPER_URL = "https://arxiv.org/abs/2509.26346"


def _citations() -> tuple[str, str]:
    """The EditReward and "Ties Matter" BibTeX entries, from the metric script's `_CITATION` (their one home: the
    script must stay self-contained, because evaluate copies it alone)."""
    tree = ast.parse(METRIC_SCRIPT.read_text(encoding="utf-8"))
    citation = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                    and any(getattr(t, "id", None) == "_CITATION" for t in node.targets))  # fmt: skip
    editreward, ties = ("@" + entry.strip() for entry in citation.strip().removeprefix("@").split("\n@"))
    return editreward, ties


EDITREWARD_BIBTEX, TIES_MATTER_BIBTEX = _citations()

# The paper's Table 2 (accuracy %, ImagenHub Spearman x100), the one home of the published numbers.
PAPER_RESULTS_COLUMNS = ("GenAI-Bench", "AURORA-Bench", "ImagenHub", "ERB K=2", "ERB K=3", "ERB K=4", "ERB overall")
PAPER_RESULTS = {
    "EditReward (MiMo-VL-7B)": ("65.72", "63.62", "35.20", "56.45", "42.67", "11.49", "38.42"),
    "EditReward (Qwen2.5-VL-7B)": ("63.97", "59.50", "36.18", "56.99", "36.00", "10.81", "36.78"),
    "GPT-5": ("59.61", "47.27", "40.85", "57.53", "38.51", "12.84", "37.81"),
    "GPT-4o": ("53.54", "50.81", "38.21", "45.69", "27.33", "7.31", "28.31"),
    "ADIEE": ("59.96", "55.56", "34.50", "-", "-", "-", "-"),
}


def paper_results_markdown(highlight: str | None = None) -> str:
    """The paper's Table 2 as a markdown table; `highlight` bolds one row as "this checkpoint"."""
    rows = [
        f"| {f'**{name}** (this checkpoint)' if name == highlight else name} | " + " | ".join(values) + " |"
        for name, values in PAPER_RESULTS.items()
    ]
    header = "| Model | " + " | ".join(PAPER_RESULTS_COLUMNS) + " |"
    return "\n".join([header, "|" + "---|" * (len(PAPER_RESULTS_COLUMNS) + 1), *rows])


_MIMO = dict(zip(PAPER_RESULTS_COLUMNS, PAPER_RESULTS["EditReward (MiMo-VL-7B)"]))

PUBLISHED_RESULTS = (
    f"Published values for reference (EditReward paper, %): EditReward-MiMo GenAI-Bench {_MIMO['GenAI-Bench']}, "
    f"AURORA-Bench {_MIMO['AURORA-Bench']},\nImagenHub {_MIMO['ImagenHub']}, EditReward-Bench K=2 / 3 / 4 / overall "
    f"{_MIMO['ERB K=2']} / {_MIMO['ERB K=3']} / {_MIMO['ERB K=4']} / {_MIMO['ERB overall']}."
)

FUSION_TEXT = {
    "mean": "the mean of the dimensions' mus, with log sigma the mean of their log sigmas (the released models)",
    "min": "the smallest of the dimensions' mus, with log sigma the smallest of their log sigmas (the weakest "
    "dimension decides)",
    "sum": "the sum of the dimensions' mus, with the sigma of a sum of independent Gaussians (square root of the "
    "summed variances)",
}

SCORES_TEXT = """\
{dimensions}

{fusion}
- **Scale.** Scores are uncalibrated: no fixed range, zero point or unit (the released 7B models mostly give -3 to
  +2). Only differences between scores of one model mean something: compare and rank edits with the same model and
  checkpoint, never across models.
- **Preferences.** `editreward.preference_probability(mu_a, log_sigma_a, mu_b, log_sigma_b)` gives P(A preferred to
  B) = E[sigmoid(z)] with z ~ N(mu_A - mu_B, sigma_A^2 + sigma_B^2): the Bradley-Terry probability averaged over
  both scores' uncertainty, so uncertain scores give probabilities nearer 0.5.
- **Ties.** Benchmarks read a pair as a predicted tie when |score_A - score_B| <= eps; the `editreward_accuracy`
  metric calibrates eps."""


def scores_explanation(fusion: str | None = None, dimensions=("instruction_following", "visual_quality")) -> str:
    """What the scores mean, for one model's `fusion` or (None) for any EditReward model."""
    if fusion is None:
        fused = "; ".join(f"`{k}` is {v}" for k, v in FUSION_TEXT.items())
        fused = f"The overall score fuses the dimensions as the model's `config.fusion` says: {fused}."
    elif fusion in FUSION_TEXT:
        fused = f"This model's `config.fusion` is `{fusion}`: the overall score is {FUSION_TEXT[fusion]}."
    else:
        raise ValueError(f"config.json: fusion={fusion!r} is unknown; expected one of {sorted(FUSION_TEXT)}.")
    names = ", ".join(f"`{d}`" for d in dimensions)
    intro = (
        f"Each quality dimension ({names}) is scored by its own head as a Gaussian N(mu, sigma^2): `mu` is the score "
        "and `sigma = exp(log_sigma)` is the model's own uncertainty about it (larger means less sure)."
    )
    fused = textwrap.fill(f"- **Fusion.** {fused}", 116, subsequent_indent="  ")
    return SCORES_TEXT.format(dimensions=textwrap.fill(intro, 116), fusion=fused)


FRAMES_TEXT = {
    "repeat": "The edited image fills both temporal frames of its patches, as Qwen2.5-VL encodes any still image.",
    "source_then_edited": "The edited image is encoded as a two-frame clip, the source image then the edited image "
    "(`edited_image_frames=source_then_edited`), so the vision tower's temporal patch embedding compares the two "
    "pixel by pixel; the processor saved with the model does this.",
}
