"""Benchmark runs: adapters for each published schema, data loading, cached and resumable scoring, results files.

Fixture datasets are built in the published schemas from real photos and scored end to end by the tiny saved model.
"""

import contextlib
import io
import json
import logging
import re
import shutil
import subprocess
import sys

import datasets
import numpy as np
import pytest
import torch
from PIL import ImageFilter, ImageOps

from editreward import EditRewardScorer
from editreward.evaluate_metrics import load_metric_script, loading, results, runner
from editreward.evaluate_metrics.benchmarks import BENCHMARKS
from editreward.evaluate_metrics.benchmarks.aurora_bench import from_aurora_bench
from editreward.evaluate_metrics.benchmarks.editreward_bench import from_editreward_bench, ranking_from_comparisons
from editreward.evaluate_metrics.benchmarks.genai_bench import from_genai_bench

metric = load_metric_script()
IMAGE = datasets.Image()
TEXT = datasets.Value("string")


def edits_of(image):
    """Four real-looking edits of one photo, as candidate A, B, C, D."""
    return [ImageOps.grayscale(image).convert("RGB"), ImageOps.mirror(image),
            image.filter(ImageFilter.GaussianBlur(3)), ImageOps.flip(image)]  # fmt: skip


@pytest.fixture(scope="module")
def scorer(saved_model_dir):
    return EditRewardScorer.from_pretrained(str(saved_model_dir), batch_size=4, device="cpu")


class CountingScorer:
    """Wraps a scorer and records the number of edits of every call."""

    def __init__(self, inner):
        self.inner, self.model, self.calls = inner, inner.model, []

    def __call__(self, sources, instructions, edited):
        self.calls.append(len(edited))
        return self.inner(sources, instructions, edited)


# ---------------------------------------------------------------------------------------------------------------
# Fixture datasets in the published schemas
# ---------------------------------------------------------------------------------------------------------------

GENAI_VOTES = ["leftvote", "rightvote", "bothbad_vote"]  # the end-to-end rows; the adapter test adds tievote
GENAI_FEATURES = datasets.Features({
    "source_prompt": TEXT, "target_prompt": TEXT, "instruct_prompt": TEXT, "source_image": IMAGE,
    "left_model": TEXT, "left_output_image": IMAGE, "right_model": TEXT, "right_output_image": IMAGE,
    "vote_type": TEXT,
})  # fmt: skip


def genai_rows(photos, votes=GENAI_VOTES):
    rows = []
    for (name, photo), vote in zip(photos.items(), votes):
        gray, mirror, _, _ = edits_of(photo)
        rows.append({"source_prompt": f"a photo of {name}", "target_prompt": f"a gray photo of {name}",
                     "instruct_prompt": f"make the {name} photo black and white", "source_image": photo,
                     "left_model": "MagicBrush", "left_output_image": gray, "right_model": "InstructPix2Pix",
                     "right_output_image": mirror, "vote_type": vote})  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def genai_dir(photos, tmp_path_factory):
    """GenAI-Bench image_edition rows in a save_to_disk DatasetDict with the two published splits."""
    rows = genai_rows(photos)
    split = datasets.Dataset.from_list(rows, features=GENAI_FEATURES)
    path = tmp_path_factory.mktemp("genai") / "genai_bench"
    datasets.DatasetDict({"test_v1": split, "test": split.select([0, 1])}).save_to_disk(str(path))
    return path


# EditReward-Bench: (id, comparison_type, ranking); groups interleaved; 2pair ids have no "_".
ERB_ROWS = [
    ("68cb01", "AvsB", "A>B"),
    ("g3_0", "AvsB", "B>A"), ("g4_0", "AvsB", "A>B"), ("g3_1", "AvsC", "A>C"), ("g4_1", "AvsC", "A>C"),
    ("g3_2", "BvsC", "B>C"), ("g4_2", "AvsD", "A>D"), ("g4_3", "BvsC", "B=C"), ("g4_4", "BvsD", "B>D"),
    ("g4_5", "CvsD", "C>D"), ("68cb02", "AvsB", "A=B"),
]  # fmt: skip
ERB_RANKINGS = {"68cb01": "A>B", "g3": "B>A>C", "g4": "A>B=C>D", "68cb02": "A=B"}
ERB_SIZES = {"68cb01": 2, "g3": 3, "g4": 4, "68cb02": 2}


def erb_rows(photos, rows=ERB_ROWS):
    """One row per comparison; each group edits its own photo and letter X is always the same edit."""
    photo_of = dict(zip(ERB_RANKINGS, photos.values()))
    table = []
    for row_id, comparison, ranking in rows:
        group = row_id.split("_")[0]
        first, second = comparison[0], comparison[-1]
        candidates = edits_of(photo_of[group])
        table.append({
            "id": row_id, "instruction": f"edit group {group}", "dataset": f"{ERB_SIZES[group]}pair",
            "source_image": photo_of[group], "candidate_1": candidates["ABCD".index(first)],
            "candidate_2": candidates["ABCD".index(second)], "ranking": ranking, "comparison_type": comparison,
            "model_1": f"editor-{first}", "model_2": f"editor-{second}", "score_1": 6.0, "score_2": 5.0,
        })  # fmt: skip
    return table


