"""Model card, metric card and publishing: cards parse back with huggingface_hub; pushes stop at the HfApi boundary."""

import json
import re
import shutil
from types import SimpleNamespace

import pytest
from huggingface_hub import HfApi, ModelCard

from editreward.hub_card import (
    check_model_folder, push_model_folder, render_metric_card, render_model_card,
)  # fmt: skip
from editreward.cli import build_parser
from editreward.evaluate_metrics.results import read_results
from editreward.hub_card import metric_card, texts
from editreward.hub_card.publish import IGNORE_PATTERNS

RESULTS = {
    "model": "outputs/tiny-editreward",  # the name of model_folder
    "benchmarks": {
        "GenAI-Bench": {
            "dataset": "TIGER-Lab/GenAI-Bench", "config": "image_edition", "revision": "0123456789abcdef",
            "split": "test_v1", "num_pairs": 919,
            "metrics": {"accuracy": 0.6397, "accuracy_without_ties": 0.7112, "epsilon": 0.02, "concordant": 512},
        },
        "quickstart held-out": {
            "dataset": "/tmp/quickstart/heldout", "split": "test",
            "metrics": {"accuracy": 0.875, "accuracy_without_ties": float("nan")},
            "by_family": {"mirror": {"accuracy": 0.8125, "num_pairs": 16}, "blur": {"metrics": {"accuracy": 1.0}}},
        },
    },
}  # fmt: skip


@pytest.fixture
def model_folder(saved_model_dir, tmp_path):
    """A private copy of the saved tiny model (without the images other tests leave beside it)."""
    return shutil.copytree(saved_model_dir, tmp_path / "tiny-editreward", ignore=shutil.ignore_patterns("*.png"))


@pytest.fixture
def results_file(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(RESULTS))
    return path


@pytest.fixture
def complete_folder(model_folder, results_file):
    render_model_card(model_folder, results_file).save(model_folder / "README.md")
    return model_folder


def test_card_metadata_and_eval_results_parse_back(model_folder, results_file):
    render_model_card(
        model_folder, results_file, model_name="my-org/EditReward-tiny", base_model="Qwen/Qwen2.5-VL-7B-Instruct",
        datasets=["TIGER-Lab/EditReward-Data"],
    ).save(model_folder / "README.md")  # fmt: skip
    data = ModelCard.load(model_folder / "README.md").data
    assert (data.license, data.base_model, data.library_name) == (
        "apache-2.0", "Qwen/Qwen2.5-VL-7B-Instruct", "transformers")
    # No Hub task: image-text-to-text (before) told the Hub the model generates text; the card says why.
    assert data.pipeline_tag is None and "The card names no Hub task (`pipeline_tag`)" in ModelCard.load(
        model_folder / "README.md").text
    assert {"reward-model", "image-editing", "editreward", "qwen2_5_vl"} <= set(data.tags)
    assert data.datasets == ["TIGER-Lab/EditReward-Data"] and data.model_name == "my-org/EditReward-tiny"
    found = {(r.dataset_name, r.metric_type): r for r in data.eval_results}
    assert {(k, round(r.metric_value, 4)) for k, r in found.items()} == {
        (("GenAI-Bench", "accuracy"), 0.6397), (("GenAI-Bench", "accuracy_without_ties"), 0.7112),
        (("quickstart held-out", "accuracy"), 0.875),
    }  # epsilon and counts are no results; a NaN is left out
    genai = found["GenAI-Bench", "accuracy"]
    assert (genai.dataset_type, genai.dataset_config, genai.dataset_split, genai.dataset_revision) == (
        "TIGER-Lab/GenAI-Bench", "image_edition", "test_v1", "0123456789abcdef")
    assert found["quickstart held-out", "accuracy"].dataset_type == "quickstart held-out"  # a path is no Hub id


def test_card_has_its_sections_in_order(model_folder, results_file):
    text = str(render_model_card(model_folder, results_file))
    headings = ["## Model details", "## What the scores mean", "## How to use", "## Training", "## Evaluation",
                "## Limitations", "## Citation"]  # fmt: skip
    assert [text.index(h) for h in headings] == sorted(text.index(h) for h in headings)
    assert 'AutoModel.from_pretrained("<org>/tiny-editreward", trust_remote_code=True)' in text
    assert "EditRewardScorer.from_pretrained(" in text and ".score_group(" in text
    assert "editreward score --model <org>/tiny-editreward" in text
    assert "arXiv:2509.26346" in text and "EditReward: A Human-Aligned Reward Model" in text
    assert "12,544 pixels, about\n  16 visual tokens" in text and "`position_mode=mrope`" in text


