"""`editreward card`: write a saved model folder's model card (README.md) from its config.json and a results.json."""

import json
from pathlib import Path


def register(subparsers):
    card = subparsers.add_parser("card", help="write the model card (README.md) of a saved model folder")
    card.add_argument("--model", required=True, help="saved model folder")
    card.add_argument("--results", help="results.json of the evaluation (format: editreward.evaluate_metrics.results; "
                      "default: MODEL/results.json, else the existing card's evaluation)")
    card.add_argument("--out", help="where to write the card (default: MODEL/README.md)")
    card.add_argument("--model-name", help="name in the card and model-index, e.g. the Hub repo id ORG/NAME (default: "
                      "the existing card's, else the folder's name)")
    card.add_argument("--base-model", help="Hub id of the backbone, e.g. Qwen/Qwen2.5-VL-7B-Instruct (default: the "
                      "existing card's)")
    card.add_argument("--license", help="license id (default: the existing card's, else apache-2.0)")
    card.add_argument("--dataset", dest="datasets", action="append", help="training dataset Hub id (repeatable)")
    card.add_argument("--training", help='JSON file: {"data": "...", "datasets": [...], <recipe setting>: value} '
                      "(default: MODEL/training_facts.json, which the trainer and the quickstart write, else the "
                      "existing card's training sections)")
    card.set_defaults(handler=run)
    return card


def run(args) -> int:
    from ..hub_card.model_card import existing_card_facts, render_model_card

    training = json.loads(Path(args.training).read_text(encoding="utf-8")) if args.training else None
    out = Path(args.out or Path(args.model) / "README.md")
    kept = existing_card_facts(Path(args.model) / "README.md")  # what the card held stays unless given anew
    given = {"license": args.license, "base_model": args.base_model}
    facts = {"license": "apache-2.0", **{key: kept[key] for key in ("license", "base_model", "origin") if key in kept},
             **{key: value for key, value in given.items() if value}}  # fmt: skip
    card = render_model_card(args.model, args.results, model_name=args.model_name, datasets=args.datasets,
                             training=training, kept=kept, **facts)  # fmt: skip
    card.save(out)
    print(f"Wrote {out} ({len(card.data.eval_results or [])} evaluation results in model-index)")
    return 0
