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
