"""The one-call scorer and the `editreward score` command."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from editreward import EditRewardScorer
from editreward.cli import main


def test_scorer_matches_the_model_and_is_independent_of_batch_size(saved_model_dir, photos):
    src = photos["astronaut"]
    edits = [src.convert("L").convert("RGB"), src.transpose(Image.Transpose.FLIP_LEFT_RIGHT), photos["coffee"]]
    scorer = EditRewardScorer.from_pretrained(str(saved_model_dir), batch_size=2, device="cpu")
    scores = scorer.score_group(src, "make it black and white", edits)
    with torch.no_grad():
        out = scorer.model(**scorer.processor([src] * 3, ["make it black and white"] * 3, edits))
    np.testing.assert_allclose(scores.score, out.score.numpy(), atol=1e-5)
    np.testing.assert_allclose(scores.sigma, out.sigma.numpy(), atol=1e-5)
    scorer.batch_size = 3
    np.testing.assert_allclose(scorer.score_group(src, "make it black and white", edits).mu, scores.mu, atol=1e-5)
    record = scores.to_records()[0]
    assert set(record) == {"score", "score_sigma", "instruction_following_mu", "visual_quality_mu",
                           "instruction_following_sigma", "visual_quality_sigma"}


def test_scorer_refuses_a_processor_that_disagrees_with_the_model(make_model, make_processor):
    with pytest.raises(ValueError, match="disagree on image_pixels"):
        EditRewardScorer(make_model(), make_processor(pixels=56 * 56), device="cpu")


def test_scorer_refuses_an_image_processor_with_another_patch_size(make_model, tokenizer):
    from editreward import EditRewardProcessor
    from editreward.offline import image_processor, qwen25_vl_chat_template

    model = make_model()
    processor = EditRewardProcessor(image_processor=image_processor(model.config.image_pixels, patch_size=7),
                                    tokenizer=tokenizer, chat_template=qwen25_vl_chat_template(),
                                    image_pixels=model.config.image_pixels)
    with pytest.raises(ValueError, match="takes 14-pixel patches merged 2x2, but the image processor cuts 7-pixel ones"):
        EditRewardScorer(model, processor, device="cpu")


def test_cli_score_prints_a_ranked_table_and_json(saved_model_dir, photos, tmp_path, capsys):
    src = photos["rocket"]
    paths = {"src": src, "gray": src.convert("L").convert("RGB"), "mirror": src.transpose(Image.Transpose.FLIP_LEFT_RIGHT)}
    for name, image in paths.items():
        image.save(tmp_path / f"{name}.png")
    args = ["score", "--model", str(saved_model_dir), "--source", str(tmp_path / "src.png"),
            "--instruction", "make it black and white", "--edited", str(tmp_path / "gray.png"),
            "--edited", str(tmp_path / "mirror.png"), "--device", "cpu"]
    assert main(args) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["rank", "edited", "score", "instruction_following", "visual_quality"]
    assert [line.split()[0] for line in table[2:]] == ["1", "2"]
    assert main(args + ["--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["edited"] for r in records] == [str(tmp_path / "gray.png"), str(tmp_path / "mirror.png")]
    assert all(np.isfinite(r["score"]) and r["score_sigma"] > 0 for r in records)


def test_cli_reports_bad_input_without_a_traceback(saved_model_dir, tmp_path, capsys):
    code = main(["score", "--model", str(saved_model_dir), "--source", str(tmp_path / "nope.png"),
                 "--instruction", "x", "--edited", str(tmp_path / "nope2.png"), "--device", "cpu"])
    assert code == 2
    assert "no such image file" in capsys.readouterr().err


def test_cli_help_does_not_import_heavy_libraries():
    probe = "import sys; from editreward.cli import build_parser; build_parser().format_help(); " \
            "print(sorted(m for m in ('torch', 'transformers', 'trl', 'datasets', 'evaluate') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_scorer_loads_model_and_processor_with_the_same_hub_arguments(saved_model_dir, tmp_path, monkeypatch):
    from transformers import AutoModel, AutoProcessor

    seen = {}

    def recording(name, load):
        def record(*args, **kwargs):
            seen[name] = kwargs
            return load(*args, **kwargs)
        return record

    for name, auto in (("model", AutoModel), ("processor", AutoProcessor)):
        monkeypatch.setattr(auto, "from_pretrained", recording(name, auto.from_pretrained))
    hub = {"revision": "main", "local_files_only": True, "cache_dir": str(tmp_path)}
    EditRewardScorer.from_pretrained(str(saved_model_dir), device="cpu", attn_implementation="eager", **hub)
    assert hub.items() <= seen["model"].items() and hub.items() <= seen["processor"].items()
    assert seen["model"]["attn_implementation"] == "eager" and "attn_implementation" not in seen["processor"]


def test_scorer_uses_the_model_in_place_and_keeps_its_dtype_by_default(make_model, processor):
    model = make_model().to(torch.bfloat16).train()
    scorer = EditRewardScorer(model, processor, device="cpu")
    assert scorer.model is model and model.dtype == torch.bfloat16 and not model.training


def test_scorer_takes_a_single_triplet_and_refuses_empty_lists(make_model, processor, photos):
    scorer = EditRewardScorer(make_model(), processor, device="cpu")
    src, edit = photos["rocket"], photos["coffee"]
    single = scorer(src, "make it red", edit)
    np.testing.assert_allclose(single.score, scorer([src], ["make it red"], [edit]).score, atol=1e-6)
    with pytest.raises(ValueError, match="No triplets given"):
        scorer([], [], [])


def test_dtype_names_are_resolved_and_a_name_that_is_no_dtype_is_refused():
    from editreward.modeling_editreward.scoring import loading_device_and_dtype

    assert loading_device_and_dtype("cpu", "bfloat16") == (torch.device("cpu"), torch.bfloat16)
    assert loading_device_and_dtype("cpu") == (torch.device("cpu"), torch.float32)
    for name in ("bf16", "cat"):
        with pytest.raises(ValueError, match=f"dtype='{name}' is not a torch dtype"):
            loading_device_and_dtype("cpu", name)


def test_cli_score_offers_only_the_float_dtypes(saved_model_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["score", "--model", str(saved_model_dir), "--source", "a.png", "--instruction", "x", "--edited", "b.png",
              "--dtype", "bf16"])  # fmt: skip
    assert exit_info.value.code == 2
    assert "argument --dtype: invalid choice: 'bf16'" in capsys.readouterr().err


def test_cli_score_names_a_device_torch_does_not_know(saved_model_dir, capsys):
    code = main(["score", "--model", str(saved_model_dir), "--source", "a.png", "--instruction", "x",
                 "--edited", "b.png", "--device", "gpu"])  # fmt: skip
    assert code == 2
    assert "error: --device 'gpu': use cpu, cuda or cuda:N" in capsys.readouterr().err


MODEL_COMMANDS = {  # each command that takes --model, with its other required options
    "score": ["--source", "a.png", "--instruction", "x", "--edited", "b.png"],
    "evaluate": ["--benchmark", "genai-bench"],
    "card": [],
    "push": ["--repo-id", "org/name", "--dry-run"],
}


@pytest.mark.parametrize("command", MODEL_COMMANDS)
def test_cli_says_no_such_model_folder_for_a_path_that_is_no_folder(command, tmp_path, capsys):
    (tmp_path / "model.safetensors").touch()
    for model in (str(tmp_path / "missing"), str(tmp_path / "model.safetensors"), "./missing", "runs/a/b"):
        assert main([command, "--model", model, *MODEL_COMMANDS[command]]) == 2
        assert f"{command}: error: no such model folder: {model} (" in capsys.readouterr().err


def test_hub_ids_and_folders_pass_the_model_folder_check(saved_model_dir, monkeypatch):
    from editreward.utils.locations import resolve_model_location

    for model in ("TIGER-Lab/EditReward-Qwen2.5-VL-7B", "gpt2", str(saved_model_dir)):
        assert resolve_model_location(model) == model
    monkeypatch.setenv("HOME", str(saved_model_dir.parent))
    assert resolve_model_location(f"~/{saved_model_dir.name}") == str(saved_model_dir)  # ~ is expanded


def test_preference_probability_takes_the_scorers_numpy_floats_and_tensors_alike():
    from editreward import preference_probability

    mu_a, sigma_a, mu_b, sigma_b = np.float32(1.0), np.float32(0.5), np.float32(0.2), np.float32(0.8)
    as_tensor = preference_probability(*(torch.tensor(np.log(v) if i % 2 else v) for i, v in
                                         enumerate((mu_a, sigma_a, mu_b, sigma_b))))  # fmt: skip
    from_numpy = preference_probability(mu_a, np.log(sigma_a), mu_b, np.log(sigma_b))  # raised AttributeError before
    from_floats = preference_probability(1.0, float(np.log(0.5)), 0.2, float(np.log(0.8)))
    assert isinstance(as_tensor, torch.Tensor) and isinstance(from_floats, float) and isinstance(from_numpy, float)
    assert from_numpy == pytest.approx(as_tensor.item(), abs=1e-7) and from_floats == pytest.approx(from_numpy, abs=1e-7)
    assert 0.5 < from_floats < 1 / (1 + np.exp(-0.8))  # the uncertainty pulls it towards 1/2
    batch = preference_probability(np.array([1.0, -1.0]), np.zeros(2), np.zeros(2), np.zeros(2))
    assert isinstance(batch, np.ndarray) and batch.shape == (2,) and batch[0] == pytest.approx(1 - batch[1], abs=1e-6)


def test_edit_scores_compare_rank_index_and_tabulate_their_edits():
    from editreward import EditScores, preference_probability

    scores = EditScores(["instruction_following", "visual_quality"], score=np.array([0.1, 1.5, -0.4], np.float32),
                        score_sigma=np.array([0.5, 0.9, 0.3], np.float32),
                        mu=np.array([[0.2, 0.0], [1.0, 2.0], [-0.4, -0.4]], np.float32),
                        sigma=np.array([[0.5, 0.5], [1.0, 0.8], [0.3, 0.3]], np.float32))  # fmt: skip
    assert scores.best == 1 and scores.ranking() == [1, 0, 2] and scores.ranking(by="instruction_following") == [1, 0, 2]
    assert scores.ranking(by="visual_quality") == [1, 0, 2]
    p = scores.preference_probability(1, 0)
    assert p == pytest.approx(preference_probability(1.5, np.log(0.9), 0.1, np.log(0.5)), abs=1e-7)
    assert p + scores.preference_probability(0, 1) == pytest.approx(1.0, abs=1e-6)
    assert scores.preference_probability(0, 2, dimension="visual_quality") == pytest.approx(
        preference_probability(0.0, np.log(0.5), -0.4, np.log(0.3)), abs=1e-7)
    assert scores[1] == scores.to_records()[1] and scores[-1]["score"] == pytest.approx(-0.4)
    subset = scores[[2, 0]]
    assert isinstance(subset, EditScores) and subset.best == 1
    np.testing.assert_array_equal(subset.mu, scores.mu[[2, 0]])
    assert len(scores[1:]) == 2 and len(scores[scores.score > 0]) == 2
    frame = scores.to_pandas()
    assert frame["rank"].tolist() == [2, 1, 3] and frame["visual_quality_mu"].tolist() == pytest.approx([0, 2, -0.4])
    with pytest.raises(IndexError, match="edit 3 is out of range: these scores hold 3 edits"):
        scores[3]
    with pytest.raises(ValueError, match=r"dimension 'aesthetics' is unknown; this model scores \['instruction_foll"):
        scores.ranking(by="aesthetics")


def test_score_group_takes_one_image_as_a_group_of_one(make_model, processor, photos, tmp_path):
    scorer = EditRewardScorer(make_model(), processor, device="cpu")
    src, edit = photos["astronaut"], photos["coffee"]
    edit.save(tmp_path / "edit.png")
    expected = scorer.score_group(src, "make it a cup of coffee", [edit]).score
    for single in (edit, str(tmp_path / "edit.png"), np.asarray(edit)):  # raised TypeError (or scored each character)
        np.testing.assert_allclose(scorer.score_group(src, "make it a cup of coffee", single).score, expected, atol=1e-5)
    with pytest.raises(TypeError, match="edited_images is a generator; give a list of edited images"):
        scorer.score_group(src, "make it a cup of coffee", (image for image in [edit]))