def test_evaluation_tables_show_benchmarks_and_families(model_folder, results_file):
    text = str(render_model_card(model_folder, results_file))
    assert "| GenAI-Bench | [TIGER-Lab/GenAI-Bench](https://huggingface.co/datasets/TIGER-Lab/GenAI-Bench) " \
           "(image_edition) @ `0123456` | test_v1 | 919 | 0.6397 | 0.7112 | 0.0200 |" in text
    assert "| quickstart held-out | `local dataset heldout` | test | – | 0.8750 | n/a | – |" in text  # no path
    assert "| mirror | 16 | 0.8125 |" in text and "| blur | – | 1.0000 |" in text
    assert "concordant" not in text


GROUP_RESULTS = {"benchmarks": {"EditReward-Bench": {
    "dataset": "TIGER-Lab/EditReward-Bench", "num_groups": 3,
    "metrics": {"accuracy": 0.5, "pairwise_accuracy": 0.75, "epsilon": 0.1, "accuracy_k2": 1.0, "num_groups": 3,
                "num_comparisons": 8},
}}}  # fmt: skip


def test_group_accuracy_is_labelled_as_strict_group_accuracy(model_folder):
    results = {**RESULTS, "benchmarks": {**RESULTS["benchmarks"], **GROUP_RESULTS["benchmarks"]}}
    card = render_model_card(model_folder, results)
    names = {(r.dataset_name, r.metric_type): r.metric_name for r in card.data.eval_results}
    assert names["EditReward-Bench", "accuracy"] == "Group accuracy (strict, all K)"
    assert names["EditReward-Bench", "accuracy_k2"] == "Group accuracy (strict, K=2)"
    assert names["GenAI-Bench", "accuracy"] == "Accuracy (tie-calibrated)"
    text = str(card)
    group_table = text[text.index("**Group benchmarks: strict group accuracy**") :]
    assert "| Benchmark | Dataset | Split | Groups | `accuracy` | `pairwise_accuracy` | `epsilon` | `accuracy_k2` |" \
        in group_table and "| test_v1 | 919 | 0.6397 |" not in group_table
    assert "| --- | 3 | 0.5000 | 0.7500 | 0.1000 | 1.0000 |" in group_table.replace("| – | 3", "| --- | 3")
    assert "For group benchmarks (EditReward-Bench) `accuracy` is the strict group accuracy" in text


def test_scores_section_states_the_configured_fusion(model_folder):
    config = json.loads((model_folder / "config.json").read_text())
    (model_folder / "config.json").write_text(json.dumps({**config, "fusion": "min"}))
    text = str(render_model_card(model_folder))
    scores = text[text.index("## What the scores mean") : text.index("## How to use")]
    assert "`config.fusion` is `min`: the overall score is the smallest of the dimensions' mus" in scores
    assert texts.FUSION_TEXT["mean"] not in text and "`instruction_following`, `visual_quality`" in scores
    assert "sigma = exp(log_sigma)" in scores and "uncalibrated" in scores and "preference_probability" in scores


def test_every_configurable_fusion_is_explained():
    from editreward.modeling_editreward.configuration_editreward import FUSIONS

    assert set(texts.FUSION_TEXT) == set(FUSIONS)


def test_card_python_snippets_run_on_the_folder(model_folder, photos, tmp_path, monkeypatch):
    from PIL import Image

    source = photos["chelsea"]
    source.save(tmp_path / "source.png")
    source.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / "edit_a.png")
    source.rotate(90).save(tmp_path / "edit_b.png")
    monkeypatch.chdir(tmp_path)
    text = str(render_model_card(model_folder, model_name=str(model_folder)))
    snippets = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(snippets) == 2
    for snippet in snippets:
        exec(compile(snippet, "model card snippet", "exec"), {})


