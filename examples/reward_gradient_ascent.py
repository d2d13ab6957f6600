"""Gradient ascent on an edit through the differentiable reward (ReFL / DRaFT style, in miniature).

    python examples/reward_gradient_ascent.py --model quickstart-output/model [--steps 40] [--lr 0.05]
    python examples/reward_gradient_ascent.py --fast      # a tiny random model, a few steps: checks the plumbing

The "editor" is a per-channel gain and bias on a real photo (scikit-image's coffee), edited = clamp(photo * gain +
bias, 0, 1); the reward is `EditRewardFunction(..., differentiable=True)` under the instruction "make the photo
darker", and Adam climbs it. Each step prints the reward and the photo's mean brightness; under a model that learned
the instruction (the quickstart's), the reward rises and the photo darkens.
"""

import argparse
import sys

import numpy as np
import torch


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="EditReward model folder or Hub id (e.g. quickstart-output/model)")
    parser.add_argument("--fast", action="store_true", help="a tiny random model and 3 steps (no --model needed)")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--instruction", default="make the photo darker")
    parser.add_argument("--dimension", help="climb one dimension's mu (e.g. instruction_following), not the fused mu")
    args = parser.parse_args(argv)
    if not args.fast and not args.model:
        parser.error("give --model DIR (e.g. quickstart-output/model, from `editreward quickstart`) or --fast")
    return args


def tiny_reward():
    """A tiny random EditReward model built offline (the test suite's size), as a differentiable reward."""
    from editreward import EditRewardConfig, EditRewardModel, EditRewardProcessor
    from editreward.offline import backbone_config, image_processor, qwen25_tokenizer, qwen25_vl_chat_template
    from editreward.rewards import EditRewardFunction

    pixels = 56 * 56
    tokenizer = qwen25_tokenizer()
    processor = EditRewardProcessor(image_processor=image_processor(pixels), tokenizer=tokenizer,
                                    chat_template=qwen25_vl_chat_template(), image_pixels=pixels)  # fmt: skip
    torch.manual_seed(0)
    config = EditRewardConfig(vlm_config=backbone_config(tokenizer), reward_token_id=processor.reward_token_id,
                              image_pixels=pixels)  # fmt: skip
    return EditRewardFunction(EditRewardModel(config), processor, differentiable=True)


def photo(size=(160, 120)) -> torch.Tensor:
    from PIL import Image
    from skimage import data

    image = Image.fromarray(data.coffee()).convert("RGB").resize(size, Image.Resampling.BICUBIC)
    return torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 255


def main(argv=None) -> dict:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from editreward.rewards import EditRewardFunction

    if args.fast:
        reward, steps = tiny_reward(), 3
    else:
        weights = {args.dimension: 1.0} if args.dimension else None
        reward = EditRewardFunction.from_pretrained(args.model, differentiable=True, weights=weights)
        steps = args.steps
    source = photo()
    gain = torch.ones(3, 1, 1, requires_grad=True)
    bias = torch.zeros(3, 1, 1, requires_grad=True)
    optimizer = torch.optim.Adam([gain, bias], lr=args.lr)
    curve = {"reward": [], "brightness": []}
    for step in range(steps + 1):
        edited = (source * gain + bias).clamp(0, 1)
        value = reward(source, args.instruction, edited[None])[0]
        curve["reward"].append(value.item())
        curve["brightness"].append(edited.mean().item())
        print(f"step {step:3d}  reward {value.item():+.4f}  mean brightness {edited.mean().item():.3f}  "
              f"gain {gain.flatten().tolist()}  bias {bias.flatten().tolist()}", flush=True)
        if step == steps:
            break
        optimizer.zero_grad()
        (-value).backward()
        optimizer.step()
    print(f"reward {curve['reward'][0]:+.4f} -> {curve['reward'][-1]:+.4f}; mean brightness "
          f"{curve['brightness'][0]:.3f} -> {curve['brightness'][-1]:.3f} (source {source.mean().item():.3f})")
    return curve


if __name__ == "__main__":
    main()
