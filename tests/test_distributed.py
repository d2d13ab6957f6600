"""Several processes: `accelerate launch --multi_gpu --num_processes 2` with `--use_cpu true` (DDP over gloo on CPU)
runs the example training script."""

import os
import subprocess
import sys
from pathlib import Path

import torch
from transformers import AutoModel

from test_trainer import PIXELS, SHORT_PROMPTS, instruction_pairs

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "train.py"


def test_two_process_ddp_training(make_model, make_processor, photos, tmp_path):
    model_dir, data_dir, out_dir = tmp_path / "model", tmp_path / "pairs", tmp_path / "out"
    make_model(rubric_prompts=SHORT_PROMPTS, image_pixels=PIXELS).save_pretrained(model_dir)
    make_processor(pixels=PIXELS, rubric_prompts=SHORT_PROMPTS).save_pretrained(model_dir)
    instruction_pairs(photos, ["astronaut", "coffee"]).save_to_disk(data_dir)
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", str(EXAMPLE),
        "--model", str(model_dir), "--train_data", str(data_dir), "--output_dir", str(out_dir),
        "--max_steps", "2", "--per_device_train_batch_size", "2", "--learning_rate", "1e-3",
        "--report_to", "none", "--save_strategy", "no", "--gradient_checkpointing", "false", "--use_cpu", "true",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "trained on 2 process(es) for 2 steps" in result.stdout
    trained = AutoModel.from_pretrained(out_dir, trust_remote_code=True, dtype=torch.float32)
    initial = AutoModel.from_pretrained(model_dir, trust_remote_code=True, dtype=torch.float32)
    assert not torch.equal(trained.heads["visual_quality"][0].weight, initial.heads["visual_quality"][0].weight)
