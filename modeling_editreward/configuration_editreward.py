"""Configuration of an EditReward model: a Qwen2.5-VL or Qwen3-VL backbone plus one Gaussian head per dimension."""

from transformers import PreTrainedConfig, Qwen2_5_VLConfig

from .backbones_editreward import BackboneFamily, backbone_config_from_dict, backbone_family
from .prompts_editreward import (
    COMPACT_PROMPT,
    REWARD_SUFFIX,
    REWARD_TOKEN,
    RUBRIC_PROMPTS,
    check_compact_prompt,
    check_rubric_prompts,
)

FUSIONS = ("mean", "min", "sum")
POSITION_MODES = ("mrope", "sequential")
EDITED_IMAGE_FRAMES = ("repeat", "source_then_edited")
PACKED_ATTENTIONS = ("tree", "mask")
INPUT_FORMATS = ("per_dimension", "compact")
DEFAULT_IMAGE_PIXELS = 200704  # the released models' budget: 256 patch groups of 28 x 28 px, 256 visual tokens
# The fields a model config and its processor both hold, which must agree for the heads to read the prompts they were
# trained on: their one declaration (`EditRewardConfig.from_processor` copies them, `check_processor` compares them).
PROCESSOR_SHARED_FIELDS = ("dimensions", "rubric_prompts", "reward_suffix", "reward_token", "image_pixels",
                           "edited_image_frames", "input_format", "compact_prompt")  # fmt: skip