def test_training_section_from_dict_or_placeholder(model_folder):
    unknown = str(render_model_card(model_folder))
    assert "Unknown: the training data of this checkpoint were not recorded." in unknown
    assert "No evaluation results were supplied" in unknown and "model-index" not in unknown
    training = {"data": "9,600 synthetic pairs from scikit-image photos.", "loss": "bt", "max_steps": 600}
    text = str(render_model_card(model_folder, training=training))
    assert training["data"] in text and "| `loss` | `bt` |" in text and "| `max_steps` | `600` |" in text


@pytest.mark.parametrize(
    "training, field",
    [(["a", "list"], "training is a list"), ({"datasets": 5}, r"training\['datasets'\]"),
     ({"data": ["x"]}, r"training\['data'\]")],
)
def test_a_malformed_training_description_is_named(model_folder, training, field):
    with pytest.raises(ValueError, match=field):
        render_model_card(model_folder, training=training)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ("[]", 'needs a non-empty "benchmarks" object'),
        ('{"benchmarks": {}}', 'needs a non-empty "benchmarks" object'),
        ('{"benchmarks": {"GenAI-Bench": {"metrics": [0.6]}}}', "benchmarks['GenAI-Bench'] needs \"metrics\""),
        ('{"benchmarks": {"X": {"metrics": {"accuracy": 0.6}, "by_family": [1]}}}', "benchmarks['X'].by_family"),
    ],
)
def test_bad_results_file_names_the_problem(tmp_path, content, message):
    path = tmp_path / "results.json"
    path.write_text(content)
    with pytest.raises(ValueError, match="results.json: .*" + message.replace("[", r"\[").replace("(", r"\(")):
        read_results(path)


def test_minimal_results_need_only_metrics(model_folder):
    card = render_model_card(model_folder, {"benchmarks": {"held-out": {"metrics": {"accuracy": 0.5}}}})
    assert [(r.dataset_name, r.metric_value) for r in card.data.eval_results] == [("held-out", 0.5)]
    assert "| held-out | – | – | – | 0.5000 |" in str(card)


@pytest.mark.parametrize("name", ["README.md", "app.py", "requirements.txt"])
def test_committed_metric_space_files_are_generated(name):
    committed = (metric_card.METRIC_README.parent / name).read_text(encoding="utf-8")
    assert committed == metric_card.metric_space_files()[name], (
        f"{name} of the metric Space differs from the generated one; regenerate it with "
        f"`{metric_card.REGENERATE_METRIC_CARD}` (edit hub_card/templates/metric_card.md or hub_card/texts.py)."
    )


def test_metric_space_app_loads_the_script_beside_it(monkeypatch):
    import runpy

    import evaluate.utils

    launched = []
    monkeypatch.setattr(evaluate.utils, "launch_gradio_widget", launched.append)  # gradio itself is not installed
    card = ModelCard.load(metric_card.METRIC_README)
    runpy.run_path(str(metric_card.METRIC_README.parent / card.data.app_file))
    assert card.data.sdk == "gradio" and [type(module).__name__ for module in launched] == ["EditrewardAccuracy"]
    assert launched[0].compute(predictions=[[1.0, 0.0]], references=["A>B"], bootstrap_samples=0)["accuracy"] == 1.0


def test_metric_card_shares_the_model_cards_snippets(model_folder):
    metric_card, model_card = render_metric_card(), str(render_model_card(model_folder))
    for shared in (texts.EDITREWARD_BIBTEX, texts.PUBLISHED_RESULTS, *texts.SCORES_TEXT.split("{fusion}")[1:]):
        assert shared in metric_card and shared in model_card
    unwrapped = metric_card.replace("\n  ", " ")
    assert all(f"`{fusion}` is {text}" in unwrapped for fusion, text in texts.FUSION_TEXT.items())


def test_metric_card_examples_and_citation_come_from_the_metric_script():
    strings = metric_card.metric_script_strings()
    card = render_metric_card()
    assert texts.EDITREWARD_BIBTEX in strings["_CITATION"] and texts.TIES_MATTER_BIBTEX in strings["_CITATION"]
    assert '```python\n>>> import evaluate\n>>> metric = evaluate.load("editreward_accuracy")' in card
    assert card.count("```python\n>>>") == strings["_KWARGS_DESCRIPTION"].count("\n\n    >>>")


