"""Check that a saved EditReward folder is complete, and upload it to the Hugging Face Hub."""

import ast
import json
import re
import warnings
from pathlib import Path

from .folder import weight_problems, weights_against_config

TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json")
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
CHAT_TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json")
# What a Trainer's output_dir holds besides the model: resume state and the evaluation runner's score caches.
TRAINER_LEFTOVERS = ["checkpoint-*/", "*optimizer.pt", "*scheduler.pt", "*rng_state*.pth", "*training_args.bin",
                     "*trainer_state.json", "*scores-*.jsonl"]  # fmt: skip
IGNORE_PATTERNS = ["*__pycache__*", "*.pyc", *TRAINER_LEFTOVERS]  # on top of huggingface_hub's (.git/, .cache/)
DEFAULT_COMMIT_MESSAGE = "Upload EditReward model"


def _read_json(path: Path, problems: list[str]) -> dict | None:
    if not path.is_file():
        problems.append(f"{path.name} is missing")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        problems.append(f"{path.name} is not valid JSON ({error})")
        return None


def _adapter_problems(folder: Path) -> list[str]:
    """A LoRA checkpoint (a PEFT adapter) is no model the Hub can load alone."""
    if not any((folder / name).is_file() for name in ADAPTER_FILES):
        return []
    return ["this is a LoRA adapter checkpoint (adapter_config.json), not a whole model: save a merged model with "
            "trainer.save_merged_model(DIR) and push DIR"]


def _card_problems(folder: Path) -> list[str]:
    """README.md must be an editreward model card whose front matter parses. The check is the card marker only
    editreward's templates write: TRL's checkpoint saving writes a generic card that carries the trainer's tags."""
    from huggingface_hub import ModelCard

    from .texts import CARD_MARKER

    fix = "write it with `editreward card --model DIR`"
    if not (folder / "README.md").is_file():
        return [f"README.md (the model card) is missing: {fix}"]
    try:
        card = ModelCard.load(folder / "README.md")
    except Exception as error:  # huggingface_hub raises several kinds for a front matter that does not parse
        reason = " ".join(f"{type(error).__name__}: {error}".split())
        return [f"README.md does not parse as a model card ({reason}): {fix}"]
    if CARD_MARKER not in card.text:
        return [f"README.md is not an editreward model card (it lacks the line {CARD_MARKER}, which editreward's "
                f"cards carry; a Trainer writes a generic card): {fix}"]  # fmt: skip
    return []


# An absolute local path (/home/x/y, C:\\x\\y, ~/x), not part of a URL.
_LOCAL_PATH = re.compile(r"(?<![\w:/.~-])(?:~?/(?:[\w.-]+/)+[\w.-]+|[A-Za-z]:\\[\w.\\-]+)")


def card_local_paths(path) -> list[str]:
    """Local paths the folder's card shows (in its text or front matter), which mean nothing on the Hub."""
    card = Path(path) / "README.md"
    if not card.is_file():
        return []
    return sorted(set(_LOCAL_PATH.findall(card.read_text(encoding="utf-8"))))


def _has_chat_template(folder: Path, processor_config: dict) -> bool:
    if "chat_template" in processor_config or any((folder / name).is_file() for name in CHAT_TEMPLATE_FILES):
        return True
    tokenizer_config = folder / "tokenizer_config.json"
    return tokenizer_config.is_file() and "chat_template" in json.loads(tokenizer_config.read_text(encoding="utf-8"))


def _auto_map_modules(config: dict) -> list[str]:
    """Module names of the local classes in an `auto_map` ("module.Class"; "repo--module.Class" lives elsewhere)."""
    references = []
    for value in config.get("auto_map", {}).values():
        references += value if isinstance(value, list) else [value]
    return [ref.rsplit(".", 1)[0] for ref in references if ref and "--" not in ref]


