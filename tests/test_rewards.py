"""EditRewardFunction in process: the reward is the scorer's fused mu, whatever the input kind; weights and the
uncertainty penalty; groups scored in one call; per-prompt z-scores; bad inputs named; the trainers' adapters."""

import numpy as np
import pytest
import torch
from PIL import Image

from editreward import EditRewardScorer
from editreward.rewards import EditRewardFunction, FlowGRPOReward, TRLReward, per_prompt_zscores, score_unirl_request
from editreward.rewards.wire import encode_image


@pytest.fixture(scope="module")
def model(make_model):
    return make_model(seed=3)


@pytest.fixture(scope="module")
def reward(model, processor):
    return EditRewardFunction(model, processor, max_batch_edits=4)


@pytest.fixture(scope="module")
def triplets(photos):
    """Two GRPO groups (astronaut/"make it black and white", coffee/"mirror it"), interleaved."""
    a, c, cat = photos["astronaut"], photos["coffee"], photos["chelsea"]
    gray = a.convert("L").convert("RGB")
    mirror = c.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    sources = [a, c, a, c, a]
    instructions = ["make it black and white", "mirror it", "make it black and white", "mirror it",
                    "make it black and white"]  # fmt: skip
    edits = [gray, mirror, cat, c, a]
    return sources, instructions, edits


def as_tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 255


def test_rewards_are_the_scorers_fused_score(reward, model, processor, triplets):
    expected = EditRewardScorer(model, processor).__call__(*triplets).score
    rewards = reward(*triplets)
    assert rewards.dtype == torch.float32 and rewards.shape == (5,)
    np.testing.assert_allclose(rewards.numpy(), expected, atol=1e-5)


def test_pil_uint8_arrays_and_float_tensors_give_the_same_rewards(reward, triplets):
    sources, instructions, edits = triplets
    from_pil = reward(sources, instructions, edits)
    from_arrays = reward([np.array(s) for s in sources], instructions, [np.array(e) for e in edits])
    from_batch = reward(torch.stack([as_tensor(s) for s in sources]), instructions,
                        torch.stack([as_tensor(e) for e in edits]))  # fmt: skip
    torch.testing.assert_close(from_arrays, from_pil, atol=1e-6, rtol=0)
    torch.testing.assert_close(from_batch, from_pil, atol=1e-6, rtol=0)


def test_one_source_and_instruction_apply_to_every_edit(reward, triplets):
    sources, instructions, edits = triplets
    group = [edits[0], edits[2], edits[4]]
    torch.testing.assert_close(reward(sources[0], instructions[0], group), reward(*triplets)[[0, 2, 4]], atol=1e-6,
                               rtol=0)  # fmt: skip


def test_weights_and_the_uncertainty_penalty(model, processor, triplets):
    out = EditRewardFunction(model, processor).score(*triplets)
    torch.testing.assert_close(out.rewards, out.score)
    penalised = EditRewardFunction(model, processor, uncertainty_penalty=0.5)(*triplets)
    torch.testing.assert_close(penalised, out.score - 0.5 * out.score_sigma)
    weights = {"instruction_following": 0.75, "visual_quality": 0.25}
    weighted = EditRewardFunction(model, processor, weights=weights, uncertainty_penalty=1.0)(*triplets)
    w = torch.tensor([0.75, 0.25])
    torch.testing.assert_close(weighted, out.mu @ w - ((out.sigma**2) @ w**2).sqrt())
    only_following = EditRewardFunction(model, processor, weights={"instruction_following": 1.0})(*triplets)
    torch.testing.assert_close(only_following, out.mu[:, 0])


def test_unknown_weights_and_negative_penalty_are_refused(model, processor):
    with pytest.raises(ValueError, match=r"unknown dimensions \['aesthetics'\]"):
        EditRewardFunction(model, processor, weights={"aesthetics": 1.0})
    with pytest.raises(ValueError, match="uncertainty_penalty must be >= 0"):
        EditRewardFunction(model, processor, uncertainty_penalty=-1)


