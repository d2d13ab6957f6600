"""The example training script as a user runs it: one process (resuming, a DatasetDict folder) and several
(`accelerate launch --multi_gpu --num_processes 2` with `--use_cpu true`: DDP over gloo on CPU)."""

import json
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


@pytest.fixture
def script_model_dir(make_short_model, short_processor, tmp_path):
    model_dir = tmp_path / "model"
    make_short_model().save_pretrained(model_dir)
    short_processor.save_pretrained(model_dir)
    return model_dir


def run_script(model_dir, data_dir, out_dir, *options) -> subprocess.CompletedProcess:
    command = [sys.executable, str(EXAMPLE), "--model", str(model_dir), "--train_data", str(data_dir),
               "--output_dir", str(out_dir), "--per_device_train_batch_size", "1", "--learning_rate", "1e-3",
               "--logging_steps", "1", "--report_to", "none", "--save_steps", "2", "--use_cpu", "true", *options]
    return run_killing_on_timeout(command, env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_the_script_resumes_from_a_checkpoint_at_its_step(script_model_dir, instruction_pairs, tmp_path):
    data_dir = tmp_path / "pairs"
    datasets.DatasetDict(train=instruction_pairs(["astronaut", "coffee"]),
                         test=instruction_pairs(["rocket"])).save_to_disk(data_dir)
    first = run_script(script_model_dir, data_dir, tmp_path / "first", "--train_split", "train", "--max_steps", "2")
    assert first.returncode == 0, first.stderr[-4000:]
    checkpoint = tmp_path / "first" / "checkpoint-2"
    resumed = run_script(script_model_dir, data_dir, tmp_path / "resumed", "--train_split", "train",
                         "--max_steps", "4", "--resume_from_checkpoint", str(checkpoint))
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    assert "trained on 1 process(es) for 4 steps" in resumed.stdout
    # Steps 1-2 came from the checkpoint: the resumed run saved only step 4 (a fresh run would save step 2 again).
    assert sorted(path.name for path in (tmp_path / "resumed").glob("checkpoint-*")) == ["checkpoint-4"]
    state = json.loads((tmp_path / "resumed" / "checkpoint-4" / "trainer_state.json").read_text())
    before = json.loads((checkpoint / "trainer_state.json").read_text())["log_history"]
    assert state["global_step"] == 4 and state["log_history"][:2] == before


def test_the_script_names_the_splits_of_a_dataset_dict_folder(script_model_dir, instruction_pairs, tmp_path):
    data_dir = tmp_path / "pairs"
    datasets.DatasetDict(train=instruction_pairs(["coffee"]), test=instruction_pairs(["rocket"])).save_to_disk(data_dir)
    result = run_script(script_model_dir, data_dir, tmp_path / "out", "--max_steps", "1")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"train.py: error: --train_data {data_dir} is a DatasetDict with splits ['train', 'test']. Fix: add "
        f"--train_split train (or pass the split's folder, {data_dir}/train)."
    )
