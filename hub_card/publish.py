"""Check that a saved EditReward folder is complete, and upload it to the Hugging Face Hub."""

import ast
import json
from pathlib import Path

TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json")
CHAT_TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json")
IGNORE_PATTERNS = ["*__pycache__*", "*.pyc"]  # on top of huggingface_hub's own (.git/, .cache/huggingface/)
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


def _weight_problems(folder: Path) -> list[str]:
    if (folder / "model.safetensors").is_file():
        return []
    index = folder / "model.safetensors.index.json"
    if not index.is_file():
        return ["no weights: model.safetensors (or model.safetensors.index.json and its shards) is missing"]
    shards = sorted(set(json.loads(index.read_text(encoding="utf-8")).get("weight_map", {}).values()))
    missing = [shard for shard in shards if not (folder / shard).is_file()]
    return [f"weight shard {shard} (named in {index.name}) is missing" for shard in missing]


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


def check_model_folder(path) -> list[str]:
    """What keeps `path` from loading from the Hub with `trust_remote_code=True`; empty when it is complete."""
    folder = Path(path)
    if not folder.is_dir():
        return [f"{folder} is not a folder"]
    problems = _weight_problems(folder)
    config = _read_json(folder / "config.json", problems) or {}
    processor_config = _read_json(folder / "processor_config.json", problems) or {}
    for name, content in (("config.json", config), ("processor_config.json", processor_config)):
        if content and not content.get("auto_map"):
            problems.append(f"{name} has no auto_map: save with the editreward package imported, which registers "
                            "its classes for the Auto classes")  # fmt: skip
    problems += [f"{name} is missing" for name in TOKENIZER_FILES if not (folder / name).is_file()]
    if not _has_chat_template(folder, processor_config):
        problems.append("no chat template: chat_template.jinja is missing")
    problems += _code_problems(folder, _auto_map_modules(config) + _auto_map_modules(processor_config))
    if not (folder / "README.md").is_file():
        problems.append("README.md (the model card) is missing: write it with `editreward card --model DIR`")
    return problems


def files_to_upload(path) -> list[tuple[str, int]]:
    """(path in the repo, bytes) of each file `upload_folder` would send, with the same ignore rules."""
    from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS, filter_repo_objects

    folder = Path(path)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    kept = filter_repo_objects(files, ignore_patterns=IGNORE_PATTERNS + DEFAULT_IGNORE_PATTERNS)
    return [(name, (folder / name).stat().st_size) for name in kept]


def push_model_folder(path, repo_id: str, *, dry_run=False, private=False, token=None,
                      commit_message=DEFAULT_COMMIT_MESSAGE):  # fmt: skip
    """Upload a complete model folder to the Hub model repo `repo_id`, creating the repo if needed.

    Refuses a folder `check_model_folder` finds problems in. With `dry_run` nothing touches the network: returns the
    (path, bytes) of each file that would go up. Otherwise returns `upload_folder`'s `CommitInfo`.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.utils import validate_repo_id

    validate_repo_id(repo_id)
    problems = check_model_folder(path)
    if problems:
        raise ValueError(f"{path} is not ready to push:\n" + "\n".join(f"  - {problem}" for problem in problems))
    if dry_run:
        return files_to_upload(path)
    api = HfApi(token=token)
    api.create_repo(repo_id, exist_ok=True, private=private)
    return api.upload_folder(
        repo_id=repo_id, folder_path=str(path), commit_message=commit_message, ignore_patterns=IGNORE_PATTERNS
    )


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
