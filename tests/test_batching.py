"""EditRewardScorer's batching: token-budget batches and recovery from out-of-memory errors, with scores identical
to one unbatched forward."""

import numpy as np
import pytest
import torch
from PIL import Image

from editreward import EditRewardScorer
from editreward.modeling_editreward.packing_editreward import RowStructure, plan_shared_prefix
from editreward.modeling_editreward.scoring import TripletTokens, batch_tokens


@pytest.fixture(scope="module")
def triplets(photos):
    """Six triplets of three sources, interleaved (so batches cut across groups), one edit repeated."""
    a, c, r = photos["astronaut"], photos["coffee"], photos["rocket"]
    gray = lambda image: image.convert("L").convert("RGB")  # noqa: E731
    mirror = lambda image: image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)  # noqa: E731
    rows = [(a, "make it gray", gray(a)), (c, "mirror it", mirror(c)), (a, "make it gray", mirror(a)),
            (r, "add a moon", c), (c, "mirror it", gray(c)), (a, "make it gray", gray(a))]  # fmt: skip
    return [list(column) for column in zip(*rows)]


def unbatched(model, processor, triplets):
    """Fused score, mu and sigma from one forward over every triplet."""
    with torch.inference_mode():
        out = model(**processor(*triplets))
    return out.score.numpy(), out.mu.numpy(), out.sigma.numpy()


def assert_same_scores(scores, expected):
    for got, want in zip((scores.score, scores.mu, scores.sigma), expected):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


class ForwardRecorder:
    """A test double at the model's call: records each forward's triplets and tokens, and raises
    torch.OutOfMemoryError, as CUDA does, for a forward of more than `oom_above` triplets."""

    def __init__(self, model, oom_above: int | None = None):
        self.model, self.forward, self.oom_above = model, model.forward, oom_above
        self.triplets, self.tokens = [], []

    def __call__(self, **inputs):
        config = self.model.config
        self.triplets.append(inputs["image_index"].shape[0])
        self.tokens.append(batch_tokens(TripletTokens.of(inputs, config), config.rows_per_triplet,
                                        self.model._shares_prefix()))  # fmt: skip
        if self.oom_above is not None and self.triplets[-1] > self.oom_above:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.forward(**inputs)


def recorded_scorer(model, processor, monkeypatch, oom_above=None, **kwargs):
    recorder = ForwardRecorder(model, oom_above)
    monkeypatch.setattr(model, "forward", recorder)
    return EditRewardScorer(model, processor, device="cpu", **kwargs), recorder


@pytest.mark.parametrize("share_prefix", [True, False])
def test_batch_tokens_is_what_the_forward_computes(make_model, processor, triplets, share_prefix):
    model = make_model(share_prefix=share_prefix)
    inputs = processor(*triplets)
    num_dims = len(model.config.dimensions)
    rows = RowStructure.of(inputs["input_ids"], inputs["attention_mask"],
                           inputs["image_index"].repeat_interleave(num_dims, dim=0), model.config)  # fmt: skip
    if share_prefix:
        layout = plan_shared_prefix(inputs["input_ids"], rows.prefix_end.tolist(), rows.edit_end.tolist(),
                                    rows.images[:, 0].tolist(), rows.images[:, 1].tolist(), rows.reward_cols.tolist())
        computed = layout.valid.numel()  # packed rows x packed length
    else:
        computed = inputs["input_ids"].shape[0] * (int(rows.reward_col.max()) + 1)
    assert batch_tokens(TripletTokens.of(inputs, model.config), num_dims, share_prefix) == computed


def test_batches_fit_the_token_budget_and_score_as_one_forward(make_model, processor, triplets, monkeypatch):
    model = make_model(seed=3)
    expected = unbatched(model, processor, triplets)
    costs = TripletTokens.of(processor(*triplets), model.config)
    budget = batch_tokens(costs[:2], 2, True)  # two of the six triplets fit a forward, never all
    scorer, recorder = recorded_scorer(model, processor, monkeypatch, batch_size=6, max_batch_tokens=budget)
    assert_same_scores(scorer(*triplets), expected)
    assert len(recorder.triplets) > 1 and sum(recorder.triplets) == 6
    assert all(tokens <= budget for tokens in recorder.tokens)


def test_out_of_memory_halves_the_batch_without_losing_or_repeating_a_triplet(make_model, processor, triplets,
                                                                               monkeypatch):  # fmt: skip
    model = make_model(seed=4)
    expected = unbatched(model, processor, triplets)
    scorer, recorder = recorded_scorer(model, processor, monkeypatch, oom_above=2, batch_size=4)
    scores = scorer(*triplets)
    assert_same_scores(scores, expected)
    # window 1 (triplets 0-3): 4 fails, then halves of 2; window 2 (4-5) keeps the halved size
    assert recorder.triplets == [4, 2, 2, 2]
    assert len(scores) == 6


def test_out_of_memory_halves_again_until_it_fits(make_model, processor, triplets, monkeypatch):
    model = make_model(seed=5)
    expected = unbatched(model, processor, triplets)
    scorer, recorder = recorded_scorer(model, processor, monkeypatch, oom_above=1, batch_size=6)
    assert_same_scores(scorer(*triplets), expected)
    assert recorder.triplets == [6, 3] + [1] * 6


def test_one_edit_that_does_not_fit_is_named(make_model, processor, triplets, monkeypatch):
    scorer, _ = recorded_scorer(make_model(), processor, monkeypatch, oom_above=0)
    with pytest.raises(torch.OutOfMemoryError, match=r"^One edit \(\d+ language-model tokens\) does not fit in memory "
                                                     r"on cpu; lower the image budget"):
        scorer(*(column[:1] for column in triplets))


def test_an_edit_over_the_token_budget_is_scored_alone(make_model, processor, triplets, monkeypatch):
    model = make_model(seed=6)
    expected = unbatched(model, processor, [column[:3] for column in triplets])
    scorer, recorder = recorded_scorer(model, processor, monkeypatch, batch_size=3, max_batch_tokens=1)
    assert_same_scores(scorer(*(column[:3] for column in triplets)), expected)
    assert recorder.triplets == [1, 1, 1]


@pytest.mark.parametrize("option", ["batch_size", "max_batch_tokens"])
def test_batch_limits_must_be_positive_integers(make_model, processor, option):
    with pytest.raises(ValueError, match=f"^{option} must be a positive integer, got 0"):
        EditRewardScorer(make_model(), processor, device="cpu", **{option: 0})


def test_the_rl_reward_keeps_groups_whole_within_the_token_budget_and_halves_on_out_of_memory(
    make_model, processor, triplets, monkeypatch
):
    """The RL caller batches the same way: groups of (source, instruction) in order, at most `max_batch_tokens` per
    forward, halved after an out-of-memory error, every edit rewarded once and as one unbatched forward would."""
    from editreward.rewards import EditRewardFunction

    model = make_model(seed=7)
    expected = torch.as_tensor(unbatched(model, processor, triplets)[0])
    budget = batch_tokens(TripletTokens.of(processor(*triplets), model.config)[:2], 2, True)
    recorder = ForwardRecorder(model, oom_above=1)
    monkeypatch.setattr(model, "forward", recorder)
    reward = EditRewardFunction(model, processor, max_batch_edits=6, max_batch_tokens=budget, device="cpu")
    torch.testing.assert_close(reward(*triplets), expected, atol=1e-5, rtol=0)
    assert max(recorder.triplets) == 2 and all(tokens <= budget for tokens in recorder.tokens)
    assert recorder.triplets.count(1) == 6  # each edit once, after the first two-edit forward ran out of memory