class EditRewardConfig(PreTrainedConfig):
    r"""
    Args:
        vlm_config (`dict`, `Qwen2_5_VLConfig` or `Qwen3VLConfig`, *optional*):
            The backbone's configuration; its `model_type` names the backbone family (`backbone_family`): Qwen2.5-VL
            (or a model of its architecture such as MiMo-VL) or Qwen3-VL. A dict without `model_type` is Qwen2.5-VL.
        dimensions (`list[str]`, *optional*, defaults to `["instruction_following", "visual_quality"]`):
            The quality dimensions, in head order. Each gets its own rubric prompt and head.
        rubric_prompts (`dict[str, str]`, *optional*):
            One prompt template per dimension with exactly one `{text_prompt}` field for the instruction (write
            literal braces as `{{` and `}}`). Defaults to the released models' prompts, byte-exact.
        reward_suffix (`str`, *optional*):
            Appended to each rubric prompt; contains the reward token whose hidden state the heads read.
        reward_token (`str`, *optional*, defaults to `"<|Reward|>"`):
            The special token marking the position the heads read.
        reward_token_id (`int`, *optional*):
            Its id in the tokenizer (set by the processor when the token is added).
        head_hidden_sizes (`list[int]`, *optional*, defaults to `[1024, 16]`):
            Hidden sizes of each head's MLP; its output is `[mu, log_sigma]`.
        head_dropout (`float`, *optional*, defaults to 0.05):
            Dropout after the first hidden layer of each head.
        fusion (`str`, *optional*, defaults to `"mean"`):
            How the dimensions fuse into the overall score: `mean` (mean of mu and of log sigma, the released
            models), `min` (elementwise minimum) or `sum` (sum of independent Gaussians).
        position_mode (`str`, *optional*, defaults to `"mrope"`):
            `mrope`: the backbone's native 3-D rotary positions. `sequential`: plain 1-D positions on all three
            rope axes, what the released checkpoints were trained and run with.
        image_pixels (`int`, *optional*, defaults to 200704):
            Pixel budget each image is resized to (aspect kept, sides multiples of `patch_group`; min = max).
        share_prefix (`bool`, *optional*, defaults to `True`):
            Compute the segments rows share (system prompt and source image; each edited image) once per call,
            with a tree-shaped attention mask. Same scores, less compute; off automatically with flash attention.
        packed_attention (`str`, *optional*, defaults to `"tree"`):
            How packed rows attend: `tree` computes only the blocks the tree mask allows (one SDPA call per tree
            depth, segments batched), `mask` runs attention over the whole packed row under a dense 4-D mask. Same
            scores; eager attention always takes the dense mask.
        input_format (`str`, *optional*, defaults to `"per_dimension"`):
            `per_dimension` (the released models): one row per (triplet, dimension), each with its full rubric and
            one reward token. `compact` (for new models): one row per triplet with `compact_prompt`, which holds one
            reward token per dimension; head `d` reads the `d`-th. The processor must match.
        compact_prompt (`str`, *optional*):
            The compact format's prompt: one `{text_prompt}` field and one reward token per dimension, in order.
            Defaults to both released rubrics' essentials (`prompts_editreward.COMPACT_PROMPT`).
        edited_image_frames (`str`, *optional*, defaults to `"repeat"`):
            What the vision tower's two temporal frames of the edited image hold: `repeat` (the edited image twice,
            as Qwen2.5-VL encodes any still image; the released models) or `source_then_edited` (the source, then
            the edited image, so the patch embedding compares them pixel by pixel). The processor must match.
    """

    model_type = "editreward"
    sub_configs_defaults = {"vlm_config": Qwen2_5_VLConfig}

    def __init__(
        self,
        vlm_config=None,
        dimensions=None,
        rubric_prompts=None,
        reward_suffix=REWARD_SUFFIX,
        reward_token=REWARD_TOKEN,
        reward_token_id=None,
        head_hidden_sizes=(1024, 16),
        head_dropout=0.05,
        fusion="mean",
        position_mode="mrope",
        image_pixels=DEFAULT_IMAGE_PIXELS,
        share_prefix=True,
        edited_image_frames="repeat",
        packed_attention="tree",
        input_format="per_dimension",
        compact_prompt=COMPACT_PROMPT,
        **kwargs,
    ):
        if isinstance(vlm_config, dict):
            vlm_config = backbone_config_from_dict(vlm_config)
        self.vlm_config = vlm_config if vlm_config is not None else Qwen2_5_VLConfig()
        self.dimensions = list(dimensions) if dimensions is not None else list(RUBRIC_PROMPTS)
        self.rubric_prompts = dict(rubric_prompts) if rubric_prompts is not None else dict(RUBRIC_PROMPTS)
        self.reward_suffix = reward_suffix
        self.reward_token = reward_token
        self.reward_token_id = reward_token_id
        self.head_hidden_sizes = list(head_hidden_sizes)
        self.head_dropout = head_dropout
        self.fusion = fusion
        self.position_mode = position_mode
        self.image_pixels = image_pixels
        self.share_prefix = share_prefix
        self.edited_image_frames = edited_image_frames
        self.packed_attention = packed_attention
        self.input_format = input_format
        self.compact_prompt = compact_prompt
        kwargs["num_labels"] = 1  # TRL's RewardTrainer requires a single scalar reward
        super().__init__(**kwargs)
        self.validate_editreward()

    def validate_editreward(self):
        """Fail at construction, naming the field, rather than deep inside a forward pass."""
        backbone_family(self.vlm_config.model_type)
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion={self.fusion!r} is not supported; use one of {FUSIONS}.")
        if self.position_mode not in POSITION_MODES:
            raise ValueError(f"position_mode={self.position_mode!r} is not supported; use one of {POSITION_MODES}.")
        if self.edited_image_frames not in EDITED_IMAGE_FRAMES:
            raise ValueError(
                f"edited_image_frames={self.edited_image_frames!r} is not supported; use one of {EDITED_IMAGE_FRAMES}."
            )
        if self.packed_attention not in PACKED_ATTENTIONS:
            raise ValueError(
                f"packed_attention={self.packed_attention!r} is not supported; use one of {PACKED_ATTENTIONS}."
            )
        if not self.dimensions:
            raise ValueError("dimensions is empty; an EditReward model needs at least one quality dimension.")
        check_input_format(self)
        if self.reward_token not in self.reward_suffix:
            raise ValueError(f"reward_suffix must contain the reward token {self.reward_token!r}.")
        if self.image_pixels < self.patch_group**2:
            group = self.patch_group
            raise ValueError(f"image_pixels={self.image_pixels} is below one {group}x{group} patch group.")

    @classmethod
    def from_processor(cls, processor, vlm_config, **kwargs) -> "EditRewardConfig":
        """The config of a model that agrees with `processor`: its `PROCESSOR_SHARED_FIELDS` and reward token id,
        on the backbone `vlm_config`; `kwargs` set the model's own fields (fusion, heads, positions, ...)."""
        shared = {field: getattr(processor, field) for field in PROCESSOR_SHARED_FIELDS}
        return cls(vlm_config=vlm_config, reward_token_id=processor.reward_token_id, **shared, **kwargs)

    def check_processor(self, processor) -> None:
        """Raise, naming the field, when `processor` would build other inputs than this model was trained on."""
        fix = "load both from the same folder"
        for field in PROCESSOR_SHARED_FIELDS:
            if getattr(self, field) != getattr(processor, field):
                raise ValueError(f"Model and processor disagree on {field}; {fix}.")
        vision = self.vlm_config.vision_config
        if (vision.patch_size, vision.spatial_merge_size) != (processor.patch_size, processor.merge_size):
            raise ValueError(
                f"The model's vision tower takes {vision.patch_size}-pixel patches merged {vision.spatial_merge_size}"
                f"x{vision.spatial_merge_size}, but the image processor cuts {processor.patch_size}-pixel ones merged "
                f"{processor.merge_size}x{processor.merge_size}; {fix}."
            )
        if self.reward_token_id != processor.reward_token_id:
            raise ValueError(
                f"Model expects reward token id {self.reward_token_id}, the processor's tokenizer gives "
                f"{processor.reward_token_id}; {fix}."
            )

    @property
    def rows_per_triplet(self) -> int:
        """Rows the processor writes per triplet: one per dimension, or one in the compact format."""
        return 1 if self.input_format == "compact" else len(self.dimensions)

    @property
    def rewards_per_row(self) -> int:
        """Reward tokens in each row: one, or one per dimension in the compact format."""
        return len(self.dimensions) if self.input_format == "compact" else 1

    @property
    def backbone_family(self) -> BackboneFamily:
        """The backbone family, named by the backbone config's `model_type` (`qwen2_5_vl` or `qwen3_vl`)."""
        return backbone_family(self.vlm_config.model_type)

    @property
    def patch_group(self) -> int:
        """Side in pixels of one visual token: the vision patch times the spatial merge (28 for Qwen2.5-VL, 32 for
        Qwen3-VL)."""
        vision = self.vlm_config.vision_config
        return vision.patch_size * vision.spatial_merge_size

    @property
    def hidden_size(self) -> int:
        return self.vlm_config.text_config.hidden_size


def check_input_format(fields) -> None:
    """The prompts `fields` (a config or a processor) would render, checked for its input format, naming the field."""
    if fields.input_format not in INPUT_FORMATS:
        raise ValueError(f"input_format={fields.input_format!r} is not supported; use one of {INPUT_FORMATS}.")
    if fields.input_format == "compact":
        check_compact_prompt(fields.compact_prompt, fields.dimensions, fields.reward_token)
    else:
        check_rubric_prompts(fields.rubric_prompts, fields.dimensions)
