"""Score the example triplet with the saved folder, through transformers' Auto classes and the folder's own code.

The quickstart copies this script into its example folder and runs it in a fresh Python process, so that nothing of
the training process carries over: what it prints is what a user of the saved folder gets.

Usage: python score_example.py MODEL_DIR EXAMPLE_DIR
"""

import sys
from pathlib import Path

import torch
from PIL import Image
from transformers import AutoModel, AutoProcessor


def main(model_dir: str, example: Path) -> None:
    model = AutoModel.from_pretrained(model_dir, trust_remote_code=True).eval()
    processor = AutoProcessor.from_pretrained(model_dir, trust_remote_code=True)
    instruction = (example / "instruction.txt").read_text().strip()
    source = Image.open(example / "source.png")
    edits = {"chosen": Image.open(example / "chosen.png"), "rejected": Image.open(example / "rejected.png")}
    with torch.no_grad():
        out = model(**processor([source] * len(edits), [instruction] * len(edits), list(edits.values())))
    print(f"model class: {type(model).__module__}.{type(model).__name__}")
    print(f"instruction: {instruction!r}")
    for i, name in enumerate(edits):
        parts = ", ".join(f"{d} mu {out.mu[i, j]:+.3f} sigma {out.sigma[i, j]:.3f}"
                          for j, d in enumerate(model.config.dimensions))  # fmt: skip
        print(f"{name:>8}: score {out.score[i]:+.3f} (sigma {out.score_log_sigma[i].exp():.3f}); {parts}")
    winner = max(range(len(edits)), key=lambda i: out.score[i])
    print(f"preferred: {list(edits)[winner]}")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
