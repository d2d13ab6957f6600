"""`editreward.curation` with the local engine: scores equal the scorer's, shards resume after a kill and refuse
another model's or data set's, bad rows are named or recorded, the selection keeps every original column."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image, ImageFilter

from editreward.curation import ColumnMap, SelectionRule, curate, load_data


@pytest.fixture(scope="module")
def edits(photos):
    """12 triplets: three edits of each of four real photos, under the photo's instruction."""
    import datasets

    rows = []
    for name, photo in photos.items():
        for kind, edited in (("gray", photo.convert("L").convert("RGB")),
                             ("mirror", photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
                             ("blur", photo.filter(ImageFilter.GaussianBlur(3)))):  # fmt: skip
            rows.append({"src": photo, "prompt": f"make the {name} photo black and white", "out": edited,
                         "photo": name, "kind": kind})  # fmt: skip
    features = datasets.Features({"src": datasets.Image(), "prompt": datasets.Value("string"),
                                  "out": datasets.Image(), "photo": datasets.Value("string"),
                                  "kind": datasets.Value("string")})  # fmt: skip
    return datasets.Dataset.from_list(rows, features=features)


COLUMNS = "source=src,instruction=prompt,edited=out"


@pytest.fixture(scope="module")
def edits_dir(edits, tmp_path_factory):
    path = tmp_path_factory.mktemp("edits")
    edits.save_to_disk(str(path))
    return path


@pytest.fixture(scope="module")
def scorer_scores(saved_model_dir, edits):
    """The package scorer's scores of every row, one call."""
    from editreward import EditRewardScorer

    scorer = EditRewardScorer.from_pretrained(str(saved_model_dir), batch_size=4)
    return scorer(list(edits["src"]), list(edits["prompt"]), list(edits["out"]))


def test_curate_scores_every_row_as_the_scorer_does_and_keeps_the_top_k(saved_model_dir, edits_dir, edits,
                                                                         scorer_scores, tmp_path):  # fmt: skip
    import datasets

    result = curate(str(saved_model_dir), str(edits_dir), tmp_path, SelectionRule(top_k=5), columns=COLUMNS,
                    batch_size=3, shard_size=5, progress=False, plots=False)  # fmt: skip
    np.testing.assert_allclose(result.scores["score"], scorer_scores.score, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(result.scores["visual_quality_sigma"], scorer_scores.sigma[:, 1], rtol=1e-4, atol=1e-5)
    assert sorted(p.name for p in (tmp_path / "scores").iterdir()) == [
        "scores-0000000000-0000000005.parquet", "scores-0000000005-0000000010.parquet",
        "scores-0000000010-0000000012.parquet"]  # fmt: skip
    best = sorted(np.argsort(-result.scores["score"], kind="stable")[:5].tolist())
    assert result.selection.rows.tolist() == best
    selected = datasets.load_from_disk(str(tmp_path / "selected"))
    assert set(selected.column_names) == set(edits.column_names) | {
        "score", "score_sigma", "row_index", "instruction_following_mu", "instruction_following_sigma",
        "visual_quality_mu", "visual_quality_sigma"}  # fmt: skip
    assert selected["row_index"] == best and selected["kind"] == [edits[i]["kind"] for i in best]
    assert isinstance(selected[0]["src"], Image.Image)
    assert (tmp_path / "errors.jsonl").read_text() == ""


def test_a_killed_run_resumes_scoring_only_the_rows_not_written(saved_model_dir, edits_dir, tmp_path):
    """A subprocess is killed (SIGKILL) right after its first shard is written; the rerun scores the other rows."""
    script = textwrap.dedent(f"""
        import os, signal
        from editreward.curation import SelectionRule, curate
        curate({str(saved_model_dir)!r}, {str(edits_dir)!r}, {str(tmp_path)!r}, SelectionRule(top_k=3),
               columns={COLUMNS!r}, batch_size=4, shard_size=4, progress=False, plots=False,
               after_shard=lambda i: os.kill(os.getpid(), signal.SIGKILL))
    """)
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr
    assert [p.name for p in (tmp_path / "scores").iterdir()] == ["scores-0000000000-0000000004.parquet"]
    first = (tmp_path / "scores" / "scores-0000000000-0000000004.parquet").stat().st_mtime_ns

    written = []
    result = curate(str(saved_model_dir), str(edits_dir), tmp_path, SelectionRule(top_k=3), columns=COLUMNS,
                    batch_size=4, shard_size=4, progress=False, plots=False, after_shard=written.append)  # fmt: skip
    assert result.rows_scored_now == 8 and written == [0, 1]
    assert (tmp_path / "scores" / "scores-0000000000-0000000004.parquet").stat().st_mtime_ns == first
    assert result.scores["row_index"].tolist() == list(range(12))
    assert not np.isnan(result.scores["score"]).any()

    again = curate(str(saved_model_dir), str(edits_dir), tmp_path, SelectionRule(top_k=3), columns=COLUMNS,
                   progress=False, plots=False)  # fmt: skip
    assert again.rows_scored_now == 0 and again.selection.rows.tolist() == result.selection.rows.tolist()


def test_an_interrupted_run_leaves_whole_shards_and_resumes(saved_model_dir, edits_dir, scorer_scores, tmp_path):
    def stop_after_two(number):
        if number == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        curate(str(saved_model_dir), str(edits_dir), tmp_path, SelectionRule(top_k=3), columns=COLUMNS,
               shard_size=3, progress=False, plots=False, after_shard=stop_after_two)  # fmt: skip
    assert len(list((tmp_path / "scores").glob("*.parquet"))) == 2
    result = curate(str(saved_model_dir), str(edits_dir), tmp_path, SelectionRule(top_k=3), columns=COLUMNS,
                    shard_size=3, progress=False, plots=False)  # fmt: skip
    assert result.rows_scored_now == 6
    np.testing.assert_allclose(result.scores["score"], scorer_scores.score, rtol=1e-4, atol=1e-5)


def test_the_report_names_a_data_folder_given_as_a_path(saved_model_dir, edits_dir, tmp_path):
    """A `pathlib.Path` was loaded but stated as null in report.json and as `None` in the dataset card."""
    result = curate(saved_model_dir, edits_dir, tmp_path, SelectionRule(top_k=1), columns=COLUMNS, progress=False,
                    plots=False)  # fmt: skip
    assert result.report["data"] == json.loads((tmp_path / "report.json").read_text())["data"] == str(edits_dir)


def test_shards_of_another_model_or_data_set_are_refused_by_name(saved_model_dir, make_model, processor, edits,
                                                                  edits_dir, tmp_path):  # fmt: skip
    curate(str(saved_model_dir), str(edits_dir), tmp_path / "out", SelectionRule(top_k=2), columns=COLUMNS,
           progress=False, plots=False)  # fmt: skip
    other = tmp_path / "other-model"
    make_model(seed=7).save_pretrained(other)
    processor.save_pretrained(other)
    with pytest.raises(ValueError, match=r"scores-0000000000-0000000012\.parquet: written for another model"):
        curate(str(other), str(edits_dir), tmp_path / "out", SelectionRule(top_k=2), columns=COLUMNS, progress=False,
               plots=False)  # fmt: skip
    changed = edits.map(lambda row: {"prompt": row["prompt"] + "!"})
    with pytest.raises(ValueError, match=r"scores-0000000000-0000000012\.parquet: written for another data set"):
        curate(str(saved_model_dir), changed, tmp_path / "out", SelectionRule(top_k=2), columns=COLUMNS,
               progress=False, plots=False)  # fmt: skip


@pytest.fixture(scope="module")
def bad_rows(edits):
    """The edits with row 2's edited image corrupt bytes and row 5's instruction empty."""
    import datasets

    table = edits.cast_column("out", datasets.Image(decode=False))
    rows = table.to_list()
    rows[2]["out"] = {"bytes": b"\x89PNG not really", "path": None}
    rows[5]["prompt"] = "  "
    return datasets.Dataset.from_list(rows, features=edits.features)


def test_a_bad_row_is_refused_with_its_row_and_column(saved_model_dir, bad_rows, tmp_path):
    with pytest.raises(ValueError, match=r"row 2, column 'out': the image bytes cannot be decoded.*--on-error skip"):
        curate(str(saved_model_dir), bad_rows, tmp_path, SelectionRule(top_k=2), columns=COLUMNS, progress=False,
               plots=False)  # fmt: skip


def test_skipped_bad_rows_are_counted_and_written_with_the_reason(saved_model_dir, bad_rows, tmp_path):
    result = curate(str(saved_model_dir), bad_rows, tmp_path, SelectionRule(top_fraction=1.0), columns=COLUMNS,
                    on_error="skip", progress=False, plots=False)  # fmt: skip
    errors = [json.loads(line) for line in (tmp_path / "errors.jsonl").read_text().splitlines()]
    assert [(e["row"], e["column"]) for e in errors] == [(2, "out"), (5, "prompt")]
    assert "cannot be decoded" in errors[0]["reason"] and "instruction is empty" in errors[1]["reason"]
    assert result.selection.counts["not_scored"] == 2 and result.selection.counts["selected"] == 10
    assert 2 not in result.selection.rows and 5 not in result.selection.rows


def test_data_files_with_image_paths_load_with_mapped_columns(photos, tmp_path):
    import datasets

    for name in ("coffee", "rocket"):
        photos[name].save(tmp_path / f"{name}.png")
    rows = [{"before": str(tmp_path / "coffee.png"), "text": "brighten it", "after": str(tmp_path / "rocket.png")}]
    datasets.Dataset.from_list(rows).to_json(str(tmp_path / "edits.jsonl"))
    data = load_data(str(tmp_path / "edits.jsonl"))
    assert data["before"] == [str(tmp_path / "coffee.png")]
    with pytest.raises(ValueError, match=r"no column source=source, instruction=instruction, edited=edited .*--columns"):
        ColumnMap().check(data.column_names)
    with pytest.raises(ValueError, match=r"--columns item 'picture=before'"):
        ColumnMap.parse("picture=before")
    assert ColumnMap.parse("source=before, instruction=text,edited=after") == ColumnMap("before", "text", "after")


def test_paths_and_bytes_cells_score_like_decoded_images(saved_model_dir, photos, scorer_scores, edits, tmp_path):
    import io

    import datasets

    photos["astronaut"].save(tmp_path / "a.png")
    buffer = io.BytesIO()
    edits[0]["out"].save(buffer, format="PNG")
    data = datasets.Dataset.from_list([{"source": str(tmp_path / "a.png"), "instruction": edits[0]["prompt"],
                                        "edited": buffer.getvalue()}])  # fmt: skip
    result = curate(str(saved_model_dir), data, tmp_path / "out", SelectionRule(top_k=1), progress=False,
                    plots=False)  # fmt: skip
    np.testing.assert_allclose(result.scores["score"], scorer_scores.score[:1], rtol=1e-4, atol=1e-5)


def test_the_command_writes_the_selection_report_and_plots(saved_model_dir, edits_dir, run_command, tmp_path):
    import datasets

    out = tmp_path / "out"
    assert run_command(["curate", "--model", str(saved_model_dir), "--data", str(edits_dir), "--columns", COLUMNS,
                        "--output-dir", str(out), "--top-fraction", "0.5", "--lower-bound", "1",
                        "--min", "visual_quality=-100", "--group-by", "photo", "--best-of-n", "2"]) == 0  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert report["counts"] == {"rows": 12, "scored": 12, "not_scored": 0, "after_minimums": 12, "groups": 4,
                                "candidates": 8, "selected": 4}  # fmt: skip
    assert report["rule"] == ("top 0.5 of the candidates by score mu - 1 sigma; visual_quality mu >= -100; "
                              "best 2 of each group of equal photo")  # fmt: skip
    low, high = report["quantiles"]["all"]["score"]["q0"], report["quantiles"]["all"]["score"]["q100"]
    assert low <= report["quantiles"]["selected"]["score"]["q50"] <= high
    assert "| selected | 4 |" in (out / "report.md").read_text()
    for name in ("histograms.png", "mu_sigma.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    selected = datasets.load_from_disk(str(out / "selected"))
    assert len(selected) == 4 and all(selected.to_pandas().groupby("photo").size() <= 2)


def test_push_to_hub_uploads_the_card_then_the_rows(saved_model_dir, edits_dir, monkeypatch, tmp_path):
    import datasets
    from huggingface_hub import DatasetCard, HfApi

    calls = []
    monkeypatch.setattr(HfApi, "create_repo", lambda self, repo_id, **kw: calls.append(("repo", repo_id, kw)))
    monkeypatch.setattr(HfApi, "upload_file", lambda self, **kw: calls.append(("card", kw)))
    monkeypatch.setattr(datasets.Dataset, "push_to_hub", lambda self, repo_id, **kw: calls.append(("rows", self)))
    result = curate(str(saved_model_dir), str(edits_dir), tmp_path, SelectionRule(top_k=3, by="visual_quality"),
                    columns=COLUMNS, progress=False, plots=False, push_to_hub="me/edits-top3")  # fmt: skip
    assert [c[0] for c in calls] == ["repo", "card", "rows"]
    assert calls[0][1] == "me/edits-top3" and calls[0][2]["repo_type"] == "dataset"
    card = DatasetCard(calls[1][1]["path_or_fileobj"].decode())
    assert calls[1][1]["path_in_repo"] == "README.md" and calls[1][1]["repo_type"] == "dataset"
    assert "editreward" in card.data.tags
    assert str(saved_model_dir) in card.text and result.model_fingerprint in card.text
    assert "top 3 by visual_quality" in card.text and "| selected | 3 |" in card.text
    assert f"{result.report['quantiles']['selected']['visual_quality_mu']['q50']:+.3f}" in card.text
    assert calls[2][1]["row_index"] == result.selection.rows.tolist()


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance with two CPUs, as a small machine has."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_the_ray_engine_writes_the_local_engines_shards_and_selection(saved_model_dir, bad_rows, local_ray, tmp_path):
    rule = SelectionRule(top_k=4, group_by=["photo"], best_of_n=2)
    runs = {engine: curate(str(saved_model_dir), bad_rows, tmp_path / engine, rule, columns=COLUMNS, engine=engine,
                           batch_size=2, shard_size=5, on_error="skip", progress=False, plots=False)
            for engine in ("local", "ray")}  # fmt: skip
    local, ray = runs["local"], runs["ray"]
    assert ray.rows_scored_now == 12
    assert sorted(p.name for p in (tmp_path / "ray" / "scores").iterdir()) == sorted(
        p.name for p in (tmp_path / "local" / "scores").iterdir())
    np.testing.assert_allclose(ray.scores["score"], local.scores["score"], rtol=1e-5, atol=1e-6)
    assert ray.selection.rows.tolist() == local.selection.rows.tolist() and len(local.selection.rows) == 4
    assert (tmp_path / "ray" / "errors.jsonl").read_text() == (tmp_path / "local" / "errors.jsonl").read_text() != ""
    with pytest.raises(ValueError, match=r"row 2, column 'out'"):
        curate(str(saved_model_dir), bad_rows, tmp_path / "raised", rule, columns=COLUMNS, engine="ray",
               progress=False, plots=False)  # fmt: skip