ERB_FEATURES = datasets.Features({
    "id": TEXT, "instruction": TEXT, "dataset": TEXT, "source_image": IMAGE, "candidate_1": IMAGE,
    "candidate_2": IMAGE, "ranking": TEXT, "comparison_type": TEXT, "model_1": TEXT, "model_2": TEXT,
    "score_1": datasets.Value("float32"), "score_2": datasets.Value("float32"),
})  # fmt: skip


# AURORA-Bench ratings: (id, model, human_score); item "b" has a human tie between m1 and m3.
AURORA_ROWS = [("a", "m1", 4.0), ("a", "m2", 2.0), ("a", "m3", 1.0),
               ("b", "m1", 3.0), ("b", "m2", 5.0), ("b", "m3", 3.0),
               ("c", "m1", 1.0), ("c", "m2", 2.0), ("c", "m3", 4.5)]  # fmt: skip
AURORA_FEATURES = datasets.Features({
    "id": TEXT, "instruction": TEXT, "input": IMAGE, "output": IMAGE, "model": TEXT,
    "human_score": datasets.Value("float32"),
})  # fmt: skip


@pytest.fixture(scope="module")
def official_json(photos, tmp_path_factory):
    """The official local JSON: relative image paths beside the file; labels from the dim1 scores."""
    root = tmp_path_factory.mktemp("official")
    (root / "images").mkdir()
    rows = []
    for (name, photo), (dim1_a, dim1_b) in zip(photos.items(), [(4, 2), (3, 3)]):
        gray, mirror, _, _ = edits_of(photo)
        for suffix, image in [("src", photo), ("1", gray), ("2", mirror)]:
            image.save(root / "images" / f"{name}_{suffix}.png")
        rows.append({"prompt": f"make the {name} black and white", "path_src": f"images/{name}_src.png",
                     "path1": f"images/{name}_1.png", "path2": f"images/{name}_2.png", "model1": "x", "model2": "y",
                     "model1_dim1_score": dim1_a, "model2_dim1_score": dim1_b, "model1_dim2_score": 3,
                     "model2_dim2_score": 3, "tie_case": dim1_a == dim1_b})  # fmt: skip
    path = root / "valid_dataset.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def read_results(output_dir):
    """results.json as any strict JSON parser reads it: NaN or Infinity in the file fail the test."""

    def refuse(constant):
        raise ValueError(f"results.json holds {constant}, which is not JSON")

    return json.loads((output_dir / "results.json").read_text(encoding="utf-8"), parse_constant=refuse)


# ---------------------------------------------------------------------------------------------------------------
# Adapters
# ---------------------------------------------------------------------------------------------------------------


def text_erb(rows):
    """EditReward-Bench rows with placeholder image cells (adapters never read images)."""
    return datasets.Dataset.from_list([
        {"id": i, "instruction": "x", "source_image": "s", "candidate_1": "c1", "candidate_2": "c2", "ranking": r,
         "comparison_type": c} for i, c, r in rows
    ])  # fmt: skip


def test_editreward_bench_groups_are_rebuilt_from_their_pairwise_rows():
    task = from_editreward_bench(text_erb(ERB_ROWS))
    assert {g.id: g.ranking for g in task.groups} == ERB_RANKINGS
    g3 = next(g for g in task.groups if g.id == "g3")
    assert g3.keys == ("g3:A", "g3:B", "g3:C")
    cells = {e.key: e.edited for e in task.edits}
    # C first appears as candidate_2 of g3_1 (row 3); B as candidate_2 of g3_0 (row 1)
    assert cells["g3:C"] == (3, "candidate_2") and cells["g3:B"] == (1, "candidate_2")
    assert len(task.edits) == sum(ERB_SIZES.values())
    limited = from_editreward_bench(text_erb(ERB_ROWS), limit=2)
    assert [g.id for g in limited.groups] == ["68cb01", "g3"] and len(limited.edits) == 2 + 3


def test_editreward_bench_full_rankings_in_rows_are_read_per_pair():
    rows = [("g_0", "AvsB", "C>A>B"), ("g_1", "AvsC", "C>A>B"), ("g_2", "BvsC", "C>A>B")]
    assert from_editreward_bench(text_erb(rows)).groups[0].ranking == "C>A>B"


def test_editreward_bench_contradictory_duplicate_ids_are_an_error_naming_the_id():
    rows = [("68cbb25e", "AvsB", "B>A"), ("68cbb25e", "AvsB", "A>B"), ("ok", "AvsB", "A>B")]
    with pytest.raises(ValueError, match=r"(?s)id .68cbb25e. compares A and B twice with opposite labels.*--revision"):
        from_editreward_bench(text_erb(rows))


