"""A saved folder loads through the Auto classes: in a fresh process without editreward (remote code), and in-process."""

import json
import os
import subprocess
import sys

import torch

LOAD_WITHOUT_PACKAGE = """
import sys, torch
sys.modules["editreward"] = None  # the package cannot be imported: only the folder's code files can serve
from transformers import AutoModel, AutoProcessor
model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True, dtype=torch.float32).eval()
processor = AutoProcessor.from_pretrained(sys.argv[1], trust_remote_code=True)
assert type(model).__module__.startswith("transformers_modules."), type(model).__module__
assert type(processor).__module__.startswith("transformers_modules."), type(processor).__module__
from PIL import Image
src, a, b = (Image.open(f"{sys.argv[1]}/{n}.png") for n in ("src", "a", "b"))
with torch.no_grad():
    out = model(**processor(source_images=[src, src], instructions=["mirror it"] * 2, edited_images=[a, b]))
torch.save({"mu": out.mu, "log_sigma": out.log_sigma, "score": out.score}, sys.argv[2])
"""


def modules_remote_code_needs(package_dir, modules):
    """The model room's modules that `modules` import relatively, transitively (ast, not a hand-kept list)."""
    import ast

    needed, pending = set(), list(modules)
    while pending:
        module = pending.pop()
        if module in needed:
            continue
        needed.add(module)
        tree = ast.parse((package_dir / f"{module}.py").read_text(encoding="utf-8"))
        pending += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1]
    return {f"{module}.py" for module in needed}


def test_saved_folder_is_complete(saved_model_dir):
    from pathlib import Path

    import editreward.modeling_editreward as room

    files = set(os.listdir(saved_model_dir))
    code = modules_remote_code_needs(Path(room.__file__).parent,
                                     ["configuration_editreward", "modeling_editreward", "processing_editreward"])
    assert {"packing_editreward.py", "images_editreward.py", "prompts_editreward.py"} <= code  # the walk works
    assert {"config.json", "model.safetensors", "processor_config.json", "tokenizer.json", "chat_template.jinja",
            *code} <= files
    config = json.loads((saved_model_dir / "config.json").read_text())
    assert config["auto_map"] == {"AutoConfig": "configuration_editreward.EditRewardConfig",
                                  "AutoModel": "modeling_editreward.EditRewardModel"}
    processor_config = json.loads((saved_model_dir / "processor_config.json").read_text())
    assert processor_config["auto_map"] == {"AutoProcessor": "processing_editreward.EditRewardProcessor"}
    assert config["id2label"] == {"0": "LABEL_0"} and config["reward_token_id"] == 151665  # num_labels = 1


def test_remote_code_in_a_fresh_process_gives_the_same_scores(saved_model_dir, photos, tmp_path):
    from PIL import Image

    from editreward import EditRewardModel, EditRewardProcessor

    src = photos["chelsea"]
    edits = [src.transpose(Image.Transpose.FLIP_LEFT_RIGHT), src.rotate(90)]
    for name, image in zip(("src", "a", "b"), [src, *edits]):
        image.save(saved_model_dir / f"{name}.png")
    result = tmp_path / "scores.pt"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", LOAD_WITHOUT_PACKAGE, str(saved_model_dir), str(result)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    remote = torch.load(result)

    model = EditRewardModel.from_pretrained(saved_model_dir, dtype=torch.float32).eval()
    processor = EditRewardProcessor.from_pretrained(saved_model_dir)
    reloaded = [Image.open(saved_model_dir / f"{n}.png") for n in ("src", "a", "b")]
    with torch.no_grad():
        local = model(**processor([reloaded[0]] * 2, ["mirror it"] * 2, reloaded[1:]))
    torch.testing.assert_close(remote["mu"], local.mu)
    torch.testing.assert_close(remote["score"], local.score)


def test_auto_classes_work_in_process_without_remote_code(saved_model_dir):
    from transformers import AutoModel, AutoProcessor

    from editreward import EditRewardModel, EditRewardProcessor

    assert isinstance(AutoModel.from_pretrained(saved_model_dir), EditRewardModel)
    assert isinstance(AutoProcessor.from_pretrained(saved_model_dir), EditRewardProcessor)