def test_push_refuses_the_generic_card_trls_checkpoint_saving_writes(complete_folder, hub_calls):
    """TRL's own generated card, with the editreward trainer's tags ("editreward" among them), is not ours."""
    from trl.trainer.utils import generate_model_card

    from editreward.trainer import EditRewardTrainer

    card = generate_model_card(
        base_model=None, model_name="tiny-editreward", hub_model_id="my-org/tiny-editreward", dataset_name=None,
        tags=list(EditRewardTrainer._tag_names), wandb_url=None, trackio_url=None, trainer_name="Reward",
    )  # fmt: skip
    assert texts.CARD_TAG in card.data.tags  # why a tag cannot tell the two cards apart
    card.save(complete_folder / "README.md")
    problem = "README.md is not an editreward model card (it lacks the line <!-- editreward model card -->"
    assert [p for p in check_model_folder(complete_folder) if p.startswith(problem)]
    with pytest.raises(ValueError, match=re.escape(problem)):
        push_model_folder(complete_folder, "my-org/EditReward-tiny", dry_run=True)
    assert hub_calls == []


def test_complete_folder_has_no_problems(complete_folder):
    assert check_model_folder(complete_folder) == []


@pytest.mark.parametrize(
    "remove, problem",
    [
        ("model.safetensors", "no weights: model.safetensors"),
        ("README.md", "README.md (the model card) is missing"),
        ("prompts_editreward.py", "code file prompts_editreward.py is missing (needed by configuration_editreward.py)"),
        ("processing_editreward.py", "code file processing_editreward.py is missing (needed by auto_map)"),
        ("tokenizer.json", "tokenizer.json is missing"),
        ("processor_config.json", "processor_config.json is missing"),
        ("chat_template.jinja", "no chat template"),
    ],
)
def test_check_names_what_is_missing(complete_folder, remove, problem):
    (complete_folder / remove).unlink()
    assert any(p.startswith(problem) for p in check_model_folder(complete_folder)), check_model_folder(complete_folder)


def test_check_needs_auto_map(complete_folder):
    config = json.loads((complete_folder / "config.json").read_text())
    del config["auto_map"]
    (complete_folder / "config.json").write_text(json.dumps(config))
    assert [p for p in check_model_folder(complete_folder) if "auto_map" in p] == [
        "config.json has no auto_map: save with the editreward package imported, which registers its classes for "
        "the Auto classes"
    ]


@pytest.fixture
def hub_calls(monkeypatch):
    """Replace the network boundary: record HfApi.create_repo, upload_folder and delete_repo calls."""
    calls = []

    def create_repo(self, repo_id, **kwargs):
        calls.append(("create_repo", self.token, repo_id, kwargs))

    def upload_folder(self, **kwargs):
        calls.append(("upload_folder", self.token, kwargs))
        return SimpleNamespace(commit_url=f"https://huggingface.co/{kwargs['repo_id']}/commit/0abc")

    def delete_repo(self, repo_id, **kwargs):
        calls.append(("delete_repo", self.token, repo_id))

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    monkeypatch.setattr(HfApi, "delete_repo", delete_repo)
    return calls


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda f: (f / "model.safetensors").write_bytes(b"x"), "model.safetensors is not a safetensors file"),
        (lambda f: (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:-4]),
         "model.safetensors is truncated or padded"),
        (lambda f: (f / "README.md").write_text("---\nlicense: [apache-2.0\n---\n# card\n"),
         "README.md does not parse as a model card (ParserError"),
    ],
)  # fmt: skip
def test_push_checks_weights_and_card_before_any_network_call(complete_folder, hub_calls, damage, problem):
    damage(complete_folder)
    assert any(p.startswith(problem) for p in check_model_folder(complete_folder)), check_model_folder(complete_folder)
    for dry_run in (True, False):
        with pytest.raises(ValueError, match=re.escape(problem)):
            push_model_folder(complete_folder, "my-org/EditReward-tiny", dry_run=dry_run)
    assert hub_calls == []