def test_editreward_bench_skip_drops_conflicting_groups_with_a_warning(caplog):
    rows = [("68cbb25e", "AvsB", "B>A"), ("68cbb25e", "AvsB", "A>B"), ("ok", "AvsB", "A>B"), ("ok", "AvsB", "A>B")]
    with caplog.at_level(logging.WARNING):
        task = from_editreward_bench(text_erb(rows), on_conflict="skip")
    assert [g.id for g in task.groups] == ["ok"]
    assert "68cbb25e" in caplog.text and "repeats the A-B comparison" in caplog.text


def test_editreward_bench_incomplete_or_cyclic_groups_are_errors():
    with pytest.raises(ValueError, match=r"group 'g' lacks the comparison\(s\) \['BvsC'\]"):
        from_editreward_bench(text_erb([("g_0", "AvsB", "A>B"), ("g_1", "AvsC", "A>C")]))
    cycle = [("g_0", "AvsB", "A>B"), ("g_1", "BvsC", "B>C"), ("g_2", "AvsC", "C>A")]
    with pytest.raises(ValueError, match=r"group 'g' has cyclic verdicts"):
        from_editreward_bench(text_erb(cycle))
    with pytest.raises(ValueError, match=r"row 0 \(id 'g_0'\): ranking='A>C' does not rank A against B"):
        from_editreward_bench(text_erb([("g_0", "AvsB", "A>C")]))


def test_ranking_from_comparisons_handles_tiers():
    assert ranking_from_comparisons(list("ABC"), {("A", "B"): -1, ("A", "C"): 0, ("B", "C"): 1}) == "B>A=C"


def test_adapters_read_votes_and_rankings_in_the_metrics_vocabulary_and_case():
    assert BENCHMARKS["genai-bench"].adapter is from_genai_bench
    rows = [{"instruct_prompt": "x", "source_image": "s", "left_output_image": "l", "right_output_image": "r",
             "vote_type": vote} for vote in metric.GENAI_VOTES]  # fmt: skip
    assert [p.label for p in from_genai_bench(datasets.Dataset.from_list(rows)).pairs] == list(metric.GENAI_VOTES)
    for refused in ("LeftVote", "a>b", "A=B=good"):
        with pytest.raises(ValueError, match=re.escape(repr(refused))):
            metric.human_preferences([refused])
    with pytest.raises(ValueError, match=r"genai-bench row 0: vote_type='LeftVote'"):
        from_genai_bench(datasets.Dataset.from_list([{**rows[0], "vote_type": "LeftVote"}]))
    for ranking, letter in (("a>b", "a"), ("A=B=good", "good")):
        with pytest.raises(ValueError, match=rf"ranking = {ranking!r} contains {letter!r}; write capital letters"):
            from_editreward_bench(text_erb([("g", "AvsB", ranking)]))
        with pytest.raises(ValueError, match=rf"references\[0\] = {ranking!r} contains {letter!r}"):
            metric.group_accuracy([[1.0, 0.0]], [ranking])
    assert from_editreward_bench(text_erb([("g", "AvsB", "A=B=Good")])).groups[0].ranking == "A=B"


def test_each_benchmark_spec_carries_what_the_runner_treats_specially():
    assert [key for key, spec in BENCHMARKS.items() if spec.resolves_conflicts] == ["editreward-bench"]
    assert BENCHMARKS["local-json"].results_name("/data/valid_dataset.json") == "valid_dataset"
    assert BENCHMARKS["genai-bench"].results_name("TIGER-Lab/GenAI-Bench") == "GenAI-Bench"
    conflicting = text_erb([("g", "AvsB", "B>A"), ("g", "AvsB", "A>B"), ("ok", "AvsB", "A>B")])
    assert [g.id for g in BENCHMARKS["editreward-bench"].read_task(conflicting, on_conflict="skip").groups] == ["ok"]


def test_genai_bench_votes_map_to_pairs_and_unknown_votes_name_the_row(photos):
    votes = ["leftvote", "rightvote", "tievote", "bothbad_vote"]
    dataset = datasets.Dataset.from_list(genai_rows(photos, votes), features=GENAI_FEATURES)
    task = from_genai_bench(dataset.remove_columns(["source_image"]).add_column("source_image", ["s"] * 4))
    assert [(p.first, p.second, p.label) for p in task.pairs][:2] == [
        ("row0:A", "row0:B", "leftvote"), ("row1:A", "row1:B", "rightvote")]
    assert metric.human_preferences([p.label for p in task.pairs]).tolist() == [1, -1, 0, 0]
    assert task.edits[1].edited == (0, "right_output_image")
    bad = dataset.select_columns(["instruct_prompt", "vote_type"]).map(lambda r: {"vote_type": "tie"})
    bad = bad.add_column("source_image", ["s"] * 4).add_column("left_output_image", ["l"] * 4)
    with pytest.raises(ValueError, match=r"genai-bench row 0: vote_type='tie'"):
        from_genai_bench(bad.add_column("right_output_image", ["r"] * 4))


