"""The quickstart: the package's whole job, offline and small, in one call (`editreward quickstart`).

1. builds the edit-preference data set from real photos (`edit_dataset`) and saves it;
2. trains a small EditReward model from random initialisation (a small Qwen2.5-VL, the real Qwen2.5 tokenizer)
   with `EditRewardTrainer` for a fixed number of steps, so that a seed gives the same model on any machine;
3. evaluates it on the held-out photos with `evaluate.load("editreward_accuracy")`, overall, per edit family and
   per kind of rejected edit, and prints the table, then each dimension's estimated score per kind of edit beside
   the human score (what the model learned, and what it did not);
4. saves a Hub-ready folder (weights, config, processor, code files, results.json, model card) and scores a held-out
   triplet with it in a fresh Python process through `AutoModel.from_pretrained(folder, trust_remote_code=True)`.

Output layout, under ``output_dir``::

    dataset/            the data set (`DatasetDict.save_to_disk`)
    model/              the Hub-ready folder: model.safetensors, config.json, processor files, *_editreward.py,
                        results.json, results.md, README.md
    example/            one held-out triplet (source.png, chosen.png, rejected.png, instruction.txt) and
                        score_example.py, the script the fresh process runs
    trainer/            the Trainer's output directory (logs; no checkpoints are kept)

The steps live in their own modules: `recipe` (the settings, the one place they live), `training`, `evaluation`,
`report` (the printed tables), `hub_folder` (results.json and the model card) and `demo` (the fresh process).
"""

import importlib.util
import inspect
import time
from pathlib import Path

from ..utils.environment import use_offline_environment
from .demo import score_in_fresh_process, write_example
from .evaluation import evaluate_pairs, human_scale_center, score_pairs, scores_by_kind
from .hub_folder import describe_device, results_json, save_hub_folder, training_card_section
from .recipe import DATA_RECIPE, FAST_TRAINING, MODEL_RECIPE, TRAINING_RECIPE
from .report import closing_note, format_scores_by_kind, format_table
from .training import build_model, describe_model, train


def run_quickstart(output_dir, *, fast: bool = False, seed: int = 0, dataset_options: dict | None = None,
                   training_overrides: dict | None = None, progress: bool = True,
                   family: str = "qwen2_5_vl", input_format: str = "per_dimension") -> dict:  # fmt: skip
    """Run the four steps and return a summary: paths, the evaluation, the table, the demo's output, timings.

    Args:
        output_dir: where the data set, the model folder and the example go (created if missing).
        fast: small data (`FAST_OPTIONS`) and a few training steps, for tests; the same code path.
        seed: fixes the data set, the initial weights and the data order.
        dataset_options: overrides of `build_edit_dataset`'s arguments.
        training_overrides: overrides of `TRAINING_RECIPE` (or `FAST_TRAINING`).
        progress: show the Trainer's progress bar (with the time left).
        family: the backbone family, `qwen2_5_vl` or `qwen3_vl`.
        input_format: `per_dimension` (one row per dimension, as the released models) or `compact` (one row per
            triplet, one reward token per dimension).
    """
    require_quickstart_modules()
    use_offline_environment(overwrite=False)
    start = time.monotonic()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    timings = {}

    print(_heading("1/4 Building the edit-preference data set from real photos"))
    dataset, dataset_info = build_dataset(output_dir / "dataset", fast=fast, seed=seed, options=dataset_options)
    timings["data"] = time.monotonic() - start

    print(_heading("2/4 Training a small EditReward model from random initialisation"))
    model, processor = build_model(seed, {**MODEL_RECIPE, "input_format": input_format}, family=family)
    recipe = {**TRAINING_RECIPE, **(FAST_TRAINING if fast else {}), **(training_overrides or {})}
    print(describe_model(model))
    mark = time.monotonic()
    trained_steps = train(model, processor, dataset["train"], output_dir / "trainer", recipe, seed=seed,
                          progress=progress)  # fmt: skip
    timings["training"] = time.monotonic() - mark

    print(_heading("3/4 Evaluating on held-out photos never seen in training"))
    mark = time.monotonic()
    scores = score_pairs(model, processor, dataset["test"])
    evaluation = evaluate_pairs(dataset["test"], scores.score[0::2], scores.score[1::2])
    table = format_table(evaluation)
    print(table)
    center = human_scale_center(recipe)
    by_kind = scores_by_kind(dataset["test"], scores, center)
    print("\n" + format_scores_by_kind(by_kind, center))
    timings["evaluation"] = time.monotonic() - mark

    print(_heading("4/4 Saving a Hub-ready folder and scoring a held-out triplet in a fresh process"))
    mark = time.monotonic()
    model_dir = output_dir / "model"
    results = results_json(evaluation, model_dir, output_dir / "dataset")
    training = training_card_section(dataset_info, recipe, seed, timings["training"],
                                     device=describe_device(model.device), input_format=input_format)
    save_hub_folder(model, processor, model_dir, results, training)
    example_dir = write_example(dataset["test"], output_dir / "example")
    demo = score_in_fresh_process(model_dir, example_dir)
    print(demo)
    timings["saving_and_demo"] = time.monotonic() - mark
    timings["total"] = time.monotonic() - start

    print(_heading("Done"))
    print(closing_note(evaluation, timings, trained_steps, output_dir))
    return {
        "output_dir": str(output_dir), "model_dir": str(model_dir), "dataset_dir": str(output_dir / "dataset"),
        "evaluation": evaluation, "table": table, "demo": demo, "timings": timings, "trained_steps": trained_steps,
        "results": results, "scores_by_kind": by_kind,
    }  # fmt: skip


def require_quickstart_modules() -> None:
    """Name every module of the quickstart's extras that is not installed (the quickstart uses them all)."""
    from ..utils.extras import EXTRA_OF_MODULE, QUICKSTART_EXTRAS

    missing = [name for name, extra in EXTRA_OF_MODULE.items()
               if extra in QUICKSTART_EXTRAS and importlib.util.find_spec(name) is None]
    if missing:
        raise ModuleNotFoundError(f"the quickstart needs {', '.join(missing)}, not installed here: "
                                  'pip install "editreward[quickstart]"')  # fmt: skip


def _heading(text: str) -> str:
    return f"\n== {text} " + "=" * max(0, 100 - len(text))


def build_dataset(path: Path, *, fast: bool, seed: int, options: dict | None = None):
    """Build, save and describe the data set; returns it and a summary of how it was built."""
    from .edit_dataset import FAST_OPTIONS, build_edit_dataset, describe_dataset, save_edit_dataset

    options = {**(FAST_OPTIONS if fast else DATA_RECIPE), **(options or {}), "seed": seed}
    mark = time.monotonic()
    dataset = save_edit_dataset(str(path), **options)
    print(describe_dataset(dataset))
    print(f"saved to {path} in {time.monotonic() - mark:.0f} s")
    settings = {name: p.default for name, p in inspect.signature(build_edit_dataset).parameters.items()}
    settings.update(options)
    info = {
        "settings": settings, "train_rows": len(dataset["train"]), "test_rows": len(dataset["test"]),
        "train_sources": sorted(set(dataset["train"]["photo"])), "test_sources": sorted(set(dataset["test"]["photo"])),
        "families": sorted(set(dataset["train"]["family"])),
    }  # fmt: skip
    return dataset, info
