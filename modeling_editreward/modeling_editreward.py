"""EditRewardModel: a Qwen2.5-VL or Qwen3-VL backbone whose final hidden state at the reward token feeds one Gaussian
head per quality dimension (EditReward, arXiv 2509.26346)."""

from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoConfig, PreTrainedModel
from transformers.utils import ModelOutput

from .attention_editreward import TREE_ATTENTION, TreeAttentionPlan
from .backbones_editreward import FAMILIES, NO_SPLIT_MODULES, backbone_family
from .configuration_editreward import EditRewardConfig
from .packing_editreward import RowStructure, plan_shared_prefix

__all__ = ["EditRewardHead", "EditRewardModel", "EditRewardOutput", "EditRewardPreTrainedModel", "fuse_dimensions"]


@dataclass
class EditRewardOutput(ModelOutput):
    """
    Scores of a batch of (source, instruction, edited) triplets. Each dimension's score is a Gaussian N(mu, sigma^2).

    Args:
        logits (`torch.FloatTensor` of shape `(batch, 1)`): the fused score, the scalar reward TRL reads.
        score (`torch.FloatTensor` of shape `(batch,)`): the fused score (mean of the fused Gaussian).
        score_log_sigma (`torch.FloatTensor` of shape `(batch,)`): log spread of the fused Gaussian.
        mu (`torch.FloatTensor` of shape `(batch, num_dimensions)`): per-dimension means, in config order.
        log_sigma (`torch.FloatTensor` of shape `(batch, num_dimensions)`): per-dimension log spreads.
        sigma (`torch.FloatTensor` of shape `(batch, num_dimensions)`): `exp(log_sigma)`.
    """

    logits: torch.FloatTensor | None = None
    score: torch.FloatTensor | None = None
    score_log_sigma: torch.FloatTensor | None = None
    mu: torch.FloatTensor | None = None
    log_sigma: torch.FloatTensor | None = None
    sigma: torch.FloatTensor | None = None


def fuse_dimensions(mu: torch.Tensor, log_sigma: torch.Tensor, fusion: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Fuse per-dimension Gaussians [batch, dims] into one [batch]: `mean` (the released models), `min`, `sum`."""
    if fusion == "mean":
        return mu.mean(-1), log_sigma.mean(-1)
    if fusion == "min":
        return mu.min(-1).values, log_sigma.min(-1).values
    if fusion == "sum":  # sum of independent Gaussians
        return mu.sum(-1), 0.5 * torch.logsumexp(2 * log_sigma, dim=-1)
    raise ValueError(f"Unknown fusion {fusion!r}; use mean, min or sum.")


class EditRewardHead(nn.Sequential):
    """Linear -> ReLU -> Dropout -> (Linear -> ReLU)* -> Linear(., 2): `[mu, log_sigma]` from one hidden state.

    With hidden sizes (1024, 16) the Sequential indices are 0, 3, 5, as in the released checkpoints.
    """

    def __init__(self, input_size: int, hidden_sizes: list[int], dropout: float):
        layers, size = [], input_size
        for i, hidden in enumerate(hidden_sizes):
            layers += [nn.Linear(size, hidden), nn.ReLU()] + ([nn.Dropout(dropout)] if i == 0 else [])
            size = hidden
        super().__init__(*layers, nn.Linear(size, 2))


class RewardTokenEmbedding(nn.Module):
    """The reward token's input embedding, a module of its own so that it trains (and PEFT can save it) while the
    backbone's embedding matrix stays frozen. Calling it returns the vector."""

    def __init__(self, hidden_size: int, dtype: torch.dtype | None = None):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(hidden_size, dtype=dtype))

    def forward(self) -> torch.Tensor:
        return self.weight


