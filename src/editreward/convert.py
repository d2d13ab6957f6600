"""Convert TIGER-Lab's released EditReward checkpoints (raw state dicts) into Hub-native EditReward folders.

The released checkpoints (TIGER-Lab/EditReward-Qwen2.5-VL-7B, TIGER-Lab/EditReward-MiMo-VL-7B-SFT-2508) each hold
one state dict of the official reward model: the base Qwen2.5-VL with `<|Reward|>` appended to its vocabulary, plus
two Sequential heads. Key mapping (official -> EditRewardModel):

    model.visual.*             -> model.visual.*            (transformers >= 4.52 module layout, 4.57 included)
    model.language_model.*     -> model.language_model.*
    visual.*                   -> model.visual.*            (legacy layout: transformers < 4.52, Hub base weights)
    model.{embed_tokens,layers,norm}.* -> model.language_model.*
    rm_heads.head_0.{0,3,5}.*  -> heads.instruction_following.{0,3,5}.*
    rm_heads.head_1.{0,3,5}.*  -> heads.visual_quality.{0,3,5}.*
    embed_tokens.weight[<|Reward|> id] -> reward_token.weight   (the one trained row; the matrix is kept as it is)
    lm_head.*                  -> dropped (the official forward never uses it)

Checkpoints the official Qwen3-VL code trains (`Qwen3_VLRewardModelBT_MultiHead`, transformers 4.57) have the same
module layout (`model.visual.*` with its `deepstack_merger_list`, `model.language_model.*`, `lm_head`, `rm_heads`),
so the same mapping serves; the family comes from the base's config. A Qwen2.5-VL checkpoint converts with
sequential positions (what the released models ran with), a Qwen3-VL one with M-RoPE (the official Qwen3-VL class
passes input_ids and grids to the backbone, which computes it, and adds the DeepStack features).

Heavy libraries are imported inside the functions, so that the `editreward` command starts at once.
"""

import os
import pickle
import re
from pathlib import Path

from .utils.locations import resolve_model_location

RELEASED_HEADS = {"head_0": "instruction_following", "head_1": "visual_quality"}
# The positions each family's official forward ran with: Qwen2.5-VL's passed no input_ids to the backbone (1-D
# positions), Qwen3-VL's passes them with the grids (3-D interleaved M-RoPE).
OFFICIAL_POSITION_MODES = {"qwen2_5_vl": "sequential", "qwen3_vl": "mrope"}
LAYOUT_PREFIXES = (  # checked in order: the module layout first, then the legacy one
    ("model.visual.", "model.visual."),
    ("model.language_model.", "model.language_model."),
    ("visual.", "model.visual."),
    ("model.", "model.language_model."),
)
DROPPED_PREFIXES = ("lm_head.",)
EMBEDDING_KEY = "model.language_model.embed_tokens.weight"
REWARD_TOKEN_KEY = "reward_token.weight"
BASE_FILES = ["*.json", "*.jinja", "*.txt", "*.tiktoken", "*.model", "README.md"]  # no weights: the checkpoint has them

class CheckpointMismatchError(ValueError):
    """The checkpoint's tensors do not fit the architecture that `base` describes."""


def convert_official_checkpoint(checkpoint, base, out_dir, *, dtype=None, image_pixels=None, license=None) -> Path:
    """Convert a released EditReward checkpoint into a folder that `AutoModel.from_pretrained` loads.

    Args:
        checkpoint: Hub id or local folder holding `model.safetensors` (or a `.pth` state dict), or that file.
        base: Hub id or local folder of the base model (config, tokenizer, image processor, chat template).
            Only its small files are downloaded: the checkpoint holds every weight.
        out_dir: the new folder (must not exist or be empty).
        dtype: dtype of the backbone (`"bfloat16"`, `torch.float32`, ...); the checkpoint's by default. Heads
            stay float32.
        image_pixels: pixel budget per image; the released 200,704 by default (smaller only for tests).
        license: licence id for the card; by default read from the checkpoint's or the base's model card.

    Returns the output folder. Raises `CheckpointMismatchError` naming every missing, unexpected or mis-shaped
    tensor before any weight is converted or written (safetensors: from the file header alone).
    """
    from .modeling_editreward import EditRewardModel, EditRewardProcessor
    from .modeling_editreward.configuration_editreward import DEFAULT_IMAGE_PIXELS

    out_dir = _new_output_folder(out_dir)
    checkpoint_path = _checkpoint_path(checkpoint)
    base_dir = _local_folder(base, BASE_FILES)
    reader = StateDictReader(_weights_files(checkpoint_path))
    processor = EditRewardProcessor.from_backbone(str(base_dir), image_pixels=image_pixels or DEFAULT_IMAGE_PIXELS)
    config = converted_config(base_dir, processor, embedding_rows=_embedding_rows(reader.shapes))
    plan = plan_conversion(reader.shapes, expected_shapes(config), config.reward_token_id)
    dtype = _resolve_dtype(dtype, reader.dtype(plan[EMBEDDING_KEY][0]))
    state_dict = {target: reader.tensor(source, row) for target, (source, row) in plan.items()}
    model = EditRewardModel.from_pretrained(None, config=config, state_dict=state_dict, dtype=dtype)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    cards = [checkpoint_path if checkpoint_path.is_dir() else checkpoint_path.parent, base_dir]
    from .hub_card.model_card import render_converted_model_card

    render_converted_model_card(
        checkpoint=str(checkpoint), base=str(base), license=license or _card_license(cards),
        dimensions=config.dimensions, image_pixels=config.image_pixels, dtype=str(dtype).removeprefix("torch."),
        family=config.backbone_family.name, patch_group=config.patch_group,
    ).save(out_dir / "README.md")
    return out_dir


