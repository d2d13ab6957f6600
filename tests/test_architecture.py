"""The house of ARCHITECTURE.md, checked: every import of every module (lazy imports inside functions included)
runs along the documented directions between rooms, and no modules import each other in a cycle."""

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Where each room's files are, and the dotted name they are installed under (setup.cfg's package_dir).
ROOTS = {
    "modeling_editreward": "editreward.modeling_editreward",
    "trainer": "editreward.trainer",
    "evaluate_metrics": "editreward.evaluate_metrics",
    "hub_card": "editreward.hub_card",
    "src/editreward": "editreward",
    "benchmarks": "benchmarks",
    "examples": "examples",
}

# Room of a module, by the longest dotted prefix; what is not listed is a face (cli, commands, convert, quickstart,
# offline, testing, benchmarks, examples), which may import every room.
ROOM_OF_PREFIX = {
    "editreward.modeling_editreward": "modeling",
    "editreward.utils": "utils",
    "editreward.trainer": "trainer",
    "editreward.evaluate_metrics.editreward_accuracy": "metric script",
    "editreward.evaluate_metrics": "evaluate_metrics",
    "editreward.hub_card": "hub_card",
    "editreward.curation": "curation",
    "editreward.rewards": "rewards",
}
ALLOWED = {  # room -> the rooms it may import (besides itself); faces may import any
    "modeling": set(),
    "utils": set(),
    "metric script": set(),
    "trainer": {"modeling", "utils", "hub_card"},  # hub_card: the card `save_model` writes
    "evaluate_metrics": {"modeling", "utils"},
    "hub_card": {"evaluate_metrics", "modeling", "utils"},
    "curation": {"modeling", "utils", "hub_card"},  # hub_card: the folder's config and weight headers
    "namespace": {"modeling", "utils"},
    "rewards": {"modeling", "utils"},
}
# The model ships to the Hub alone as remote code: beyond the standard library, only these.
MODEL_THIRD_PARTY = {"torch", "transformers", "numpy", "PIL", "huggingface_hub", "safetensors",
                     "pandas"}  # pandas: only EditScores.to_pandas imports it, lazily (the scorer does not ship)


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package, the benchmarks and the examples."""
    modules = {}
    for root, dotted in ROOTS.items():
        for path in sorted((REPO / root).rglob("*.py")):
            parts = list(path.relative_to(REPO / root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join([dotted, *parts])] = path
    return modules


def room_of(module: str) -> str:
    if module == "editreward":
        return "namespace"
    prefixes = [p for p in ROOM_OF_PREFIX if module == p or module.startswith(p + ".")]
    return ROOM_OF_PREFIX[max(prefixes, key=len)] if prefixes else "face"


def imports_of(name: str, source: str, is_package: bool, known: set[str]) -> list[tuple[str, int]]:
    """(imported module, line) for every import statement of a module, lazy ones included, resolved to the
    package's own modules where they are ones (`from . import x` names the submodule x when there is one)."""
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub if sub in known else target, node.lineno))
    return found


def violations(modules: dict[str, str], packages: set[str]) -> list[str]:
    """Every import against the documented directions, given module name -> source."""
    known = set(modules)
    problems = []
    for name, source in modules.items():
        room = room_of(name)
        for target, line in imports_of(name, source, name in packages, known):
            top = target.partition(".")[0]
            if top == "editreward":
                target_room = room_of(target)
                if room != "face" and target_room != room and target_room not in ALLOWED[room]:
                    problems.append(f"{name}:{line} ({room}) imports {target} ({target_room})")
            elif room == "modeling" and top not in MODEL_THIRD_PARTY and top not in sys.stdlib_module_names:
                problems.append(f"{name}:{line} (modeling) imports {target}, which the Hub's remote code lacks")
    return problems


def import_cycles(modules: dict[str, str], packages: set[str]) -> list[list[str]]:
    """The cycles of the graph of imports between the package's own modules."""
    known = set(modules)
    graph = {
        name: sorted({t for t, _ in imports_of(name, source, name in packages, known) if t in known and t != name})
        for name, source in modules.items()
    }
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])
    return cycles


@pytest.fixture(scope="module")
def tree():
    files = module_files()
    packages = {name for name, path in files.items() if path.name == "__init__.py"}
    return {name: path.read_text(encoding="utf-8") for name, path in files.items()}, packages


def test_the_tree_has_every_room(tree):
    rooms = {room_of(name) for name in tree[0]}
    assert rooms >= {"modeling", "utils", "trainer", "evaluate_metrics", "metric script", "hub_card", "face"}


def test_imports_run_along_the_documented_directions(tree):
    assert violations(*tree) == []


def test_no_modules_import_each_other_in_a_cycle(tree):
    assert import_cycles(*tree) == []


def test_a_back_arrow_is_caught():
    """The checks catch what they are for: a model module importing the trainer, lazily, and a two-module cycle."""
    modules = {
        "editreward.modeling_editreward.scoring": "def f():\n    from ..trainer import losses\n",
        "editreward.trainer": "", "editreward.trainer.losses": "",
        "editreward.hub_card.a": "from . import b\n", "editreward.hub_card.b": "def g():\n    from .a import x\n",
    }
    assert violations(modules, {"editreward.trainer"}) == [
        "editreward.modeling_editreward.scoring:2 (modeling) imports editreward.trainer.losses (trainer)"
    ]
    assert import_cycles(modules, {"editreward.trainer"}) == [["editreward.hub_card.a", "editreward.hub_card.b",
                                                              "editreward.hub_card.a"]]


def test_the_model_imports_no_library_the_remote_code_lacks():
    modules = {"editreward.modeling_editreward.x": "import datasets\nimport torch\n"}
    assert violations(modules, set()) == [
        "editreward.modeling_editreward.x:1 (modeling) imports datasets, which the Hub's remote code lacks"
    ]


def test_no_test_file_imports_another():
    """Helpers several test files share live in conftest.py (fixtures), not in a test file others import."""
    test_modules = {path.stem for path in (REPO / "tests").glob("*.py")} - {"conftest"}
    imported = [
        f"{path.name}:{line} imports {target}"
        for path in sorted((REPO / "tests").glob("*.py"))
        for target, line in imports_of(path.stem, path.read_text(encoding="utf-8"), False, set())
        if target.partition(".")[0] in test_modules
    ]
    assert imported == []
