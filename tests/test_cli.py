"""The CLI's faces: a user's mistake or an interruption ends in one line naming the problem and the fix."""

import pytest
import torch

from editreward import cli


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_on_a_machine_without_it_is_one_line(saved_model_dir, capsys, device):
    code = cli.main(["score", "--model", str(saved_model_dir), "--device", device, "--source", "x.png",
                     "--instruction", "blur it", "--edited", "y.png"])  # fmt: skip
    error = capsys.readouterr().err
    assert code == 2
    assert error.count("\n") == 1 and f"--device {device!r}" in error and "use --device cpu" in error


def test_interrupting_evaluate_says_the_scores_are_kept_and_how_to_resume(saved_model_dir, capsys, monkeypatch,
                                                                          tmp_path):  # fmt: skip
    from editreward.evaluate_metrics import runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_benchmark", interrupted)
    code = cli.main(["evaluate", "--model", str(saved_model_dir), "--benchmark", "genai-bench", "--data",
                     str(tmp_path), "--output-dir", str(tmp_path / "out")])  # fmt: skip
    error = capsys.readouterr().err
    assert code == 130
    assert f"{tmp_path / 'out'}/scores-genai-bench.jsonl" in error and "run the same command again to resume" in error
    assert "Traceback" not in error


@pytest.fixture
def damaged_folder(saved_model_dir, tmp_path):
    import shutil

    return shutil.copytree(saved_model_dir, tmp_path / "model", ignore=shutil.ignore_patterns("*.png"))


def _truncate(folder):
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1000])


def _other_config(folder):
    import json

    config = json.loads((folder / "config.json").read_text())
    config["head_hidden_sizes"] = [size * 2 for size in config["head_hidden_sizes"]] or [8]
    (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("damage, problem", [
    (_truncate, "model.safetensors is truncated or padded: its header describes"),  # a raw safetensors error before
    (_other_config, "saved weights have another shape than config.json's model"),  # transformers' load report
    (lambda f: (f / "tokenizer.json").unlink(), "tokenizer.json is missing"),  # asked for preprocessor_config.json
    (lambda f: (f / "processor_config.json").unlink(), "processor_config.json is missing"),
])  # fmt: skip
@pytest.mark.parametrize("command", ["score", "evaluate"])
def test_a_folder_that_would_not_load_is_one_line_naming_the_file(damaged_folder, capsys, tmp_path, damage, problem,
                                                                  command):  # fmt: skip
    damage(damaged_folder)
    options = (["--source", "x.png", "--instruction", "blur it", "--edited", "y.png"] if command == "score" else
               ["--benchmark", "genai-bench", "--data", str(tmp_path), "--output-dir", str(tmp_path / "out")])
    code = cli.main([command, "--model", str(damaged_folder), "--device", "cpu", *options])
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1 and "Traceback" not in error
    assert error.startswith(f"editreward {command}: error: {damaged_folder} cannot be loaded: ") and problem in error
