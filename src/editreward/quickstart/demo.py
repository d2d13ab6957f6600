"""The quickstart's demo: one held-out triplet written as files, scored with the saved folder in a fresh process by
`score_example.py` (shipped beside this module and copied into the example folder)."""

import os
import shlex
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

DEMO_SCRIPT = "score_example.py"


def write_example(split, example_dir: Path, index: int | None = None) -> Path:
    """One held-out triplet as PNG files plus its instruction, and the script that scores it."""
    if index is None:  # the first right-versus-wrong-edit pair: the one that needs the instruction
        index = next((i for i, r in enumerate(split["rejection"]) if r == "wrong_edit"), 0)
    row = split[index]
    example_dir.mkdir(parents=True, exist_ok=True)
    for name in ("source", "chosen", "rejected"):
        row[name].save(example_dir / f"{name}.png")
    (example_dir / "instruction.txt").write_text(row["instruction"] + "\n", encoding="utf-8")
    with resources.as_file(resources.files(__package__) / DEMO_SCRIPT) as script:
        shutil.copyfile(script, example_dir / DEMO_SCRIPT)
    return example_dir


def score_in_fresh_process(model_dir: Path, example_dir: Path, timeout: float = 300) -> str:
    """Run the example's script in a new Python process (nothing of this one carries over); returns its output."""
    command = [sys.executable, str(example_dir / DEMO_SCRIPT), str(model_dir), str(example_dir)]
    print("$ " + " ".join(command[1:]))
    rerun = f"the model folder {model_dir} is saved; rerun the demo by hand with: {shlex.join(command)}"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env={**os.environ})
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"scoring in a fresh process timed out after {timeout:g} s; {rerun}") from None
    if done.returncode != 0:
        raise RuntimeError(f"scoring in a fresh process failed (exit {done.returncode}); {rerun}\n"
                           f"{done.stderr[-3000:]}")  # fmt: skip
    return done.stdout.rstrip()
