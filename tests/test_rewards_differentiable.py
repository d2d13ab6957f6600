"""differentiable=True: torch preprocessing equals the PIL path within 8-bit rounding, the gradient reaches the
edited pixels and matches finite differences, and the reward model's weights stay frozen unless asked."""

import numpy as np
import pytest
import torch

from editreward.rewards import EditRewardFunction
from editreward.rewards import differentiable as diff

# Where the paths differ: PIL rounds the resized image to 8 bits, torch does not. So patches (normalised units,
# divided by the image processor's std of about 0.27) differ by at most one 8-bit level, 1/255/0.26 = 0.0151.
PATCH_TOLERANCE = 1.05 / 255 / 0.26
SCORE_TOLERANCE = 1e-3  # measured about 1e-4 on the tiny models


def as_tensor(image) -> torch.Tensor:
    return torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 255


@pytest.mark.parametrize("size", [(160, 120), (300, 200), (90, 130)])  # down, far down, up (aspect kept)
def test_torch_patches_equal_the_processors_within_8_bit_rounding(processor, photos, size):
    from conftest import photo

    edit = photo("chelsea", size)
    inputs = processor(source_images=[photos["astronaut"]], instructions=["make it darker"], edited_images=[edit])
    expected = inputs["pixel_values"][int(inputs["image_grid_thw"][0].prod()) :]
    image = as_tensor(edit)
    patches = diff.edited_patches(image, processor, diff.budget_size(image, processor, "edit"))
    assert patches.shape == expected.shape
    assert (patches - expected).abs().max() <= PATCH_TOLERANCE
    assert (patches - expected).abs().mean() <= PATCH_TOLERANCE / 2


@pytest.mark.parametrize("frames", ["repeat", "source_then_edited"])
def test_differentiable_scores_equal_the_pil_path(make_processor, make_model, photos, frames):
    processor = make_processor(edited_image_frames=frames)
    model = make_model(seed=5, edited_image_frames=frames)
    sources = [photos["astronaut"], photos["astronaut"], photos["coffee"]]
    edits = [photos["chelsea"], photos["astronaut"].convert("L").convert("RGB"), photos["rocket"].resize((200, 150))]
    instructions = ["make it darker", "make it darker", "add a rocket"]
    expected = EditRewardFunction(model, processor)(sources, instructions, edits)
    tensors = [as_tensor(e).requires_grad_() for e in edits]
    rewards = EditRewardFunction(model, processor, differentiable=True)(sources, instructions, tensors)
    assert rewards.requires_grad
    torch.testing.assert_close(rewards.detach(), expected, atol=SCORE_TOLERANCE, rtol=0)


@pytest.fixture(scope="module")
def darken(make_model, processor, photos):
    """Reward of a per-channel gain applied to a real photo, as a function of the gain (float64 finite steps)."""
    reward = EditRewardFunction(make_model(seed=7), processor, differentiable=True)
    image = as_tensor(photos["coffee"]) * 0.7 + 0.1  # in [0.1, 0.8]: a gain up to 1.25 stays in [0, 1]

    def f(gain):
        return reward(photos["coffee"], "make the photo darker", (image * gain[:, None, None])[None])[0]

    return reward, f


def test_gradient_matches_finite_differences(darken):
    _, f = darken
    gain = torch.tensor([0.9, 1.0, 1.1], requires_grad=True)
    f(gain).backward()
    step = 2e-2
    for c in range(3):
        e = torch.zeros(3)
        e[c] = step
        with torch.no_grad():
            numeric = (f(gain.detach() + e) - f(gain.detach() - e)) / (2 * step)
        assert gain.grad[c].item() == pytest.approx(numeric.item(), rel=0.05, abs=1e-5)
    assert gain.grad.abs().sum() > 0


def test_frozen_weights_get_no_gradient_unless_asked(darken, make_model, processor, photos):
    reward, f = darken
    gain = torch.ones(3, requires_grad=True)
    f(gain).backward()
    assert all(p.grad is None and not p.requires_grad for p in reward.model.parameters())
    trained = EditRewardFunction(make_model(seed=8), processor, differentiable=True, train_model=True)
    trained(photos["coffee"], "make the photo darker", as_tensor(photos["chelsea"])[None]).sum().backward()
    assert all(p.grad is not None for p in trained.model.heads.parameters())


def test_differentiable_needs_float_tensors(darken, photos):
    reward, _ = darken
    with pytest.raises(TypeError, match=r"edited_images\[0\] is a Image; differentiable=True needs float tensors"):
        reward(photos["coffee"], "make it darker", [photos["chelsea"]])
    with pytest.raises(ValueError, match="train_model=True needs differentiable=True"):
        EditRewardFunction(reward.model, reward.processor, train_model=True)


def test_the_gradient_ascent_example_runs_fast():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "reward_gradient_ascent.py"
    spec = importlib.util.spec_from_file_location("reward_gradient_ascent", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    curve = example.main(["--fast", "--lr", "0.01"])
    assert len(curve["reward"]) == 4 and all(np.isfinite(curve["reward"]))
    assert curve["brightness"][0] != curve["brightness"][-1]  # the gradient moved the edit