def test_trainer_leftovers_are_left_out_and_named(complete_folder, hub_calls, capsys):
    leftovers = ["checkpoint-500/optimizer.pt", "checkpoint-500/model.safetensors", "optimizer.pt", "scheduler.pt",
                 "rng_state_0.pth", "training_args.bin", "trainer_state.json", "scores-genai-bench.jsonl"]  # fmt: skip
    for name in leftovers:
        (complete_folder / name).parent.mkdir(exist_ok=True)
        (complete_folder / name).write_bytes(b"x")
    files = dict(push_model_folder(complete_folder, "my-org/EditReward-tiny", dry_run=True))
    assert not set(files) & set(leftovers) and "model.safetensors" in files
    args = _parse(["push", "--model", str(complete_folder), "--repo-id", "my-org/EditReward-tiny", "--dry-run"])
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    assert "Left out 8 trainer leftovers (not part of the model): checkpoint-500/model.safetensors" in out


def _rejected_upload(self, **kwargs):
    raise OSError("the Hub rejected the card metadata")


def test_a_failed_upload_keeps_the_repo_and_raises_its_own_error(complete_folder, hub_calls, monkeypatch):
    monkeypatch.setattr(HfApi, "upload_folder", _rejected_upload)
    with pytest.raises(OSError, match="rejected") as raised:
        push_model_folder(complete_folder, "my-org/EditReward-tiny")
    assert [call[0] for call in hub_calls] == ["create_repo"]  # no delete: the blobs already sent stay for a rerun
    assert "may now exist, empty or partly filled. Run the same push again to resume" in raised.value.__notes__[0]


def test_cli_push_says_the_repo_may_exist_when_the_upload_fails(complete_folder, hub_calls, monkeypatch, capsys):
    monkeypatch.setattr(HfApi, "upload_folder", _rejected_upload)
    args = _parse(["push", "--model", str(complete_folder), "--repo-id", "my-org/EditReward-tiny"])
    with pytest.raises(OSError, match="rejected"):
        args.handler(args)
    err = capsys.readouterr().err
    assert "my-org/EditReward-tiny may now exist, empty or partly filled. Run the same push again to resume" in err
    assert "hf repos delete my-org/EditReward-tiny" in err


def test_dry_run_lists_files_and_sizes_without_network(complete_folder, hub_calls):
    (complete_folder / "__pycache__").mkdir()
    (complete_folder / "__pycache__" / "modeling_editreward.cpython-311.pyc").write_bytes(b"x")
    files = dict(push_model_folder(complete_folder, "my-org/EditReward-tiny", dry_run=True))
    expected = {p.name for p in complete_folder.iterdir() if p.is_file()}
    assert set(files) == expected and {"README.md", "model.safetensors", "modeling_editreward.py"} <= expected
    assert files["model.safetensors"] == (complete_folder / "model.safetensors").stat().st_size
    assert hub_calls == []


def test_push_refuses_an_incomplete_folder(complete_folder, hub_calls):
    (complete_folder / "model.safetensors").unlink()
    (complete_folder / "README.md").unlink()
    for dry_run in (True, False):
        with pytest.raises(ValueError, match=r"is not ready to push:\n  - no weights.*\n  - README.md"):
            push_model_folder(complete_folder, "my-org/EditReward-tiny", dry_run=dry_run)
    assert hub_calls == []


def test_push_creates_the_repo_and_uploads_the_folder(complete_folder, hub_calls):
    commit = push_model_folder(complete_folder, "my-org/EditReward-tiny", private=True, token="hf_x")
    assert commit.commit_url == "https://huggingface.co/my-org/EditReward-tiny/commit/0abc"
    assert hub_calls == [
        ("create_repo", "hf_x", "my-org/EditReward-tiny", {"exist_ok": True, "private": True}),
        ("upload_folder", "hf_x", {"repo_id": "my-org/EditReward-tiny", "folder_path": str(complete_folder),
                                   "commit_message": "Upload EditReward model", "ignore_patterns": IGNORE_PATTERNS}),
    ]  # fmt: skip


def _parse(argv):
    return build_parser().parse_args(argv)


def test_cli_card_writes_the_readme(model_folder, results_file, tmp_path, capsys):
    training = tmp_path / "training.json"
    training.write_text(json.dumps({"data": "Synthetic pairs.", "loss": "bt"}))
    args = _parse(["card", "--model", str(model_folder), "--results", str(results_file), "--training", str(training),
                   "--base-model", "Qwen/Qwen2.5-VL-3B-Instruct", "--license", "mit"])  # fmt: skip
    assert args.handler(args) == 0
    card = ModelCard.load(model_folder / "README.md")
    assert (card.data.license, card.data.base_model) == ("mit", "Qwen/Qwen2.5-VL-3B-Instruct")
    assert len(card.data.eval_results) == 3
    assert "Synthetic pairs." in card.text and "3 evaluation results" in capsys.readouterr().out