class EditRewardPreTrainedModel(PreTrainedModel):
    config_class = EditRewardConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _no_split_modules = NO_SPLIT_MODULES
    _keep_in_fp32_modules_strict = ["heads"]
    _supports_sdpa = True
    _supports_flash_attn = True

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        """`PreTrainedModel.from_pretrained` that refuses checkpoints with missing or unexpected weights.

        A reward model loaded with random heads or a random reward token scores silently wrong, so every
        mismatch between the checkpoint and the architecture is an error naming the keys.
        """
        output_loading_info = kwargs.pop("output_loading_info", False)
        model, info = super().from_pretrained(*args, output_loading_info=True, **kwargs)
        problems = {kind: sorted(info.get(kind) or ()) for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")}
        problems = {kind: keys for kind, keys in problems.items() if keys}
        if problems:
            details = "; ".join(f"{kind} ({len(keys)}): {', '.join(map(str, keys[:8]))}" for kind, keys in problems.items())
            raise ValueError(
                f"The checkpoint does not match {cls.__name__}: {details}. Convert released EditReward checkpoints "
                "with `editreward convert`, and start new models with EditRewardModel.from_backbone."
            )
        return (model, info) if output_loading_info else model

    def _init_weights(self, module):
        if isinstance(module, RewardTokenEmbedding):
            nn.init.normal_(module.weight, std=self.config.vlm_config.text_config.initializer_range)
        elif isinstance(module, nn.Linear):
            module.reset_parameters()  # PyTorch's default, as the released heads


class EditRewardModel(EditRewardPreTrainedModel):
    """Scores edits: `model(**processor(source_images, instructions, edited_images))` -> `EditRewardOutput`.

    One backbone pass per call scores every (triplet, dimension) row; each distinct image goes through the vision
    tower once however many rows use it.
    """

    def __init__(self, config: EditRewardConfig, backbone=None):
        super().__init__(config)
        family = config.backbone_family
        self.model = backbone if backbone is not None else family.get("model_class")._from_config(config.vlm_config)
        embeddings = self.model.get_input_embeddings().weight
        self.reward_token = RewardTokenEmbedding(config.hidden_size, dtype=embeddings.dtype)
        self.heads = nn.ModuleDict(
            {dim: EditRewardHead(config.hidden_size, config.head_hidden_sizes, config.head_dropout) for dim in config.dimensions}
        )
        self.post_init()

    @classmethod
    def from_backbone(cls, backbone, processor, dtype=None, **config_kwargs) -> "EditRewardModel":
        """Start a new reward model from a pretrained Qwen2.5-VL or Qwen3-VL (a Hub id, a local folder or a loaded
        model; its config's `model_type` names the family).

        The heads start from PyTorch's default initialisation and the reward token from the mean input
        embedding; dimensions, prompts and pixel budget come from `processor` (see
        `EditRewardProcessor.from_backbone`), so that model and processor agree.
        """
        loaded = [family for family in FAMILIES.values() if isinstance(backbone, family.get("generation_class"))]
        if loaded:
            backbone = backbone.model
        elif not any(isinstance(backbone, family.get("model_class")) for family in FAMILIES.values()):
            family = backbone_family(AutoConfig.from_pretrained(backbone).model_type)
            backbone = family.get("generation_class").from_pretrained(backbone, dtype=dtype).model
        config = EditRewardConfig.from_processor(processor, backbone.config, **config_kwargs)
        config.check_processor(processor)
        model = cls(config, backbone=backbone)
        with torch.no_grad():
            model.reward_token.weight.copy_(backbone.get_input_embeddings().weight.float().mean(0))
        return model

    def get_input_embeddings(self):
        return self.model.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.model.set_input_embeddings(value)

    def _apply(self, fn, *args, **kwargs):
        """Dtype casts (`.to(bf16)`, `.half()`) move the heads but keep them in float32."""
        super()._apply(fn, *args, **kwargs)
        for param in self.heads.parameters():
            if param.dtype != torch.float32:
                param.data = param.data.float()
        return self

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor,
        pixel_values: torch.Tensor,
        image_grid_thw: torch.LongTensor,
        image_index: torch.LongTensor,
        **kwargs,
    ) -> EditRewardOutput:
        r"""
        Args:
            input_ids, attention_mask (`torch.LongTensor` of shape `(batch * num_dimensions, seq_len)`):
                one row per (triplet, dimension), triplet-major, right-padded, one reward token per row.
            pixel_values (`torch.FloatTensor` of shape `(num_patches, patch_dim)`): patches of the distinct images.
            image_grid_thw (`torch.LongTensor` of shape `(num_images, 3)`): the distinct images' patch grids.
            image_index (`torch.LongTensor` of shape `(batch, 2)`): per triplet, its source and edited image.
        """
        num_dims, per_triplet = len(self.config.dimensions), self.config.rows_per_triplet
        if input_ids.shape[0] != image_index.shape[0] * per_triplet:
            raise ValueError(
                f"input_ids has {input_ids.shape[0]} rows but {image_index.shape[0]} triplets x {per_triplet} rows "
                f"({self.config.input_format!r} input format) need {image_index.shape[0] * per_triplet}; build inputs "
                "with the model's own EditRewardProcessor."
            )
        rows = RowStructure.of(input_ids, attention_mask, image_index.repeat_interleave(per_triplet, dim=0), self.config)
        positions = self._position_ids(input_ids, attention_mask, image_grid_thw[rows.images.flatten()])
        features, deepstack = self._image_features(pixel_values, image_grid_thw)
        feature_index = rows.feature_index(image_grid_thw, self.model.visual.spatial_merge_size)
        token_row, token_col, valid, attention, reward_at = self._token_layout(input_ids, attention_mask, rows)
        ids = input_ids[token_row, token_col].masked_fill(~valid, self.config.vlm_config.text_config.pad_token_id or 0)
        token_features = feature_index[token_row, token_col].masked_fill(~valid, -1)
        inputs_embeds = self._embed(ids, features, token_features)
        hidden = self.model.language_model(
            inputs_embeds=inputs_embeds, position_ids=positions[:, token_row, token_col], use_cache=False,
            **attention, **self._deepstack_inputs(deepstack, token_features),
        ).last_hidden_state
        pooled = hidden[reward_at].view(image_index.shape[0], num_dims, -1).float()
        with torch.autocast(pooled.device.type, enabled=False):  # float32 heads even under Trainer's bf16 autocast
            raw = torch.stack([head(pooled[:, d]) for d, head in enumerate(self.heads.values())], dim=1)
        mu, log_sigma = raw.unbind(-1)
        score, score_log_sigma = fuse_dimensions(mu, log_sigma, self.config.fusion)
        return EditRewardOutput(
            logits=score.unsqueeze(-1), score=score, score_log_sigma=score_log_sigma,
            mu=mu, log_sigma=log_sigma, sigma=log_sigma.exp(),
        )

    def _token_layout(self, input_ids, attention_mask, rows):
        """Which (row, column) of the inputs each computed token is, which are real, the language model's attention
        arguments, and where each row's reward token lands: shared-prefix packing, or one computed row per input
        row."""
        if self._shares_prefix():
            if (attention_mask[:, 1:] > attention_mask[:, :-1]).any():
                raise ValueError(
                    "attention_mask is left-padded (padding before tokens), which shared-prefix packing cannot take. "
                    "Build inputs with EditRewardProcessor, or pad with padding_side='right' "
                    "(or set config.share_prefix=False)."
                )
            layout = plan_shared_prefix(
                input_ids, rows.prefix_end.tolist(), rows.edit_end.tolist(),
                rows.images[:, 0].tolist(), rows.images[:, 1].tolist(), rows.reward_cols.tolist(),
            )
            attention = self._packed_attention(layout)
            return layout.source_row, layout.source_col, layout.valid, attention, layout.reward_index.unbind(-1)
        length = int(rows.reward_col.max()) + 1  # causal: tokens after the last reward token cannot change it
        token_row = torch.arange(input_ids.shape[0], device=input_ids.device)[:, None].expand(-1, length)
        token_col = torch.arange(length, device=input_ids.device).expand(input_ids.shape[0], -1)
        mask = attention_mask[:, :length]
        reward_rows = token_row[:, :1].expand_as(rows.reward_cols)
        return token_row, token_col, mask.bool(), {"attention_mask": mask}, (reward_rows, rows.reward_cols)

    def _packed_attention(self, layout) -> dict:
        """The language model's attention arguments for packed rows: a tree plan that computes only the blocks the
        mask allows (`config.packed_attention="tree"`, under SDPA), or the dense 4-D mask (`"mask"`, or eager
        attention, which takes no plan)."""
        if self.config.packed_attention == "mask" or self._attn_implementation_name() == "eager":
            return {"attention_mask": self._attention_mask_4d(layout.attention_mask())}
        text_config = self.model.language_model.config
        if text_config._attn_implementation != TREE_ATTENTION:  # SDPA itself when called without a plan
            text_config._attn_implementation = TREE_ATTENTION
        return {"attention_mask": None, "editreward_tree": TreeAttentionPlan.of(layout)}

    def encode_images(self, pixel_values: torch.Tensor, image_grid_thw: torch.LongTensor) -> tuple[torch.Tensor, ...]:
        """Vision-tower features of each distinct image, one tensor of visual tokens per image."""
        return self.model.get_image_features(pixel_values, image_grid_thw).pooler_output

    def _image_features(self, pixel_values, image_grid_thw):
        """One vision-tower pass over the distinct images: their visual tokens [tokens, hidden], concatenated, and
        for a DeepStack backbone (Qwen3-VL) each DeepStack layer's features of the same tokens (else None)."""
        output = self.model.get_image_features(pixel_values, image_grid_thw)
        deepstack = getattr(output, "deepstack_features", None) if self.config.backbone_family.deepstack else None
        return torch.cat(output.pooler_output), None if deepstack is None else [torch.cat(f) for f in deepstack]

    @staticmethod
    def _deepstack_inputs(deepstack, token_features) -> dict:
        """The language model's DeepStack inputs for the computed tokens: the visual positions and, per DeepStack
        layer, the features of the visual token at each of them (in row-major order, as the decoder adds them), so
        that packed rows receive exactly what their own rows would. Empty for a backbone without DeepStack."""
        if deepstack is None:
            return {}
        is_image = token_features >= 0
        at = token_features[is_image]
        return {"visual_pos_masks": is_image, "deepstack_visual_embeds": [layer[at] for layer in deepstack]}

    def _shares_prefix(self) -> bool:
        """Shared-prefix packing needs tree attention (SDPA) or a custom 4-D mask, which flash kernels cannot take."""
        return self.config.share_prefix and self._attn_implementation_name() in ("sdpa", "eager", TREE_ATTENTION)

    def _attn_implementation_name(self) -> str:
        return self.model.language_model.config._attn_implementation or "eager"

    def _attention_mask_4d(self, allowed: torch.BoolTensor) -> torch.Tensor:
        """SDPA takes a boolean mask; eager attention adds a float mask to its scores."""
        if self._attn_implementation_name() in ("sdpa", TREE_ATTENTION):
            return allowed
        dtype = self.model.language_model.dtype
        return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill(~allowed, torch.finfo(dtype).min)

    def _embed(self, ids, features, feature_index):
        """Token embeddings, with the reward-token module's vector and the image features put in place."""
        is_reward = ids == self.config.reward_token_id
        is_image = feature_index >= 0
        embeds = self.model.get_input_embeddings()(ids.masked_fill(is_reward | is_image, 0))
        embeds = torch.where(is_reward.unsqueeze(-1), self.reward_token().to(embeds.dtype), embeds)
        return embeds.masked_scatter(is_image.unsqueeze(-1), features[feature_index[is_image]].to(embeds.dtype))

    def _position_ids(self, input_ids, attention_mask, row_grids):
        """[3, rows, seq] rotary positions: the backbone's 3-D M-RoPE, or the released models' 1-D positions."""
        if self.config.position_mode == "sequential":
            positions = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
            return positions.unsqueeze(0).expand(3, -1, -1)
        mm_token_type_ids = (input_ids == self.config.vlm_config.image_token_id).int()
        positions, _ = self.model.get_rope_index(
            input_ids, mm_token_type_ids=mm_token_type_ids, image_grid_thw=row_grids, attention_mask=attention_mask
        )
        return positions