def _relative_imports(code_file: Path) -> list[str]:
    """Sibling modules a code file imports (`from .x import y`): trust_remote_code needs them beside it."""
    modules = []
    for node in ast.walk(ast.parse(code_file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            modules += [node.module] if node.module else [alias.name for alias in node.names]
    return modules


def _code_problems(folder: Path, modules: list[str]) -> list[str]:
    """Every code file the auto_map names, and every sibling those import, must be in the folder."""
    problems, seen, pending = [], set(), [(m, "auto_map") for m in modules]
    while pending:
        module, named_by = pending.pop(0)
        if module in seen:
            continue
        seen.add(module)
        code_file = folder / f"{module}.py"
        if code_file.is_file():
            pending += [(m, code_file.name) for m in _relative_imports(code_file)]
        else:
            problems.append(f"code file {code_file.name} is missing (needed by {named_by})")
    return problems


def loading_problems(path) -> list[str]:
    """What keeps the folder `path` from loading as an EditReward model and processor (weights, config, processor
    and tokenizer files, chat template, code files), read from the files without loading them; empty when none."""
    folder = Path(path)
    if not folder.is_dir():
        return [f"{folder} is not a folder"]
    adapter = _adapter_problems(folder)
    if adapter:
        return adapter
    problems, shapes = weight_problems(folder)
    config = _read_json(folder / "config.json", problems) or {}
    if config and shapes:
        problems += weights_against_config(folder, shapes)
    processor_config = _read_json(folder / "processor_config.json", problems) or {}
    problems += [f"{name} is missing" for name in TOKENIZER_FILES if not (folder / name).is_file()]
    if not _has_chat_template(folder, processor_config):
        problems.append("no chat template: chat_template.jinja is missing")
    return problems + _code_problems(folder, _auto_map_modules(config) + _auto_map_modules(processor_config))


def check_model_folder(path) -> list[str]:
    """What keeps `path` from loading from the Hub with `trust_remote_code=True`: `loading_problems`, the Auto
    classes' auto_map, and the model card. Empty when it is complete."""
    folder = Path(path)
    problems = loading_problems(folder)
    if not folder.is_dir() or any(problem.startswith("this is a LoRA") for problem in problems):
        return problems
    for name in ("config.json", "processor_config.json"):
        content = _read_json(folder / name, [])  # a missing or broken file is one of loading_problems already
        if isinstance(content, dict) and not content.get("auto_map"):
            problems.append(f"{name} has no auto_map: save with the editreward package imported, which registers "
                            "its classes for the Auto classes")  # fmt: skip
    return problems + _card_problems(folder)


def _folder_files(path, ignore_patterns=None) -> list[tuple[str, int]]:
    from huggingface_hub.utils import filter_repo_objects

    folder = Path(path)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    kept = filter_repo_objects(files, ignore_patterns=ignore_patterns)
    return [(name, (folder / name).stat().st_size) for name in kept]


def files_to_upload(path) -> list[tuple[str, int]]:
    """(path in the repo, bytes) of each file `upload_folder` would send, with the same ignore rules."""
    from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS

    return _folder_files(path, IGNORE_PATTERNS + DEFAULT_IGNORE_PATTERNS)


def trainer_leftovers(path) -> list[str]:
    """The folder's files that stay behind as trainer leftovers (checkpoint-*/, optimizer state, score caches...)."""
    kept = {name for name, _ in _folder_files(path, TRAINER_LEFTOVERS)}
    return [name for name, _ in _folder_files(path) if name not in kept]


def push_model_folder(path, repo_id: str, *, dry_run=False, private=False, token=None,
                      commit_message=DEFAULT_COMMIT_MESSAGE):  # fmt: skip
    """Upload a complete model folder to the Hub model repo `repo_id`, creating the repo if needed.

    Refuses a folder `check_model_folder` finds problems in, before any network call; trainer leftovers
    (`TRAINER_LEFTOVERS`) stay behind. With `dry_run` nothing touches the network: returns the (path, bytes) of each
    file that would go up. Otherwise returns `upload_folder`'s `CommitInfo`. A failed upload raises its own error,
    with a note added: the repo stays (empty or partly filled), because the Hub keeps the large files already sent
    and the same call again sends only the rest.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.utils import validate_repo_id

    validate_repo_id(repo_id)
    problems = check_model_folder(path)
    if problems:
        raise ValueError(f"{path} is not ready to push:\n" + "\n".join(f"  - {problem}" for problem in problems))
    local = card_local_paths(path)
    if local:
        warnings.warn(f"{Path(path) / 'README.md'} shows local paths, which mean nothing on the Hub: "
                      f"{', '.join(local[:5])}. Fix: regenerate it (editreward card) or edit them out.", stacklevel=2)
    if dry_run:
        return files_to_upload(path)
    api = HfApi(token=token)
    api.create_repo(repo_id, exist_ok=True, private=private)
    try:
        return api.upload_folder(
            repo_id=repo_id, folder_path=str(path), commit_message=commit_message, ignore_patterns=IGNORE_PATTERNS
        )
    except BaseException as error:  # an interrupted upload too
        error.add_note(
            f"The repo {repo_id} may now exist, empty or partly filled. Run the same push again to resume (files "
            f"already on the Hub are not sent again), or delete the repo with `hf repos delete {repo_id}`."
        )
        raise


def format_file_list(files: list[tuple[str, int]]) -> str:
    """One line per file with its size, then the total."""
    width = max(len(name) for name, _ in files)
    lines = [f"  {name.ljust(width)}  {_human_size(size):>9}" for name, size in files]
    return "\n".join([*lines, f"  {'total'.ljust(width)}  {_human_size(sum(s for _, s in files)):>9}"])


def _human_size(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
