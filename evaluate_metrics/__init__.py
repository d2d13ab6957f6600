"""The `editreward_accuracy` evaluate metric and its offline install.

`evaluate.load("editreward_accuracy")` resolves a bare name from the current directory or from evaluate's modules
cache entry `evaluate_modules/metrics/evaluate-metric--editreward_accuracy/<hash>/`; `install_metric()` writes that
entry, so the bare name then loads offline (`HF_EVALUATE_OFFLINE=1`) from any directory.

Beside it: `benchmarks` (one module per published schema, and the registry the runner reads), `loading` (data from
a Hub id or a local path), `runner` (cached, resumable scoring) and `results` (the owner of results.json).
"""

import functools
import hashlib
import importlib.util
import os
import sys
import time
from pathlib import Path

__all__ = ["METRIC_DIR", "METRIC_NAME", "install_metric", "load_metric", "load_metric_script", "modules_cache_dir"]

METRIC_NAME = "editreward_accuracy"
METRIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), METRIC_NAME)


@functools.cache
def load_metric_script():
    """The metric script as a plain module: the same code `evaluate.load("editreward_accuracy")` runs, without
    going through evaluate's cache (its pure functions `pairwise_accuracy`, `group_accuracy`, ... are fast)."""
    spec = importlib.util.spec_from_file_location(f"{METRIC_NAME}_script", f"{METRIC_DIR}/{METRIC_NAME}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def modules_cache_dir() -> Path:
    """evaluate's `HF_MODULES_CACHE`, resolved from the same environment variables as `evaluate.config`.

    Reading `evaluate.config` directly costs the whole `import evaluate` (about 5 s), so it is used only when evaluate
    is already imported.
    """
    if "evaluate.config" in sys.modules:
        return Path(sys.modules["evaluate.config"].HF_MODULES_CACHE)
    xdg_cache = os.getenv("XDG_CACHE_HOME", "~/.cache")
    hf_home = os.path.expanduser(os.getenv("HF_HOME", os.path.join(xdg_cache, "huggingface")))
    return Path(os.getenv("HF_MODULES_CACHE", os.path.join(hf_home, "modules")))


def install_metric() -> str:
    """Copy the metric script into evaluate's modules cache so `evaluate.load("editreward_accuracy")` works offline.

    Idempotent: the entry is named by the script's sha256 and rewritten only if its content differs. Its mtime is
    set after every other cached version's, because evaluate loads the most recently modified one. Returns the
    script's path.
    """
    if importlib.util.find_spec("evaluate") is None:
        raise ModuleNotFoundError("The metric needs `evaluate`: pip install 'editreward[evaluate]'.")
    source = Path(METRIC_DIR, f"{METRIC_NAME}.py")
    code = source.read_bytes()
    modules_root = modules_cache_dir()
    levels = [modules_root, modules_root / "evaluate_modules", modules_root / "evaluate_modules" / "metrics"]
    levels.append(levels[-1] / f"evaluate-metric--{METRIC_NAME}")
    levels.append(levels[-1] / hashlib.sha256(code).hexdigest())
    for level in levels:
        level.mkdir(parents=True, exist_ok=True)
        (level / "__init__.py").touch(exist_ok=True)
    target = levels[-1] / source.name
    if not target.is_file() or target.read_bytes() != code:
        partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        partial.write_bytes(code)
        os.replace(partial, target)  # atomic: a concurrent load never sees half a script
    others = [p.stat().st_mtime for p in levels[-2].glob(f"*/{source.name}") if p.parent != target.parent]
    newest = max([time.time(), *(mtime + 1 for mtime in others)])
    os.utime(target, (newest, newest))
    return str(target)


def load_metric(config_name: str | None = None, **kwargs):
    """`evaluate.load` of the editreward_accuracy metric, quietly and offline: from the package's own script folder,
    so evaluate neither tries the Hub nor logs its "Using the latest cached version of the module" warning, which a
    bare `evaluate.load("editreward_accuracy")` logs on every load (evaluate's own notice, harmless). The same
    script, the same `EvaluationModule`."""
    if importlib.util.find_spec("evaluate") is None:
        raise ModuleNotFoundError("The metric needs `evaluate`: pip install 'editreward[evaluate]'.")
    import evaluate

    return evaluate.load(METRIC_DIR, config_name, **kwargs)