def test_each_group_is_scored_in_one_forward_call(model, processor, triplets):
    calls = []
    hook = model.register_forward_pre_hook(lambda m, a, kw: calls.append(kw["image_index"].clone()), with_kwargs=True)
    try:
        EditRewardFunction(model, processor, max_batch_edits=3)(*triplets)
    finally:
        hook.remove()
    # the astronaut group (3 edits) in one call, the coffee group (2) in the other, each with its one source
    assert sorted(len(index) for index in calls) == [2, 3]
    assert all(len(set(index[:, 0].tolist())) == 1 for index in calls)


def test_group_keys_follow_source_content_and_instruction(reward, triplets, photos):
    sources, instructions, edits = triplets
    copy = photos["astronaut"].copy()  # another object, the same pixels: the same group
    keys = reward.group_keys([sources[0], copy, sources[1]], [instructions[0]] * 3, edits[:3])
    assert keys[0] == keys[1] != keys[2]


def test_per_prompt_zscores_follow_flow_grpo(reward, triplets):
    rewards = np.array([0.3, 1.0, -0.2, 0.4, 0.8, 5.0])
    prompts = ["a", "b", "a", "b", "a", "c"]
    z = per_prompt_zscores(rewards, prompts, epsilon=1e-4).numpy()
    for p in set(prompts):
        members = [i for i, q in enumerate(prompts) if q == p]
        group = rewards[members]
        np.testing.assert_allclose(z[members], (group - group.mean()) / (group.std() + 1e-4))
    assert z[5] == 0.0  # a group of one
    wide = per_prompt_zscores(rewards, prompts, epsilon=10.0).numpy()
    np.testing.assert_allclose(wide[[0, 2, 4]], (rewards[[0, 2, 4]] - rewards[[0, 2, 4]].mean()) / (
        rewards[[0, 2, 4]].std() + 10.0))
    global_std = per_prompt_zscores(rewards, prompts, global_std=True).numpy()
    np.testing.assert_allclose(global_std[[1, 3]], (rewards[[1, 3]] - 0.7) / (rewards.std() + 1e-4))
    values, advantages = reward.group_advantages(*triplets)
    torch.testing.assert_close(advantages, per_prompt_zscores(values, triplets[1]), atol=1e-5, rtol=0)


def test_bad_inputs_are_named_by_their_position(reward, triplets, photos):
    sources, instructions, edits = triplets
    tensors = torch.stack([as_tensor(e) for e in edits])
    tensors[3] *= 2
    with pytest.raises(ValueError, match=r"edited_images\[3\]: tensor has values in \[0, 2\]"):
        reward(sources, instructions, tensors)
    small = photos["rocket"].resize((20, 12))
    # position 3 is scored in the second call of the grouped plan, first there: still named 3
    with pytest.raises(ValueError, match=r"edited_images\[3\]: image is 20x12 px"):
        reward(sources, instructions, edits[:3] + [small] + edits[4:])
    with pytest.raises(ValueError, match=r"instructions\[1\] is empty"):
        reward(sources, [instructions[0], " ", *instructions[2:]], edits)
    with pytest.raises(ValueError, match="must have the same length"):
        reward(sources[:2], instructions, edits)


def test_score_items_fails_a_bad_item_alone(reward, triplets, photos):
    sources, instructions, edits = triplets
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    output, errors = reward.score_items(sources, instructions, edits[:2] + [rgba] + edits[3:])
    assert list(errors) == [2] and "edited_images[2]" in errors[2] and "transparent" in errors[2]
    assert torch.isnan(output.rewards[2])
    expected = reward(*triplets)
    torch.testing.assert_close(output.rewards[[0, 1, 3, 4]], expected[[0, 1, 3, 4]], atol=1e-5, rtol=0)


