"""install_metric(): after it, a bare `evaluate.load("editreward_accuracy")` works offline from any directory."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from editreward.evaluate_metrics import METRIC_DIR, METRIC_NAME
from editreward.utils.environment import use_offline_environment

INSTALL = "from editreward.evaluate_metrics import install_metric; print(install_metric())"

# A fresh process that never imports editreward: only evaluate's own resolution of the bare name.
LOAD_AND_COMPUTE = textwrap.dedent(
    """
    import doctest, json, sys
    import evaluate

    pairwise = evaluate.load("editreward_accuracy")
    group = evaluate.load("editreward_accuracy", "group")
    spearman = evaluate.load("editreward_accuracy", "spearman")
    script = sys.modules[type(pairwise).__module__]
    card = open(sys.argv[1], encoding="utf-8").read().replace("```python", "").replace("```", "")
    runner = doctest.DocTestRunner()
    for name, text in [("script examples", script._KWARGS_DESCRIPTION), ("card examples", card)]:
        runner.run(doctest.DocTestParser().get_doctest(text, {}, name, None, 0))
    print(json.dumps({
        "module_file": script.__file__,
        "modules_cache": str(evaluate.config.HF_MODULES_CACHE),
        "pairwise": pairwise.compute(predictions=[[2.0, 1.0], [0.5, 1.5]], references=["A>B", "B>A"],
                                     bootstrap_samples=0)["accuracy"],
        "group": group.compute(predictions=[[0.9, 0.1, 0.5]], references=["A>C>B"])["accuracy"],
        "spearman": spearman.compute(predictions=[1.0, 2.0, 3.0], references=[1, 2, 3], groups=["m"] * 3)["spearman"],
        "doctest_failed": runner.failures,
        "doctest_attempted": runner.tries,
    }))
    """
)


def run_python(code, cwd, env, *args):
    completed = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip().splitlines()[-1]


@pytest.fixture
def isolated_env(tmp_path):
    """Offline switches, a temporary HF_HOME and an empty working directory for the subprocesses."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "XDG_CACHE_HOME"))}
    use_offline_environment(env)["HF_HOME"] = str(tmp_path / "hf_home")
    (tmp_path / "empty_cwd").mkdir()
    return env, tmp_path / "empty_cwd"


@pytest.mark.parametrize("modules_cache", [None, "custom_modules"], ids=["HF_HOME", "HF_MODULES_CACHE"])
def test_bare_name_loads_offline_in_a_fresh_process_after_install(isolated_env, tmp_path, modules_cache):
    env, cwd = isolated_env
    if modules_cache:
        env["HF_MODULES_CACHE"] = str(tmp_path / modules_cache)
    installed = Path(run_python(INSTALL, cwd, env))
    assert not any(cwd.iterdir())  # nothing written to the working directory

    results = json.loads(run_python(LOAD_AND_COMPUTE, cwd, env, os.path.join(METRIC_DIR, "README.md")))
    assert Path(results["module_file"]) == installed
    assert installed.is_relative_to(results["modules_cache"])  # our path matches evaluate.config's
    assert (results["pairwise"], results["group"], results["spearman"]) == (1.0, 1.0, 1.0)
    assert results["doctest_attempted"] >= 24 and results["doctest_failed"] == 0  # 12 examples in each document


def test_install_is_idempotent_and_wins_over_stale_versions(isolated_env):
    env, cwd = isolated_env
    entry = Path(env["HF_HOME"], "modules", "evaluate_modules", "metrics", f"evaluate-metric--{METRIC_NAME}")
    stale = entry / ("0" * 64)
    stale.mkdir(parents=True)
    (stale / f"{METRIC_NAME}.py").write_text("raise RuntimeError('stale cached version was loaded')\n")
    os.utime(stale / f"{METRIC_NAME}.py", (2e9, 2e9))  # newer than now: only install_metric's touch can beat it

    first, second = run_python(INSTALL, cwd, env), run_python(INSTALL, cwd, env)
    assert first == second
    installed = Path(first)
    assert installed.read_bytes() == Path(METRIC_DIR, f"{METRIC_NAME}.py").read_bytes()
    for level in (installed.parent, entry, entry.parent, entry.parent.parent):
        assert (level / "__init__.py").is_file()
    assert {p.name for p in installed.parent.iterdir()} == {"__init__.py", installed.name}
    assert installed.stat().st_mtime >= (stale / f"{METRIC_NAME}.py").stat().st_mtime


def test_load_metric_is_the_same_metric_without_evaluates_cached_version_notice(isolated_env):
    """A bare `evaluate.load("editreward_accuracy")` logs evaluate's notice on every load, offline included."""
    env, cwd = isolated_env
    code = textwrap.dedent("""
        import json, sys
        import evaluate
        from editreward.evaluate_metrics import install_metric, load_metric

        install_metric()
        predictions, references = [[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]], ["A>B", "A>B", "A=B"]
        which = sys.argv[1]
        metric = evaluate.load("editreward_accuracy") if which == "bare" else load_metric()
        print(json.dumps([metric.name, metric.config_name, load_metric("group").config_name,
                          metric.compute(predictions=predictions, references=references)["accuracy"]]))
    """)
    runs = {which: subprocess.run([sys.executable, "-c", code, which], cwd=cwd, env=env, capture_output=True,
                                  text=True, timeout=300) for which in ("bare", "quiet")}  # fmt: skip
    assert all(run.returncode == 0 for run in runs.values()), runs["quiet"].stderr
    assert "Using the latest cached version" in runs["bare"].stderr
    assert "Using the latest cached version" not in runs["quiet"].stderr
    assert runs["quiet"].stdout == runs["bare"].stdout
    assert json.loads(runs["quiet"].stdout)[:3] == ["editreward_accuracy", "default", "group"]