def map_official_key(key: str) -> str | None:
    """EditRewardModel's name for an official key, `""` for a key the conversion drops, None if unknown."""
    if key.startswith(DROPPED_PREFIXES):
        return ""
    head = re.fullmatch(r"rm_heads\.(head_\d+)\.(.+)", key)
    if head:
        return f"heads.{RELEASED_HEADS[head[1]]}.{head[2]}" if head[1] in RELEASED_HEADS else None
    for prefix, target in LAYOUT_PREFIXES:
        if key.startswith(prefix):
            return target + key[len(prefix):]
    return None


def official_key(target: str, reward_token_id: int) -> str:
    """The official (transformers 4.57 layout) name of what fills `target`, for error messages."""
    head = re.fullmatch(r"heads\.([^.]+)\.(.+)", target)
    if head:
        by_dimension = {dimension: name for name, dimension in RELEASED_HEADS.items()}
        return f"rm_heads.{by_dimension.get(head[1], '?')}.{head[2]}"
    if target == REWARD_TOKEN_KEY:
        return f"row {reward_token_id} of {EMBEDDING_KEY}"
    return target


def plan_conversion(source_shapes: dict, target_shapes: dict, reward_token_id: int) -> dict:
    """{target key: (source key, row or None)} for every target tensor, after checking names and shapes.

    Raises `CheckpointMismatchError` listing every unexpected, duplicated, missing and mis-shaped key by name.
    """
    plan, unexpected, duplicated, misshaped = {}, [], [], []
    for key, shape in source_shapes.items():
        target = map_official_key(key)
        if target == "":
            continue
        if target is None or target not in target_shapes:
            unexpected.append(key)
        elif target in plan:
            duplicated.append(f"{plan[target][0]} and {key} (both fill {target}: mixed layouts)")
        else:
            plan[target] = (key, None)
            if tuple(shape) != target_shapes[target]:
                misshaped.append(f"{key}: checkpoint {tuple(shape)}, architecture {target_shapes[target]}")
    if EMBEDDING_KEY in plan and REWARD_TOKEN_KEY in target_shapes:
        rows = source_shapes[plan[EMBEDDING_KEY][0]][0]
        if reward_token_id == rows - 1:  # the official code appended <|Reward|>, then resized to len(tokenizer)
            plan[REWARD_TOKEN_KEY] = (plan[EMBEDDING_KEY][0], reward_token_id)
        else:
            misshaped.append(
                f"{plan[EMBEDDING_KEY][0]}: {rows} rows, so the trained <|Reward|> row is {rows - 1}, but the base "
                f"tokenizer gives <|Reward|> id {reward_token_id} (a base whose tokenizer differs from the one this "
                "checkpoint was trained with)"
            )
    missing = [f"{key} (official {official_key(key, reward_token_id)})" for key in target_shapes if key not in plan]
    problems = [
        (f"unexpected (not part of an EditReward checkpoint): {', '.join(unexpected)}", unexpected),
        (f"duplicated: {'; '.join(duplicated)}", duplicated),
        (f"missing: {', '.join(missing)}", missing),
        (f"mis-shaped: {'; '.join(misshaped)}", misshaped),
    ]
    problems = [message for message, keys in problems if keys]
    if problems:
        raise CheckpointMismatchError(
            "The checkpoint does not fit the architecture of the base model: " + ". ".join(problems) + ". Pass as "
            "--base the model this checkpoint was fine-tuned from (its config.json sets every shape), and a "
            "released EditReward checkpoint as --checkpoint."
        )
    return plan


def converted_config(base_dir, processor, embedding_rows: int):
    """The EditRewardConfig of a released model: base architecture with the checkpoint's vocabulary rows,
    its official positions (OFFICIAL_POSITION_MODES), mean fusion, and the processor's prompts, reward token and pixel
    budget."""
    from transformers import AutoConfig

    from .modeling_editreward import EditRewardConfig

    vlm_config = AutoConfig.from_pretrained(base_dir)
    if vlm_config.model_type not in OFFICIAL_POSITION_MODES:
        raise ValueError(
            f"{base_dir}: model_type {vlm_config.model_type!r}; official EditReward models are Qwen2.5-VL "
            "(qwen2_5_vl: Qwen/Qwen2.5-VL-7B-Instruct, XiaomiMiMo/MiMo-VL-7B-SFT-2508) or Qwen3-VL (qwen3_vl: "
            "Qwen/Qwen3-VL-8B-Instruct) models."
        )
    vlm_config.text_config.vocab_size = embedding_rows  # the official code resized the matrix to len(tokenizer)
    position_mode = OFFICIAL_POSITION_MODES[vlm_config.model_type]
    config = EditRewardConfig.from_processor(processor, vlm_config, fusion="mean", position_mode=position_mode)
    config.check_processor(processor)
    return config