def test_trl_reward_takes_trls_call(reward, triplets):
    from trl.trainer.utils import get_callable_name

    sources, instructions, edits = triplets
    trl_reward = TRLReward(reward)
    conversations = [[{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]
                     for text in instructions]  # fmt: skip
    # as GRPOTrainer._calculate_rewards calls it: dataset columns as keywords, plus completion_ids and trainer_state
    values = trl_reward(prompts=conversations, completions=edits, completion_ids=[[0]] * 5, trainer_state=None,
                        source_image=sources, log_extra=None, log_metric=None)  # fmt: skip
    assert isinstance(values, list) and all(isinstance(v, float) for v in values)
    np.testing.assert_allclose(values, reward(*triplets).numpy(), atol=1e-6)
    assert get_callable_name(trl_reward) == "editreward"
    with pytest.raises(ValueError, match="no column 'source_image'"):
        trl_reward(prompts=instructions, completions=edits)


def test_flow_grpo_reward_takes_images_prompts_metadata(reward, triplets):
    sources, instructions, edits = triplets
    images = torch.stack([as_tensor(e) for e in edits])  # flow_grpo hands decoded NCHW floats in [0, 1]
    scores, details = FlowGRPOReward(reward)(images, instructions, [{"source_image": s} for s in sources])
    assert details == {} and scores.dtype == np.float32 and scores.shape == (5,)
    np.testing.assert_allclose(scores, reward(*triplets).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match=r"metadata\[0, 1, 2, 3, 4\] hold no 'source_image'"):
        FlowGRPOReward(reward)(images, instructions, [{}] * 5)


def test_unirl_request_is_answered_with_named_sub_rewards_and_item_errors(reward, triplets):
    sources, instructions, edits = triplets
    requests = [{"history": [{"text": t, "image_b64": encode_image(s)}, {"text": t, "image_b64": encode_image(e)}],
                 "required_rewards": ["editreward"], "metadata": None, "request_id": f"r{i}", "sample_id": i,
                 "group_id": t, "source_rank": 0, "policy_version": 7, "scorer_version": None,
                 "idempotency_key": f"k{i}"} for i, (s, t, e) in enumerate(zip(sources, instructions, edits))]
    requests[1]["history"][1]["image_b64"] = "not base64!"
    requests[3]["required_rewards"] = ["pickscore"]
    requests[4]["history"][1]["image_b64"] = encode_image(edits[4].resize((20, 12)))
    response = score_unirl_request(reward, {"protocol_version": "1", "requests": requests})
    out = reward.score(*triplets)
    assert response["protocol_version"] == "1" and len(response["results"]) == 5
    for i in (0, 2):
        sub = response["results"][i]["editreward"]
        assert list(sub) == ["score", "instruction_following", "visual_quality"]  # means only, the reward first
        assert sub["score"] == pytest.approx(float(out.rewards[i]), abs=1e-5)
        assert np.mean(list(sub.values())) == pytest.approx(float(out.score[i]), abs=1e-5)  # mean fusion
        assert response["errors"][i] == {}
    assert "requests[1].history[1]: not valid base64" in response["errors"][1]["editreward"]
    assert "do not include 'editreward'" in response["errors"][3]["editreward"]
    assert response["errors"][4]["editreward"].startswith("requests[4].edited_image: image is 20x12 px")
    assert response["results"][1] == response["results"][3] == response["results"][4] == {}
    assert response["identities"][2] == {key: requests[2][key] for key in response["identities"][2]}


def test_batches_hold_whole_groups_and_cut_only_a_group_too_large():
    from editreward.rewards.groups import plan_batches

    keys = ["a", "b", "a", "c", "b", "a", "c", "c", "c", "c", "c"]
    assert plan_batches(keys, 4) == [[0, 2, 5], [1, 4], [3, 6, 7, 8], [9, 10]]
    assert plan_batches(keys, 100) == [[0, 2, 5, 1, 4, 3, 6, 7, 8, 9, 10]]
    with pytest.raises(ValueError, match="max_batch_edits must be at least 1"):
        plan_batches(keys, 0)
