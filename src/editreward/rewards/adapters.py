"""`EditRewardFunction` in the shapes the trainers call: TRL's `reward_funcs`, flow_grpo's reward `_fn`, and
UniRL's RewardService request (in process; `editreward serve` answers the same over HTTP)."""

import numpy as np

from . import wire


def instruction_of(prompt) -> str:
    """The instruction in a TRL prompt: the string itself, or the text of the last user turn of a conversation."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        for turn in reversed(prompt):
            if isinstance(turn, dict) and turn.get("role") == "user":
                content = turn.get("content")
                if isinstance(content, str):
                    return content
                texts = [part.get("text", "") for part in content or [] if isinstance(part, dict)
                         and part.get("type") == "text"]  # fmt: skip
                if texts:
                    return " ".join(texts)
    raise ValueError(f"cannot find the instruction in the prompt {prompt!r}: give a string, a conversation with a "
                     "user turn, or name an instruction column (instruction_column=).")  # fmt: skip


class TRLReward:
    """A TRL `reward_funcs` entry: `reward(prompts, completions, **columns) -> list[float]`, one per completion.

    The completions are the edited images (PIL, arrays, or tensors); the source image comes from the dataset
    column `source_column` (TRL passes every column as a keyword, repeated per generation); the instruction from
    `instruction_column`, else from the prompt. Logged by TRL as `editreward`."""

    __name__ = "editreward"

    def __init__(self, function, source_column: str = "source_image", instruction_column: str | None = None):
        self.function = function
        self.source_column = source_column
        self.instruction_column = instruction_column

    def __call__(self, prompts, completions, **kwargs) -> list[float]:
        if self.source_column not in kwargs:
            raise ValueError(f"TRL passed no column {self.source_column!r} (it has {sorted(kwargs)}); add the source "
                             "images to the dataset, or set source_column=.")  # fmt: skip
        if completions and isinstance(completions[0], (str, list)):
            raise TypeError("the completions are text; EditReward scores edited images: pass them as completions.")
        if self.instruction_column is not None:
            instructions = list(kwargs[self.instruction_column])
        else:
            instructions = [instruction_of(p) for p in prompts]
        return self.function(list(kwargs[self.source_column]), instructions, completions).tolist()


class FlowGRPOReward:
    """A flow_grpo reward: `_fn(images, prompts, metadata) -> (scores, {})`.

    `images` as flow_grpo gives them (an NCHW float tensor in [0, 1], or a list of PIL images or arrays),
    `prompts` the instructions, `metadata[i][source_key]` edit i's source image."""

    def __init__(self, function, source_key: str = "source_image"):
        self.function = function
        self.source_key = source_key

    def __call__(self, images, prompts, metadata):
        if not isinstance(metadata, (list, tuple)) or any(not isinstance(m, dict) for m in metadata):
            raise TypeError("metadata must be a list of dicts, one per image, holding the source image under "
                            f"{self.source_key!r}.")  # fmt: skip
        missing = [i for i, m in enumerate(metadata) if self.source_key not in m]
        if missing:
            raise ValueError(f"metadata{missing[:5]} hold no {self.source_key!r}: put each edit's source image there "
                             "(or set source_key=).")  # fmt: skip
        rewards = self.function([m[self.source_key] for m in metadata], list(prompts), images)
        return rewards.detach().float().cpu().numpy().astype(np.float32), {}


def score_unirl_request(function, payload: dict, limits: wire.Limits = wire.Limits()) -> dict:
    """Answer one UniRL RewardService `/score` request in process (what `editreward serve` answers over HTTP)."""
    outcomes = wire.unirl_items(payload, limits)
    good = [i for i, o in enumerate(outcomes) if isinstance(o, wire.Triplet)]
    if good:
        output, errors = function.score_items([outcomes[i].source for i in good],
                                              [outcomes[i].instruction for i in good],
                                              [outcomes[i].edited for i in good])  # fmt: skip
        for k, i in enumerate(good):  # named by the request, as unirl_items names its own errors
            message = wire.join_name(f"requests[{i}]", wire.item_message(errors[k])) if k in errors else None
            outcomes[i] = wire.ItemError(message) if message else wire.outcome_record(output, k, function.dimensions)
    return wire.unirl_response(payload, outcomes)
