"""Every code block of README.md works: each ```python block runs, with tiny offline stand-ins for the Hub checkpoints
and the user's objects it names, and every `editreward` command of the ```bash blocks (and of inline code) parses
on the real command line.

A block that cannot run here is marked in README.md by `<!-- not run in tests: REASON -->` on the line before it;
the marked blocks are counted, so leaving one out is a decision this file records (`EXPECTED_NOT_RUN`).
"""

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"
NOT_RUN = re.compile(r"<!-- not run in tests: (?P<reason>.*?) -->")
EXPECTED_NOT_RUN = 0

# A Hub checkpoint a block names -> the stand-in fixture that replaces its quoted id in the block's text.
HUB_CHECKPOINTS = {"Qwen/Qwen2.5-VL-7B-Instruct": "tiny_backbone_dir"}
# A name a block leaves to the user (a folder, images, datasets) -> what stands in for it (see `user_objects`).
USER_OBJECTS = {
    "path": "a saved EditReward folder",
    "src": "a source photo", "source": "a source photo",
    "e1": "an edit", "e2": "an edit", "edit_a": "an edit", "edit_b": "an edit", "edit_c": "an edit",
    "pairs": "a pair dataset", "dev_pairs": "a pair dataset",
}  # fmt: skip


@dataclass
class Block:
    language: str
    code: str
    line: int  # of the opening fence, 1-based
    not_run: str | None  # the reason given by the marker before it


def readme_blocks(text: str) -> list[Block]:
    """The fenced code blocks of `text`, with the not-run reason of a marker on the line before each."""
    blocks, lines, opened = [], text.splitlines(), None
    for number, line in enumerate(lines, start=1):
        if not line.startswith("```"):
            continue
        if opened is None:
            previous = next((lines[i] for i in range(number - 2, -1, -1) if lines[i].strip()), "")
            marker = NOT_RUN.fullmatch(previous.strip())
            opened = (line[3:].strip(), number, marker["reason"].strip() if marker else None)
        else:
            language, start, not_run = opened
            blocks.append(Block(language, "\n".join(lines[start:number - 1]), start, not_run))
            opened = None
    assert opened is None, f"README.md:{opened[1]}: a code block is never closed"
    return blocks


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))
PYTHON_BLOCKS = [block for block in BLOCKS if block.language == "python"]


@pytest.fixture(scope="module")
def tiny_backbone_dir(tokenizer, tmp_path_factory):
    """A tiny random Qwen2.5-VL folder with the real tokenizer, an image processor and the chat template."""
    from transformers import Qwen2_5_VLForConditionalGeneration

    from editreward.offline import backbone_config, image_processor, qwen25_vl_chat_template

    path = tmp_path_factory.mktemp("tiny-backbone")
    torch.manual_seed(0)
    Qwen2_5_VLForConditionalGeneration(backbone_config(tokenizer)).save_pretrained(path)
    tokenizer.save_pretrained(path)
    image_processor(112 * 112).save_pretrained(path)
    (path / "chat_template.jinja").write_text(qwen25_vl_chat_template())
    return path


@pytest.fixture
def user_objects(saved_model_dir, photos, instruction_pairs):
    pairs = instruction_pairs(["coffee"])
    stand_ins = {"path": str(saved_model_dir), "src": photos["astronaut"], "source": photos["astronaut"],
                 "e1": photos["coffee"], "e2": photos["chelsea"], "edit_a": photos["coffee"],
                 "edit_b": photos["chelsea"], "edit_c": photos["rocket"], "pairs": pairs, "dev_pairs": pairs}
    assert stand_ins.keys() == USER_OBJECTS.keys()
    return stand_ins


def test_readme_blocks_not_run_are_marked_with_a_reason_and_counted():
    text = README.read_text(encoding="utf-8")
    not_run = [block for block in BLOCKS if block.not_run is not None]
    assert all(block.not_run for block in not_run), "a not-run marker gives no reason"
    assert len(NOT_RUN.findall(text)) == len(not_run), "a not-run marker is not on the line before a code block"
    assert len(not_run) == EXPECTED_NOT_RUN, [f"README.md:{block.line}: {block.not_run}" for block in not_run]
    assert PYTHON_BLOCKS and all(block.language in ("python", "bash") for block in BLOCKS)


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[f"README.md:{block.line}" for block in PYTHON_BLOCKS])
def test_readme_python_block_runs(block, request, user_objects, tmp_path, monkeypatch):
    if block.not_run:
        pytest.skip(block.not_run)
    code = block.code
    for hub_id, fixture in HUB_CHECKPOINTS.items():
        code = code.replace(repr(hub_id), repr(str(request.getfixturevalue(fixture))))
        code = code.replace(f'"{hub_id}"', repr(str(request.getfixturevalue(fixture))))
    monkeypatch.chdir(tmp_path)  # a block's relative outputs ("out") land here
    namespace = {name: value for name, value in user_objects.items() if re.search(rf"\b{name}\b", code)}
    exec(compile(code, f"README.md:{block.line}", "exec"), namespace)  # noqa: S102 - the README is ours


def editreward_commands() -> list[tuple[int, list[str]]]:
    """(README line, argv after `editreward`) of every command in the bash blocks and in inline code."""
    commands = []
    for block in BLOCKS:
        if block.language != "bash":
            continue
        for offset, line in enumerate(block.code.replace("\\\n", " ").splitlines(), start=1):
            words = shlex.split(line, comments=True)
            if words[:1] == ["editreward"]:
                commands.append((block.line + offset, words[1:]))
    for number, line in enumerate(README.read_text(encoding="utf-8").splitlines(), start=1):
        for span in re.findall(r"`editreward ([^`]+)`", line):
            commands.append((number, shlex.split(span)))
    return commands


def test_readme_editreward_commands_exist_with_their_flags():
    from editreward.cli import build_parser

    commands = editreward_commands()
    assert {argv[0] for _, argv in commands} >= {"score", "evaluate", "convert", "card", "push"}
    for line, argv in commands:
        try:
            build_parser().parse_args(argv)
        except SystemExit:
            pytest.fail(f"README.md:{line}: `editreward {shlex.join(argv)}` does not parse (see the usage above)")
