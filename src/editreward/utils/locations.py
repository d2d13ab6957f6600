"""The one rule for "is this a Hub id or a local path", used by the CLI, the cards, the converter and the loaders."""

import os
import re

_PATH_LIKE = re.compile(r"^(\.|~|/|\\|[A-Za-z]:[\\/])")  # ./x, ../x, .x/y, ~/x, /x, \x, C:/x, C:\x


def looks_like_local_path(name: str) -> bool:
    """True for a name that exists on disk or is written as a path (`./x`, `.x/y`, `~/x`, `/x`, `C:/x`)."""
    return bool(_PATH_LIKE.match(name)) or os.path.exists(os.path.expanduser(name))


def is_hub_id(name) -> bool:
    """True for a string that is a valid Hub repo id (`name` or `org/name`) and no local path."""
    if not isinstance(name, str) or not name or looks_like_local_path(name):
        return False
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def resolve_model_location(name: str) -> str:
    """A local folder (with `~` expanded) or a Hub id, as given; a name that is neither is refused by name, since the
    Hub loader would call a missing folder a malformed repo id."""
    folder = os.path.expanduser(name)
    if os.path.isdir(folder):
        return folder
    if looks_like_local_path(name) or not is_hub_id(name):
        raise ValueError(f"no such model folder: {name} (give a local folder or a Hub id such as ORG/NAME)")
    return name