def test_aurora_ratings_become_pairs_with_ties_and_spearman_points():
    rows = [{"id": i, "instruction": "x", "input": "s", "output": "o", "model": m, "human_score": s}
            for i, m, s in AURORA_ROWS + [("a", "m3", 2.0)]]  # a second rating of (a, m3): averaged to 1.5
    task = from_aurora_bench(datasets.Dataset.from_list(rows))
    assert len(task.edits) == 9 and len(task.ratings) == 9
    assert [(p.first, p.second, p.label) for p in task.pairs[3:6]] == [
        ("b:m1", "b:m2", "B>A"), ("b:m1", "b:m3", "A=B"), ("b:m2", "b:m3", "A>B")]
    assert next(r.rating for r in task.ratings if r.key == "a:m3") == 1.5
    assert {r.editor for r in task.ratings} == {"m1", "m2", "m3"}
    assert len(from_aurora_bench(datasets.Dataset.from_list(rows), limit=1).pairs) == 3


@pytest.mark.parametrize(
    ("adapter", "rows", "missing"),
    [
        (from_genai_bench, [{"instruct_prompt": "x", "source_image": "s"}], "left_output_image"),
        (from_editreward_bench, [{"id": "g", "instruction": "x", "source_image": "s"}], "candidate_1"),
        (from_aurora_bench, [{"id": "a", "instruction": "x", "input": "s", "output": "o", "model": "m"}],
         "human_score"),
    ],
)  # fmt: skip
def test_missing_columns_are_named(adapter, rows, missing):
    with pytest.raises(ValueError, match=rf"lacks column\(s\) \[.*'{missing}'.*\]; it has \["):
        adapter(datasets.Dataset.from_list(rows))


# ---------------------------------------------------------------------------------------------------------------
# results.json
# ---------------------------------------------------------------------------------------------------------------

PAIR_ENTRY = {"dataset": "TIGER-Lab/GenAI-Bench", "split": "test_v1", "num_pairs": 3,
              "metrics": {"accuracy": np.float32(0.5), "accuracy_without_ties": float("nan"), "epsilon": -1.0,
                          "accuracy_ci_high": float("inf"), "num_pairs": np.int64(3)}}  # fmt: skip
GROUP_ENTRY = {"dataset": "/data/erb.parquet", "num_groups": 2,
               "metrics": {"accuracy": 0.5, "accuracy_k2": 1.0, "pairwise_accuracy": 0.75, "epsilon": 0.1}}  # fmt: skip


def test_results_json_is_plain_json(tmp_path):
    written = results.write_results(results.merge_entry(results.new_results("org/model"), "GenAI-Bench", PAIR_ENTRY),
                                    tmp_path)  # fmt: skip
    assert written == tmp_path / "results.json"
    metrics = read_results(tmp_path)["benchmarks"]["GenAI-Bench"]["metrics"]  # a strict parser: no NaN, no Infinity
    assert metrics == {"accuracy": 0.5, "accuracy_without_ties": None, "epsilon": -1.0, "accuracy_ci_high": None,
                       "num_pairs": 3}  # fmt: skip
    assert results.read_results(tmp_path) == results.read_results(written) == read_results(tmp_path)
    written.write_text(written.read_text().replace("null", "NaN"))
    with pytest.raises(ValueError, match="results.json holds NaN, which is not JSON"):  # the check can fail
        read_results(tmp_path)


def test_merging_an_entry_keeps_the_other_benchmarks_and_replaces_its_own_earlier_run(tmp_path):
    merged = results.merge_entry(results.new_results("m"), "GenAI-Bench", PAIR_ENTRY)
    merged = results.merge_entry(merged, "EditReward-Bench", GROUP_ENTRY)
    merged = results.merge_entry(merged, "GenAI-Bench", {**PAIR_ENTRY, "num_pairs": 4})
    assert list(merged["benchmarks"]) == ["GenAI-Bench", "EditReward-Bench"]
    assert merged["benchmarks"]["GenAI-Bench"]["num_pairs"] == 4
    results.write_results(merged, tmp_path)
    assert results.results_of_model(tmp_path, "m") == read_results(tmp_path)
    with pytest.raises(ValueError, match=r"results.json holds results of model 'm', not 'other'; pass another"):
        results.results_of_model(tmp_path, "other")
    assert results.results_of_model(tmp_path / "new", "other") == {"model": "other", "benchmarks": {}}