def test_cli_card_keeps_a_converted_cards_licence_base_and_origin(model_folder, results_file, capsys):
    (model_folder / "README.md").write_text(
        "---\nlicense: mit\nbase_model: Qwen/Qwen2.5-VL-7B-Instruct\nlibrary_name: transformers\n---\n\n# Converted\n\n"
        "- **Origin:** [`TIGER-Lab/EditReward-Qwen2.5-VL-7B`]"
        "(https://huggingface.co/TIGER-Lab/EditReward-Qwen2.5-VL-7B), the\n"
        "  released raw state dict, converted with `editreward convert`.\n- **Base model:** x\n"
    )  # fmt: skip
    results_file.write_text(json.dumps({**RESULTS, "model": "outputs/quickstart/model"}))
    args = _parse(["card", "--model", str(model_folder), "--results", str(results_file)])
    with pytest.warns(UserWarning, match=r"the results name model 'outputs/quickstart/model', not .*tiny-editreward"):
        assert args.handler(args) == 0
    card = ModelCard.load(model_folder / "README.md")
    assert (card.data.license, card.data.base_model) == ("mit", "Qwen/Qwen2.5-VL-7B-Instruct")
    assert "- **Origin:** [`TIGER-Lab/EditReward-Qwen2.5-VL-7B`](https://huggingface.co/TIGER-Lab/EditReward-Qwen2.5-" \
        "VL-7B), the released raw state dict, converted with `editreward convert`." in card.text
    args = _parse(["card", "--model", str(model_folder), "--license", "apache-2.0"])
    assert args.handler(args) == 0
    assert ModelCard.load(model_folder / "README.md").data.license == "apache-2.0"  # the command line wins


def test_cli_push_dry_run_and_upload(complete_folder, hub_calls, capsys):
    args = _parse(["push", "--model", str(complete_folder), "--repo-id", "my-org/EditReward-tiny", "--dry-run"])
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    assert "files would go up to my-org/EditReward-tiny" in out and "model.safetensors" in out and "total" in out
    assert hub_calls == []
    args = _parse(["push", "--model", str(complete_folder), "--repo-id", "my-org/EditReward-tiny", "--private"])
    assert args.handler(args) == 0
    assert [(c[0], c[2] if c[0] != "upload_folder" else c[2]["repo_id"]) for c in hub_calls] == [
        ("create_repo", "my-org/EditReward-tiny"), ("upload_folder", "my-org/EditReward-tiny")]
    assert hub_calls[0][3]["private"] is True and "my-org/EditReward-tiny/commit/0abc" in capsys.readouterr().out


def _save_tensors(path, tensors: dict) -> None:
    from safetensors.torch import save_file

    save_file(tensors, str(path), metadata={"format": "pt"})


@pytest.mark.parametrize("damage, problem", [
    ("drop_head", "2 weights config.json's model has are missing in the safetensors files (heads.visual_quality."),
    ("other_config", "saved weights have another shape than config.json's model"),
    ("extra", "1 saved weights are unexpected for config.json's model (stray.weight)"),
])  # fmt: skip
def test_push_checks_the_weights_against_the_config_by_name_and_shape(complete_folder, hub_calls, damage, problem):
    """A folder that would not load passed as "complete" when only the files were checked."""
    from safetensors.torch import load_file

    tensors = load_file(str(complete_folder / "model.safetensors"))
    if damage == "drop_head":
        tensors = {k: v for k, v in tensors.items() if not k.startswith("heads.visual_quality.0.")}
    elif damage == "other_config":
        config = json.loads((complete_folder / "config.json").read_text())
        config["head_hidden_sizes"] = [size * 2 for size in config["head_hidden_sizes"]] or [8]
        (complete_folder / "config.json").write_text(json.dumps(config))
    else:
        tensors["stray.weight"] = tensors[next(iter(tensors))].clone()
    _save_tensors(complete_folder / "model.safetensors", tensors)
    found = check_model_folder(complete_folder)
    assert any(problem in p for p in found), found
    with pytest.raises(ValueError, match=re.escape(problem)):
        push_model_folder(complete_folder, "my-org/EditReward-tiny", dry_run=True)
    assert hub_calls == []


