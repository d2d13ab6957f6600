"""The selection's dataset card (`huggingface_hub.DatasetCard`) and its upload with the selected rows."""

from huggingface_hub import DatasetCard, DatasetCardData

from ..utils.locations import is_hub_id
from .report import render_markdown

TAGS = ["editreward", "reward-model-curation", "image-editing"]


def dataset_card(report: dict, repo_id: str) -> DatasetCard:
    """A card stating the model, its revision and fingerprint, the rule, the counts and the score quantiles."""
    data = report["data"]
    metadata = DatasetCardData(tags=TAGS, pretty_name=repo_id.rpartition("/")[2],
                               source_datasets=[data] if data and is_hub_id(data) else None)  # fmt: skip
    model = report["model"]
    revision = report["model_revision"] or ("the cached snapshot" if is_hub_id(model) else "a local folder")
    intro = (f"The rows of `{data}` kept by the EditReward reward model `{model}` (revision: {revision}; "
             f"fingerprint `{report['model_fingerprint']}`) under the rule **{report['rule']}**, with "
             "`editreward curate`. Every original column is kept; the score columns (`score`, `score_sigma`, and "
             "each dimension's `_mu` and `_sigma`) and `row_index` (the row in the source data) are added. Scores "
             "are uncalibrated: compare them within one model.")  # fmt: skip
    body = render_markdown(report, title=f"# {repo_id}\n\n{intro}")
    return DatasetCard(f"---\n{metadata.to_yaml()}\n---\n\n{body}")


def push_selection(selected, card: DatasetCard, repo_id: str, token=None, private=None) -> None:
    """Create the dataset repo, upload the card, then the rows (`Dataset.push_to_hub` keeps the card's text and adds
    its `dataset_info`)."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    api.upload_file(path_or_fileobj=str(card).encode("utf-8"), path_in_repo="README.md", repo_id=repo_id,
                    repo_type="dataset", commit_message="Dataset card from editreward curate")  # fmt: skip
    selected.push_to_hub(repo_id, token=token, private=private, commit_message="Rows kept by editreward curate")