def test_a_group_benchmark_is_told_by_its_per_k_accuracies_alone():
    aurora = {"metrics": {"accuracy": 0.6, "accuracy_without_ties": 0.7, "spearman": 0.3, "num_groups": 3}}
    assert results.is_group_benchmark(GROUP_ENTRY)
    assert not results.is_group_benchmark(PAIR_ENTRY) and not results.is_group_benchmark(aurora)
    table = results.render_markdown(results.merge_entry(results.merge_entry(
        results.new_results("m"), "GenAI-Bench", PAIR_ENTRY), "EditReward-Bench", GROUP_ENTRY))  # fmt: skip
    pairs, groups = table.split("**Group benchmarks: strict group accuracy**")
    assert "| GenAI-Bench |" in pairs and "EditReward-Bench" not in pairs
    assert "| EditReward-Bench | `local dataset erb.parquet` | – | 2 | 0.5000 | 1.0000 | 0.7500 | 0.1000 |" in groups
    assert "| test_v1 | 3 | 0.5000 | n/a | -1.0000 |" in pairs  # null shows as n/a


def test_score_metrics_are_the_finite_agreement_figures():
    entry = results.merge_entry(results.new_results("m"), "x", PAIR_ENTRY)["benchmarks"]["x"]
    assert results.score_metrics(entry) == {"accuracy": 0.5}