def expected_shapes(config) -> dict:
    """{key: shape} of every tensor EditRewardModel(config) holds, without allocating memory."""
    import torch

    from .modeling_editreward import EditRewardModel

    with torch.device("meta"):
        model = EditRewardModel(config)
    return {key: tuple(tensor.shape) for key, tensor in model.state_dict().items()}


class StateDictReader:
    """Names and shapes of a state dict in safetensors files (headers only) or one `.pth`; tensors on demand."""

    def __init__(self, files: list[Path]):
        self._handles, self._tensors = {}, {}
        if files[0].suffix == ".pth":
            self._tensors = _load_pth(files[0])
            self.shapes = {key: tuple(tensor.shape) for key, tensor in self._tensors.items()}
            return
        from safetensors import safe_open

        self.shapes = {}
        for file in files:
            handle = safe_open(file, framework="pt")
            for key in handle.keys():
                self._handles[key] = handle
                self.shapes[key] = tuple(handle.get_slice(key).get_shape())

    def tensor(self, key: str, row: int | None = None):
        """The tensor `key`, or only its row `row` (a copy, so that the full matrix is not kept alive)."""
        if key in self._tensors:
            return self._tensors[key] if row is None else self._tensors[key][row].clone()
        handle = self._handles[key]
        return handle.get_tensor(key) if row is None else handle.get_slice(key)[row].clone()

    def dtype(self, key: str):
        return self.tensor(key, row=0).dtype


def _load_pth(path: Path) -> dict:
    import torch

    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError as error:
        reason = str(error).strip().splitlines()[0]
        raise ValueError(
            f"{path}: torch.load(weights_only=True) refused it, as it holds objects other than tensors ({reason}). "
            "Only a plain state dict can be converted; never load an untrusted .pth with weights_only=False."
        ) from None
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError(f"{path} does not hold a state dict (a dict of tensors); save model.state_dict().")
    return state_dict


def _local_folder(path_or_id, patterns: list[str]) -> Path:
    """A local folder as it is; a Hub id downloaded (only files matching `patterns`)."""
    location = resolve_model_location(str(path_or_id))
    if os.path.isdir(location):
        return Path(location)
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(location, allow_patterns=patterns))


def _checkpoint_path(checkpoint) -> Path:
    """A local file or folder as it is; from the Hub, the safetensors weights, else the `.pth` (never both)."""
    if os.path.exists(checkpoint):
        return Path(checkpoint)
    folder = _local_folder(checkpoint, ["*.safetensors", "README.md"])
    return folder if any(folder.glob("*.safetensors")) else _local_folder(checkpoint, ["*.pth", "README.md"])


def _weights_files(path: Path) -> list[Path]:
    """`model.safetensors`, else every `*.safetensors` (shards), else the one `.pth`."""
    if path.is_file():
        if path.suffix not in (".safetensors", ".pth"):
            raise ValueError(f"{path}: expected a .safetensors or .pth state dict.")
        return [path]
    if (path / "model.safetensors").is_file():
        return [path / "model.safetensors"]
    shards, pth = sorted(path.glob("*.safetensors")), sorted(path.glob("*.pth"))
    if shards:
        return shards
    if (path / "model.pth").is_file():
        return [path / "model.pth"]
    if len(pth) == 1:
        return pth
    found = ", ".join(p.name for p in pth) or "none"
    raise FileNotFoundError(f"{path}: no model.safetensors and no single .pth state dict (.pth files: {found}).")


def _embedding_rows(shapes: dict) -> int:
    for key, shape in shapes.items():
        if map_official_key(key) == EMBEDDING_KEY:
            return shape[0]
    raise CheckpointMismatchError(
        f"missing: {EMBEDDING_KEY} (or legacy model.embed_tokens.weight), the input embeddings that hold the "
        "<|Reward|> row; is this a released EditReward checkpoint?"
    )


def _resolve_dtype(dtype, checkpoint_dtype):
    """The dtype asked for (a torch dtype or its name), else the checkpoint's."""
    from .modeling_editreward.scoring import device_and_dtype

    return device_and_dtype("cpu", dtype)[1] or checkpoint_dtype


def _new_output_folder(out_dir) -> Path:
    """`out_dir` if it does not exist or is empty (it is created only when the model is written)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise FileExistsError(f"{out_dir} exists and is not an empty folder; choose a new output folder.")
    return out_dir


def _card_license(folders: list[Path]) -> str | None:
    """The `license:` in the front matter of the first of these folders' README.md that states one."""
    for card in (folder / "README.md" for folder in folders):
        if card.is_file():
            front = re.match(r"---\n(.*?)\n---", card.read_text(encoding="utf-8"), re.S)
            found = re.search(r"^license:\s*(\S+)", front[1], re.M) if front else None
            if found:
                return found[1]
    return None
