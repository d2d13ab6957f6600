"""Several processes: `accelerate launch --multi_gpu --num_processes 2` with `--use_cpu true` (DDP over gloo on CPU)
runs the example training script."""

import os
import subprocess
import sys
from pathlib import Path

import datasets
import psutil
import pytest
import torch
from transformers import AutoModel

from editreward.trainer import pair_features

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "train.py"
TIMEOUT_S = 240


def run_killing_on_timeout(command: list[str], env: dict) -> subprocess.CompletedProcess:
    """Run `command`; past TIMEOUT_S kill it and every process it started (the launcher puts its workers in sessions
    of their own), and fail."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as process:
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            for child in psutil.Process(process.pid).children(recursive=True):
                child.kill()
            process.kill()
            stdout, stderr = process.communicate()
            pytest.fail(f"training hung for {TIMEOUT_S} s (a collective made on some ranks only?):\n{stderr[-4000:]}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def test_two_process_ddp_training_with_a_rank_holding_only_a_tie(
    make_short_model, short_processor, instruction_pairs, photos, tmp_path
):
    model_dir, data_dir, out_dir = tmp_path / "model", tmp_path / "pairs", tmp_path / "out"
    make_short_model().save_pretrained(model_dir)
    short_processor.save_pretrained(model_dir)
    # Two ranked rows and one by_dimension tie row (no ranked pair): with one row per process, some step gives one
    # process only the tie, whatever the shuffle, while the other holds a ranked pair.
    p = photos["coffee"]
    tie = dict(source=p, instruction="blur it", chosen=p.rotate(90), rejected=p.rotate(180),
               chosen_scores=[4, 2], rejected_scores=[2, 4], tie=True)
    rows = instruction_pairs(["astronaut"]).to_list() + [tie]
    datasets.Dataset.from_list(rows, features=pair_features()).save_to_disk(data_dir)
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", str(EXAMPLE),
        "--model", str(model_dir), "--train_data", str(data_dir), "--output_dir", str(out_dir),
        "--max_steps", "2", "--per_device_train_batch_size", "1", "--learning_rate", "1e-3",
        "--tie_mode", "by_dimension", "--logging_steps", "1", "--report_to", "none", "--save_strategy", "no",
        "--gradient_checkpointing", "false", "--use_cpu", "true",
    ]
    result = run_killing_on_timeout(command, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-4000:]
    assert "trained on 2 process(es) for 2 steps" in result.stdout
    trained = AutoModel.from_pretrained(out_dir, trust_remote_code=True, dtype=torch.float32)
    initial = AutoModel.from_pretrained(model_dir, trust_remote_code=True, dtype=torch.float32)
    assert not torch.equal(trained.heads["visual_quality"][0].weight, initial.heads["visual_quality"][0].weight)