@pytest.mark.parametrize(
    "content, message",
    [("{not json", "not valid JSON"), ('{"benchmarks": {}}', 'needs a non-empty "benchmarks" object'),
     ('{"benchmarks": {"X": {"metrics": {"accuracy": null}}}}', "benchmarks['X'] needs \"metrics\"")],
)  # fmt: skip
def test_a_bad_results_file_is_named_with_the_problem(tmp_path, content, message):
    (tmp_path / "results.json").write_text(content)
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'results.json'}: ") + ".*" + re.escape(message)):
        results.read_results(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such results file"):
        results.read_results(tmp_path / "missing.json")


# ---------------------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------------------


def test_hub_ids_are_loaded_with_their_pinned_revision_per_config(monkeypatch):
    calls = []

    def fake_load_dataset(repo_id, config, revision=None, split=None):
        calls.append((repo_id, config, revision, split))
        return datasets.Dataset.from_list([{"config": config}])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    loaded = loading.load_benchmark_data("TIGER-Lab/EditReward-Bench", config="2pair,3pair", revision="abc123",
                                         split="train")  # fmt: skip
    assert calls == [("TIGER-Lab/EditReward-Bench", "2pair", "abc123", "train"),
                     ("TIGER-Lab/EditReward-Bench", "3pair", "abc123", "train")]  # fmt: skip
    assert loaded.dataset["config"][:] == ["2pair", "3pair"] and loaded.revision == "abc123"


def test_local_paths_load_and_report_bad_input(genai_dir, tmp_path):
    with pytest.raises(ValueError, match=r"has splits \['test_v1', 'test'\]; pass one with --split"):
        loading.load_benchmark_data(str(genai_dir))
    assert len(loading.load_benchmark_data(str(genai_dir), split="test").dataset) == 2
    with pytest.raises(ValueError, match="revision='abc' applies to Hub ids"):
        loading.load_benchmark_data(str(genai_dir), revision="abc")
    with pytest.raises(FileNotFoundError, match="neither an existing local path nor a Hub dataset id"):
        loading.load_benchmark_data(str(tmp_path / "missing.json"))
    (tmp_path / "rows.jsonl").write_text('{"a": 1}\n{"a": 2}\n', encoding="utf-8")
    assert loading.load_benchmark_data(str(tmp_path / "rows.jsonl")).dataset["a"][:] == [1, 2]


# ---------------------------------------------------------------------------------------------------------------
# End to end (each benchmark is run once per module; the checks share those runs)
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def genai_run(saved_model_dir, genai_dir, tmp_path_factory, run_command):
    """`editreward evaluate` on the GenAI-Bench fixture, the model loaded from its folder: (output dir, stdout)."""
    out, printed = tmp_path_factory.mktemp("genai-run") / "eval", io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = run_command(["evaluate", "--model", str(saved_model_dir), "--benchmark", "genai-bench", "--data",
                    str(genai_dir), "--split", "test_v1", "--output-dir", str(out), "--batch-size", "4",
                    "--device", "cpu", "--no-progress"])  # fmt: skip
    assert code == 0
    return out, printed.getvalue()


def test_genai_bench_end_to_end_through_the_command(saved_model_dir, scorer, genai_run, genai_dir, photos):
    out, printed = genai_run
    assert printed.startswith("genai-bench: accuracy")
    results = read_results(out)
    entry = results["benchmarks"]["GenAI-Bench"]
    assert results["model"] == str(saved_model_dir.resolve())
    assert (entry["dataset"], entry["split"], entry["revision"], entry["num_pairs"]) == (
        str(genai_dir.resolve()), "test_v1", None, len(GENAI_VOTES))

    rows = genai_rows(photos)
    direct = [scorer([r["source_image"]] * 2, [r["instruct_prompt"]] * 2,
                     [r["left_output_image"], r["right_output_image"]]).score for r in rows]  # fmt: skip
    expected = metric.pairwise_accuracy(np.array(direct), [r["vote_type"] for r in rows])
    for key in ("accuracy", "epsilon", "accuracy_without_ties", "num_pairs", "num_human_ties", "concordant",
                "ties_both", "accuracy_ci_low", "accuracy_ci_high"):  # fmt: skip
        assert entry["metrics"][key] == pytest.approx(expected[key], abs=1e-6), key
    cached = [json.loads(line) for line in (out / "scores-genai-bench.jsonl").read_text().splitlines()]
    assert cached[0]["meta"]["split"] == "test_v1" and len(cached) == 1 + 2 * len(rows)
    np.testing.assert_allclose([c["score"] for c in cached[1:]], np.ravel(direct), atol=1e-5)
    assert "| GenAI-Bench |" in (out / "results.md").read_text()


def test_editreward_bench_end_to_end_per_k(saved_model_dir, scorer, photos, tmp_path):
    rows = [row for row in ERB_ROWS if row[0] != "68cb02"]  # groups of K = 2, 3, 4
    path = tmp_path / "editreward_bench.parquet"
    datasets.Dataset.from_list(erb_rows(photos, rows), features=ERB_FEATURES).to_parquet(str(path))
    out = tmp_path / "eval"
    entry = runner.run_benchmark(saved_model_dir, "editreward-bench", str(path), output_dir=out, batch_size=5,
                                 scorer=scorer, progress=False)  # fmt: skip
    assert entry == read_results(out)["benchmarks"]["EditReward-Bench"]
    photo_of, groups = dict(zip(ERB_RANKINGS, photos.values())), ["68cb01", "g3", "g4"]
    direct = [scorer.score_group(photo_of[g], f"edit group {g}", edits_of(photo_of[g])[: ERB_SIZES[g]]).score
              for g in groups]  # fmt: skip
    expected = metric.group_accuracy(direct, [ERB_RANKINGS[g] for g in groups])
    for key in ("accuracy", "accuracy_k2", "accuracy_k3", "accuracy_k4", "pairwise_accuracy", "epsilon",
                "num_comparisons"):  # fmt: skip
        assert entry["metrics"][key] == pytest.approx(expected[key], abs=1e-6), key
    assert entry["num_groups"] == 3 and entry["num_pairs"] == 1 + 3 + 6
    table = (out / "results.md").read_text()
    group_table = table[table.index("**Group benchmarks: strict group accuracy**") :]
    assert "| Groups | `accuracy` | `pairwise_accuracy` | `epsilon` | `accuracy_k2` | `accuracy_k3` | `accuracy_k4` |" \
        in group_table
    assert f"| EditReward-Bench | `local dataset {path.name}` | – | 3 | {entry['metrics']['accuracy']:.4f}" in group_table


def test_aurora_and_local_json_runs_merge_into_one_results_file(saved_model_dir, scorer, photos, official_json,
                                                               tmp_path):  # fmt: skip
    photo_of = dict(zip("ab", photos.values()))
    rows = [{"id": item, "instruction": f"edit {item}", "input": photo_of[item],
             "output": edits_of(photo_of[item])[int(model[1]) - 1], "model": model, "human_score": score}
            for item, model, score in AURORA_ROWS if item in photo_of]  # fmt: skip
    datasets.Dataset.from_list(rows, features=AURORA_FEATURES).save_to_disk(str(tmp_path / "aurora"))
    out = tmp_path / "eval"
    aurora = runner.run_benchmark(saved_model_dir, "aurora-bench", str(tmp_path / "aurora"), output_dir=out,
                                  scorer=scorer, progress=False)  # fmt: skip
    local = runner.run_benchmark(saved_model_dir, "local-json", str(official_json), output_dir=out, scorer=scorer,
                                 tie_threshold=-1.0, progress=False)  # fmt: skip
    assert set(read_results(out)["benchmarks"]) == {"AURORA-Bench", "valid_dataset"}
    assert aurora["num_pairs"] == 6 and local["num_pairs"] == 2 and local["metrics"]["num_human_ties"] == 1
    assert local["metrics"]["tie_threshold"] == -1.0 and local["metrics"]["accuracy_at_threshold"] <= 0.5

    score = {f"{i}:m{k + 1}": s for i in "ab"
             for k, s in enumerate(scorer.score_group(photo_of[i], f"edit {i}", edits_of(photo_of[i])[:3]).score)}
    task = from_aurora_bench(datasets.load_from_disk(str(tmp_path / "aurora")))
    expected = {
        **metric.pairwise_accuracy([[score[p.first], score[p.second]] for p in task.pairs],
                                   [p.label for p in task.pairs]),
        **metric.spearman_by_group([score[r.key] for r in task.ratings], [r.rating for r in task.ratings],
                                   [r.editor for r in task.ratings]),
    }  # fmt: skip
    for key in ("accuracy", "epsilon", "num_human_ties", "spearman"):
        assert aurora["metrics"][key] == pytest.approx(expected[key], abs=1e-6), key
    assert aurora["metrics"]["spearman_per_group"] == pytest.approx(expected["spearman_per_group"], abs=1e-6)


def test_an_interrupted_run_resumes_scoring_only_what_is_missing(saved_model_dir, scorer, genai_run, genai_dir,
                                                                 tmp_path, monkeypatch):  # fmt: skip
    out = tmp_path / "eval"
    shutil.copytree(genai_run[0], out)
    first = read_results(out)["benchmarks"]["GenAI-Bench"]
    kwargs = {"output_dir": out, "split": "test_v1", "batch_size": 4, "device": "cpu", "progress": False}

    def no_loading(*args, **kwargs):
        raise AssertionError("the model must not be loaded when every score is cached")

    monkeypatch.setattr(EditRewardScorer, "from_pretrained", no_loading)
    assert runner.run_benchmark(saved_model_dir, "genai-bench", str(genai_dir), **kwargs) == first

    cache = out / "scores-genai-bench.jsonl"
    lines = cache.read_text().splitlines()  # header, row0:A, row0:B, row1:A, row1:B, ...
    cache.write_text("\n".join(lines[:2] + lines[4:-1]) + "\n" + lines[-1][:10])  # the last line cut mid-write
    counting = CountingScorer(scorer)
    again = runner.run_benchmark(saved_model_dir, "genai-bench", str(genai_dir), scorer=counting, **kwargs)
    assert counting.calls == [3]  # row0:B, row1:A and the cut last record, nothing else
    assert again["metrics"]["accuracy"] == first["metrics"]["accuracy"]
    assert len(cache.read_text().splitlines()) == len(lines)


def test_scores_and_results_of_another_model_are_never_mixed(scorer, genai_run, genai_dir, tmp_path):
    out = tmp_path / "eval"
    shutil.copytree(genai_run[0], out)
    kwargs = {"output_dir": out, "split": "test_v1", "scorer": scorer, "progress": False}
    with pytest.raises(ValueError, match=r"results.json holds results of model .*pass another --output-dir"):
        runner.run_benchmark("other/model", "genai-bench", str(genai_dir), **kwargs)
    (out / "results.json").unlink()
    with pytest.raises(ValueError, match=r"scores-genai-bench.jsonl holds scores of .*pass another --output-dir"):
        runner.run_benchmark("other/model", "genai-bench", str(genai_dir), **kwargs)


def test_a_model_retrained_in_the_same_folder_is_not_served_old_scores(saved_model_dir, make_model, scorer,
                                                                       genai_dir, tmp_path):  # fmt: skip
    model, out = shutil.copytree(saved_model_dir, tmp_path / "model"), tmp_path / "eval"
    kwargs = {"output_dir": out, "split": "test_v1", "scorer": scorer, "progress": False}
    runner.run_benchmark(model, "genai-bench", str(genai_dir), **kwargs)
    assert runner.run_benchmark(model, "genai-bench", str(genai_dir), **kwargs)  # unchanged: the cache is reused
    make_model(seed=7).save_pretrained(model)  # retrained: same config, new weights
    cache = out / "scores-genai-bench.jsonl"
    with pytest.raises(ValueError, match=rf"changed: model_fingerprint\): .*delete {re.escape(str(cache))} to score"):
        runner.run_benchmark(model, "genai-bench", str(genai_dir), **kwargs)
    with pytest.raises(ValueError, match=r"changed: model_fingerprint, dtype\)"):  # refused before any loading
        runner.run_benchmark(model, "genai-bench", str(genai_dir), dtype="bfloat16", **{**kwargs, "scorer": None})


def test_a_hub_model_is_fingerprinted_by_its_locally_cached_commit(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    assert runner.model_fingerprint("my-org/EditReward-tiny") is None  # not cached: nothing to read, no download
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--my-org--EditReward-tiny"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "config.json").write_text("{}")
    assert runner.model_fingerprint("my-org/EditReward-tiny") == {"commit": commit}
    for label in ("exp3/run-a/final", "my model (lr 1e-5)"):  # labels of a scorer passed in: no Hub id, no commit
        assert runner.model_fingerprint(label) is None


def test_the_score_header_names_the_dtype_actually_used_in_one_form(scorer):
    assert runner.scoring_dtype(dtype="bfloat16") == runner.scoring_dtype(dtype=torch.bfloat16) == "bfloat16"
    assert runner.scoring_dtype(device="cpu") == "float32"  # the scorer's defaults: float32 on CPU, bf16 on CUDA
    assert runner.scoring_dtype(device="cuda") == "bfloat16"
    assert runner.scoring_dtype(scorer, dtype="bfloat16") == str(scorer.model.dtype).removeprefix("torch.")


def test_missing_image_files_name_the_row_and_column(saved_model_dir, scorer, official_json, tmp_path):
    with pytest.raises(ValueError, match=r"^row 0, column 'path_src': no image file at .*--image-root"):
        runner.run_benchmark(saved_model_dir, "local-json", str(official_json), output_dir=tmp_path, scorer=scorer,
                             image_root=str(tmp_path), progress=False)  # fmt: skip


def test_image_cells_may_be_bytes_and_anything_else_is_named(photos):
    buffer = io.BytesIO()
    photos["astronaut"].save(buffer, format="PNG")
    assert loading.open_image(buffer.getvalue(), None, "row 3, source_image").size == photos["astronaut"].size
    with pytest.raises(ValueError, match=r"row 3, source_image: a value of type int is not an image; a cell must hold"):
        loading.open_image(7, None, "row 3, source_image")


def test_a_json_file_whose_rows_disagree_on_a_type_is_named(tmp_path):
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([{"score": "3", "id": 1}, {"score": 4, "id": 2}]))
    with pytest.raises(ValueError, match=r"mixed.json: rows disagree on a field's type"):
        loading.load_local(path, None)


def test_the_commands_and_the_runner_import_no_heavy_library():
    code = ("import sys, editreward.commands.evaluate, editreward.evaluate_metrics.runner; "
            "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'evaluate') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_metric_install_command_prints_the_installed_script(capsys, run_command):
    assert run_command(["metric", "install"]) == 0
    path = capsys.readouterr().out.strip()
    assert path.endswith("editreward_accuracy.py") and open(path).read().startswith("# Copyright")


def test_a_missing_optional_module_is_named_with_the_extra_that_provides_it(genai_dir, monkeypatch, capsys):
    from editreward.cli import main

    monkeypatch.setitem(sys.modules, "datasets", None)  # as if it were not installed
    code = main(["evaluate", "--model", "org/name", "--benchmark", "genai-bench", "--data", str(genai_dir)])
    assert code == 2
    err = capsys.readouterr().err
    assert "editreward evaluate: error: " in err and "datasets" in err
    assert 'it comes with pip install "editreward[evaluate]"' in err


def test_the_training_benchmark_passes_no_deprecated_trainer_argument(make_model, processor, tmp_path, monkeypatch):
    import warnings
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "benchmarks"))
    import bench_training

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bench_training.build_trainer(make_model(), processor, bench_training.pair_rows(), str(tmp_path))
    assert not [str(w.message) for w in caught if "gradient_checkpointing" in str(w.message)]


