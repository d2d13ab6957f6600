"""`editreward push`: check a saved model folder (weights, config, card) and upload it to the Hub."""

import sys
import warnings


def register(subparsers):
    push = subparsers.add_parser("push", help="check a saved model folder and upload it to the Hugging Face Hub")
    push.add_argument("--model", required=True, help="saved model folder (with its README.md card)")
    push.add_argument("--repo-id", required=True, help="Hub model repo, ORG/NAME")
    push.add_argument("--dry-run", action="store_true", help="check the folder and list what would go up; no upload")
    push.add_argument("--private", action="store_true", help="create the repo private")
    push.add_argument("--token", help="Hub token (default: the logged-in one or HF_TOKEN)")
    push.set_defaults(handler=run)
    return push


def run(args) -> int:
    from ..hub_card.publish import format_file_list, push_model_folder, trainer_leftovers

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = push_model_folder(args.model, args.repo_id, dry_run=args.dry_run, private=args.private,
                                       token=args.token)  # fmt: skip
    except Exception as error:  # `editreward` prints only the error's message: say what became of the repo
        for note in getattr(error, "__notes__", ()):
            print(note, file=sys.stderr)
        raise
    for warning in caught:
        print(f"Warning: {warning.message}", file=sys.stderr)
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
