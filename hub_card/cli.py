"""`editreward card` and `editreward push`; the `editreward` command adds them with `add_card_parser` and
`add_push_parser`. huggingface_hub is imported inside the handlers, so `--help` answers at once."""

import json
import sys
from pathlib import Path


def _card(args) -> int:
    from .model_card import existing_card_facts, render_model_card

    training = json.loads(Path(args.training).read_text(encoding="utf-8")) if args.training else None
    out = Path(args.out or Path(args.model) / "README.md")
    kept = existing_card_facts(Path(args.model) / "README.md")  # a converted model's licence, base and origin stay
    given = {"license": args.license, "base_model": args.base_model}
    facts = {"license": "apache-2.0", **kept, **{key: value for key, value in given.items() if value}}
    card = render_model_card(
        args.model, args.results, model_name=args.model_name, datasets=args.datasets, training=training, **facts
    )
    card.save(out)
    print(f"Wrote {out} ({len(card.data.eval_results or [])} evaluation results in model-index)")
    return 0


def _push(args) -> int:
    from .publish import format_file_list, push_model_folder, trainer_leftovers

    try:
        result = push_model_folder(args.model, args.repo_id, dry_run=args.dry_run, private=args.private,
                                   token=args.token)  # fmt: skip
    except Exception as error:  # `editreward` prints only the error's message: say what became of the repo
        for note in getattr(error, "__notes__", ()):
            print(note, file=sys.stderr)
        raise
    left_out = trainer_leftovers(args.model)
    if left_out:
        shown = ", ".join(left_out[:8]) + (f" and {len(left_out) - 8} more" if len(left_out) > 8 else "")
        print(f"Left out {len(left_out)} trainer leftovers (not part of the model): {shown}")
    if args.dry_run:
        print(f"Dry run: {args.model} is complete; {len(result)} files would go up to {args.repo_id}:")
        print(format_file_list(result))
    else:
        print(f"Uploaded {args.model} to {args.repo_id}: {result.commit_url}")
    return 0


def add_card_parser(subparsers):
    """Add `card`: write a model folder's model card from its config.json and a results.json."""
    card = subparsers.add_parser("card", help="write the model card (README.md) of a saved model folder")
    card.add_argument("--model", required=True, help="saved model folder")
    card.add_argument("--results", help="results.json of the evaluation (format: editreward.hub_card.model_card)")
    card.add_argument("--out", help="where to write the card (default: MODEL/README.md)")
    card.add_argument("--model-name", help="name in the card and model-index, e.g. the Hub repo id ORG/NAME")
    card.add_argument("--base-model", help="Hub id of the backbone, e.g. Qwen/Qwen2.5-VL-7B-Instruct (default: the "
                      "existing card's)")
    card.add_argument("--license", help="license id (default: the existing card's, else apache-2.0)")
    card.add_argument("--dataset", dest="datasets", action="append", help="training dataset Hub id (repeatable)")
    card.add_argument("--training", help='JSON file: {"data": "...", "datasets": [...], <recipe setting>: value}')
    card.set_defaults(handler=_card)
    return card


def add_push_parser(subparsers):
    """Add `push`: check a model folder and upload it to the Hub."""
    push = subparsers.add_parser("push", help="check a saved model folder and upload it to the Hugging Face Hub")
    push.add_argument("--model", required=True, help="saved model folder (with its README.md card)")
    push.add_argument("--repo-id", required=True, help="Hub model repo, ORG/NAME")
    push.add_argument("--dry-run", action="store_true", help="check the folder and list what would go up; no upload")
    push.add_argument("--private", action="store_true", help="create the repo private")
    push.add_argument("--token", help="Hub token (default: the logged-in one or HF_TOKEN)")
    push.set_defaults(handler=_push)
    return push