@pytest.fixture
def genai_with_bad_rows(photos, tmp_path):
    """Four GenAI-Bench rows: row 1's instruction is empty, row 2's right edit is a truncated JPEG."""
    rows = genai_rows(photos, votes=["leftvote", "rightvote", "leftvote", "rightvote"])
    rows[1]["instruct_prompt"] = ""
    encoded = io.BytesIO()
    rows[2]["right_output_image"].save(encoded, "JPEG")
    rows[2]["right_output_image"] = {"bytes": encoded.getvalue()[:-400], "path": None}
    path = tmp_path / "genai_bad"
    datasets.Dataset.from_list(rows, features=GENAI_FEATURES).save_to_disk(str(path))
    return path


def test_an_edit_that_cannot_be_scored_is_named_by_its_row_or_skipped_and_counted(
    saved_model_dir, scorer, genai_with_bad_rows, tmp_path
):
    """The errors named a position in the batch (`instructions[0]`, `edited_images[1]`), with no way past them."""
    kwargs = dict(output_dir=tmp_path / "out", scorer=scorer, batch_size=4, progress=False)
    with pytest.raises(ValueError, match=r"^row 1, the instruction is empty or not a string \(''\); give the edit "
                                         r"instruction\. Fix: repair or drop the row, or pass --on-error skip"):
        runner.run_benchmark(saved_model_dir, "genai-bench", str(genai_with_bad_rows), **kwargs)
    entry = runner.run_benchmark(saved_model_dir, "genai-bench", str(genai_with_bad_rows), on_error="skip", **kwargs)
    assert (entry["num_pairs"], entry["num_skipped_edits"]) == (2, 3)  # rows 0 and 3 are left
    errors = [json.loads(line) for line in (tmp_path / "out" / "errors-genai-bench.jsonl").read_text().splitlines()]
    assert [(e["edit"], e["row"]) for e in errors] == [("row1:A", 1), ("row1:B", 1), ("row2:B", 2)]
    assert errors[2]["error"].startswith("row 2, column 'right_output_image': ")
    cached = (tmp_path / "out" / "scores-genai-bench.jsonl").read_text()
    assert "row2:A" in cached and "row1:A" not in cached  # the good edits of the failing batch are kept