def test_push_tells_a_lora_checkpoint_to_merge_first(complete_folder, hub_calls):
    (complete_folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}))
    assert check_model_folder(complete_folder) == [
        "this is a LoRA adapter checkpoint (adapter_config.json), not a whole model: save a merged model with "
        "trainer.save_merged_model(DIR) and push DIR"]  # fmt: skip


def test_local_datasets_are_never_linked_to_the_hub_and_push_warns_about_local_paths(
    model_folder, hub_calls, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)  # the folder `quickstart-output/dataset` does not exist here: it looks like a Hub id
    results = {"model": str(model_folder), "benchmarks": {"quickstart held-out photos": {
        "dataset": "quickstart-output/dataset", "dataset_is_local": True, "split": "test",
        "metrics": {"accuracy": 0.7}}}}  # fmt: skip
    card = render_model_card(model_folder, results, training={"data": "Pairs."})
    text = str(card)
    assert "huggingface.co/datasets/quickstart-output" not in text  # was a link to a dataset that is not there
    assert "`local dataset dataset`" in text and card.data.eval_results[0].dataset_type == "quickstart held-out photos"
    card.save(model_folder / "README.md")
    assert check_model_folder(model_folder) == [] and texts.CARD_MARKER in text
    with (model_folder / "README.md").open("a") as file:
        file.write("\nTrained from /home/alice/runs/edit-pairs on C:\\data\\pairs; see https://huggingface.co/a/b/c.\n")
    from editreward.hub_card.publish import card_local_paths

    assert card_local_paths(model_folder) == ["/home/alice/runs/edit-pairs", "C:\\data\\pairs"]
    args = _parse(["push", "--model", str(model_folder), "--repo-id", "my-org/EditReward-tiny", "--dry-run"])
    assert args.handler(args) == 0
    assert "Warning: " in capsys.readouterr().err and hub_calls == []
    with pytest.warns(UserWarning, match=r"README.md shows local paths, which mean nothing on the Hub: "
                                         r"/home/alice/runs/edit-pairs, C:\\data\\pairs\. Fix: regenerate it"):
        push_model_folder(model_folder, "my-org/EditReward-tiny", dry_run=True)


def test_card_regeneration_keeps_what_it_is_not_told_to_change(model_folder, results_file, capsys):
    """`editreward card` dropped the model-index without --results, and with one replaced the training sections by
    "Unknown" and the model's name by the folder's."""
    from editreward.hub_card.training_facts import write_training_facts

    training = {"data": "The quickstart's synthetic pairs.", "loss": "pointwise", "max_steps": 7000}
    render_model_card(model_folder, results_file, model_name="my-org/EditReward-tiny", training=training).save(
        model_folder / "README.md")
    first = ModelCard.load(model_folder / "README.md")
    args = _parse(["card", "--model", str(model_folder)])  # no results, no training, no name
    assert args.handler(args) == 0
    again = ModelCard.load(model_folder / "README.md")
    assert again.data.model_name == "my-org/EditReward-tiny" and len(again.data.eval_results) == 3
    assert again.text == first.text  # the evaluation and training sections, word for word
    args = _parse(["card", "--model", str(model_folder), "--results", str(results_file)])
    assert args.handler(args) == 0
    kept = ModelCard.load(model_folder / "README.md")
    assert "The quickstart's synthetic pairs." in kept.text and "Unknown" not in kept.text
    assert kept.data.model_name == "my-org/EditReward-tiny"
    # The folder's training facts (written by the trainer or the quickstart) are what a card without one reads.
    (model_folder / "README.md").unlink()
    write_training_facts(model_folder, {"data": "Recorded at training time.", "learning_rate": 2e-6})
    args = _parse(["card", "--model", str(model_folder), "--results", str(results_file)])
    assert args.handler(args) == 0
    text = ModelCard.load(model_folder / "README.md").text
    assert "Recorded at training time." in text and "| `learning_rate` | `2e-06` |" in text
