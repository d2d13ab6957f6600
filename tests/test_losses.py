"""The ranking losses against float64 numerical integration written here, and the behaviour each loss promises."""

import math

import numpy as np
import pytest
import torch

from editreward.modeling_editreward.gaussian import log_preference_probability
from editreward.trainer.losses import (
    PAIRWISE_LOSSES,
    bradley_terry_loss,
    expected_bt_loss,
    gaussian_nll_loss,
    pairwise_loss,
    per_dimension_ranking_loss,
    pointwise_loss,
)

# Trapezoid rule over e ~ N(0, 1) on [-12, 12]; the tails beyond carry less than 1e-32 of the mass.
GRID, STEP = np.linspace(-12.0, 12.0, 200_001, retstep=True)
TRAPEZOID_WEIGHTS = np.exp(-0.5 * GRID**2) / math.sqrt(2 * math.pi) * STEP
TRAPEZOID_WEIGHTS[[0, -1]] /= 2


def gaussian_expectation(f, d, s):
    return (TRAPEZOID_WEIGHTS * f(d + s * GRID)).sum()


def reference_expected_bt(d, s):
    return gaussian_expectation(lambda z: np.logaddexp(0.0, -z), d, s)


def reference_gaussian_nll(d, s):
    p_rejected_wins = gaussian_expectation(lambda z: np.exp(-np.logaddexp(0.0, z)), d, s)
    return -np.log1p(-p_rejected_wins)


DIFFERENCES = [-6.0, -2.0, -0.3, 0.0, 0.3, 2.0, 6.0]
LOG_SIGMAS = [(-4.0, -4.0), (0.0, 0.0), (-1.0, 0.5), (0.6, -2.0)]  # s from 0.026 to 1.83
WIDE_LOG_SIGMAS = [(1.0, 0.5)]  # s = 3.18, where 32 Gauss-Hermite nodes start to lose digits


def pair_grid(log_sigmas=LOG_SIGMAS):
    """Tensors (mu_chosen, log_sigma_chosen, mu_rejected, log_sigma_rejected) over the grid, and float64 d and s."""
    rows = [(0.5 + d, a, 0.5, b) for d in DIFFERENCES for a, b in log_sigmas]
    mu_c, ls_c, mu_r, ls_r = (torch.tensor(column) for column in zip(*rows))
    d = np.array([r[0] - r[2] for r in rows])
    s = np.sqrt(np.exp(2 * np.array([r[1] for r in rows])) + np.exp(2 * np.array([r[3] for r in rows])))
    return (mu_c, ls_c, mu_r, ls_r), d, s


def spread_pair(d, s):
    """A pair with difference d and spread s (equal sigmas), as float64 leaf tensors over the given values."""
    s = torch.as_tensor(s, dtype=torch.float64)
    log_sigma = (torch.log(s / math.sqrt(2))).requires_grad_()
    mu_c = torch.as_tensor(d, dtype=torch.float64).expand_as(s).clone().requires_grad_()
    return mu_c, log_sigma, torch.zeros_like(s), log_sigma


@pytest.mark.parametrize("log_sigmas, rtol", [(LOG_SIGMAS, 1e-5), (WIDE_LOG_SIGMAS, 2e-4)], ids=["s<2", "s=3.2"])
@pytest.mark.parametrize(
    "loss, reference",
    [(expected_bt_loss, reference_expected_bt), (gaussian_nll_loss, reference_gaussian_nll)],
    ids=["expected_bt", "gaussian_nll"],
)
def test_quadrature_losses_match_numerical_integration(loss, reference, log_sigmas, rtol):
    pairs, d, s = pair_grid(log_sigmas)
    expected = [reference(di, si) for di, si in zip(d, s)]
    torch.testing.assert_close(loss(*pairs).double(), torch.tensor(expected), rtol=rtol, atol=2e-6)


def test_bradley_terry_is_log_loss_of_the_mean_difference():
    pairs, d, _ = pair_grid()
    torch.testing.assert_close(
        bradley_terry_loss(pairs[0], pairs[2]).double(), torch.tensor(np.logaddexp(0.0, -d)), rtol=1e-6, atol=1e-7
    )


@pytest.mark.parametrize("loss", [expected_bt_loss, gaussian_nll_loss], ids=["expected_bt", "gaussian_nll"])
def test_both_gaussian_losses_become_bradley_terry_as_sigma_vanishes(loss):
    mu_c, mu_r = torch.tensor(DIFFERENCES), torch.zeros(len(DIFFERENCES))
    tiny = torch.full_like(mu_c, -20.0)
    torch.testing.assert_close(loss(mu_c, tiny, mu_r, tiny), bradley_terry_loss(mu_c, mu_r))


def test_monte_carlo_agrees_with_quadrature_within_its_standard_error():
    pairs, d, s = pair_grid()
    num_samples = 1000
    draws = torch.randn(len(d), num_samples, generator=torch.Generator().manual_seed(0)).half().double()
    per_sample = np.logaddexp(0.0, -(d[:, None] + s[:, None] * draws.numpy()))
    standard_error = torch.tensor(per_sample.std(axis=1, ddof=1) / math.sqrt(num_samples))

    monte_carlo = expected_bt_loss(*pairs, estimator="monte_carlo", generator=torch.Generator().manual_seed(0))
    quadrature = expected_bt_loss(*pairs)
    assert ((monte_carlo - quadrature).abs().double() <= 4 * standard_error + 1e-6).all()
    # Same draws as the official recipe: noise from randn, rounded to float16, then scaled and shifted.
    torch.testing.assert_close(monte_carlo.double(), torch.tensor(per_sample.mean(axis=1)), rtol=1e-5, atol=1e-6)


def test_monte_carlo_is_reproducible_with_a_generator_and_fresh_without():
    pairs, _, _ = pair_grid()

    def draw(generator=None):
        return expected_bt_loss(*pairs, estimator="monte_carlo", generator=generator)

    torch.testing.assert_close(draw(torch.Generator().manual_seed(7)), draw(torch.Generator().manual_seed(7)))
    assert not torch.equal(draw(), draw())


EXTREME_DIFFERENCES = [-1e4, -30.0, 0.0, 30.0, 1e4]
EXTREME_LOG_SIGMAS = [-20.0, -5.0, 0.0, 5.0, 20.0]
ESTIMATES = {
    "expected_bt": ("expected_bt", {}),
    "expected_bt_monte_carlo": ("expected_bt", {"estimator": "monte_carlo"}),
    "gaussian_nll": ("gaussian_nll", {}),
    "bradley_terry": ("bradley_terry", {}),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("name, options", ESTIMATES.values(), ids=ESTIMATES.keys())
def test_losses_and_gradients_stay_finite_at_extremes(name, options, dtype):
    d, ls_c, ls_r = torch.cartesian_prod(
        torch.tensor(EXTREME_DIFFERENCES), torch.tensor(EXTREME_LOG_SIGMAS), torch.tensor(EXTREME_LOG_SIGMAS)
    ).T
    inputs = [t.to(dtype).requires_grad_() for t in (d, ls_c, torch.zeros_like(d), ls_r)]
    loss = pairwise_loss(name, *inputs, **options)
    loss.sum().backward()

    assert loss.dtype == torch.float32 and torch.isfinite(loss).all() and (loss >= 0).all()
    assert all(torch.isfinite(t.grad).all() for t in inputs if t.grad is not None)
    assert (inputs[0].grad <= 0).all(), "raising the chosen edit's mean must never raise the loss"
    confident = (ls_c <= -5) & (ls_r <= -5) & (d.abs() == 1e4)  # loss -> softplus(-d): 0 or |d| (as rounded)
    torch.testing.assert_close(loss[confident], (-inputs[0][confident].detach().float()).clamp(min=0))


@pytest.mark.parametrize("name", ["expected_bt", "gaussian_nll"])
def test_gradient_reaches_log_sigma(name):
    mu_c, log_sigma, mu_r, _ = spread_pair(-1.0, [1.0])
    pairwise_loss(name, mu_c.float(), log_sigma.float(), mu_r.float(), log_sigma.float()).sum().backward()
    assert log_sigma.grad.abs().item() > 1e-3


def test_expected_bt_bounds_the_true_negative_log_likelihood_jensen():
    pairs, _, _ = pair_grid()
    gap = expected_bt_loss(*pairs) - gaussian_nll_loss(*pairs)
    assert (gap >= -1e-6).all() and gap.max() > 0.1


SPREADS = torch.linspace(0.05, 3.0, 60)


@pytest.mark.parametrize("d", [-3.0, 0.0, 3.0])
def test_expected_bt_grows_with_spread_whatever_the_difference(d):
    assert (expected_bt_loss(*spread_pair(d, SPREADS)).diff() > 0).all()


def test_gaussian_nll_spread_helps_wrong_pairs_hurts_right_ones_and_leaves_even_pairs_at_log_2():
    assert (gaussian_nll_loss(*spread_pair(-2.0, SPREADS)).diff() < 0).all()
    assert (gaussian_nll_loss(*spread_pair(2.0, SPREADS)).diff() > 0).all()
    torch.testing.assert_close(gaussian_nll_loss(*spread_pair(0.0, SPREADS)), torch.full((60,), math.log(2.0)))


def reference_preference_probability(d, s):
    """P(A > B) = E[sigmoid(d + s e)] and its derivative in d, E[sigmoid'(d + s e)], on the dense grid."""
    sigmoid = lambda z: np.exp(-np.logaddexp(0.0, -z))  # noqa: E731
    return gaussian_expectation(sigmoid, d, s), gaussian_expectation(lambda z: sigmoid(z) * sigmoid(-z), d, s)


def test_preference_probability_is_accurate_for_every_spread():
    """2e-6 relative over d in [-5, 5] and s in [0.01, 100] (float32); 32 Gauss-Hermite nodes alone were 10% off."""
    d, s = (t.ravel() for t in torch.meshgrid(torch.linspace(-5, 5, 11), torch.logspace(-2, 2, 13), indexing="ij"))
    expected = torch.tensor([reference_preference_probability(di, si)[0] for di, si in zip(d.tolist(), s.tolist())])
    torch.testing.assert_close(log_preference_probability(d, s).exp().double(), expected, rtol=2e-6, atol=0)


def test_gaussian_nll_keeps_its_gradient_in_the_mean_at_a_wide_spread():
    d = torch.tensor([-3.0, 3.0], requires_grad=True)
    (-log_preference_probability(d, torch.full((2,), 50.0))).sum().backward()
    p, dp = (torch.tensor(v) for v in zip(*(reference_preference_probability(di, 50.0) for di in (-3.0, 3.0))))
    torch.testing.assert_close(d.grad.double(), -dp / p, rtol=1e-4, atol=0)
    assert (d.grad < -0.01).all()


def tie_in_both_orders(loss, d, s):
    """Summed loss and d/d log_sigma of a tie presented as A>B and as B>A, with A ahead by d and spread s."""
    mu_a, log_sigma, mu_b, _ = spread_pair(d, s)
    total = loss(mu_a, log_sigma, mu_b, log_sigma) + loss(mu_b, log_sigma, mu_a, log_sigma)
    (grad,) = torch.autograd.grad(total.sum(), log_sigma)
    return total.detach(), grad


def test_on_a_tie_gaussian_nll_rewards_uncertainty():
    total, grad = tie_in_both_orders(gaussian_nll_loss, 1.0, SPREADS)
    assert (total.diff() < 0).all() and (grad < 0).all()


@pytest.mark.parametrize("d", [0.0, 1.0])
def test_on_a_tie_expected_bt_still_drives_sigma_to_zero(d):
    total, grad = tie_in_both_orders(expected_bt_loss, d, SPREADS)
    assert (total.diff() > 0).all() and (grad > 0).all()


@pytest.mark.parametrize("name", PAIRWISE_LOSSES)
def test_per_dimension_targets_swap_roles_and_mask(name):
    generator = torch.Generator().manual_seed(0)
    mu_c, ls_c, mu_r, ls_r = (torch.randn(3, 2, generator=generator).requires_grad_() for _ in range(4))
    targets = torch.tensor([[1, -1], [0, 1], [-1, 0]])
    loss = per_dimension_ranking_loss(name, mu_c, ls_c, mu_r, ls_r, targets)

    forward = pairwise_loss(name, mu_c, ls_c, mu_r, ls_r)
    backward = pairwise_loss(name, mu_r, ls_r, mu_c, ls_c)
    expected = torch.where(targets > 0, forward, torch.where(targets < 0, backward, torch.zeros_like(forward)))
    torch.testing.assert_close(loss, expected)
    loss.sum().backward()
    assert (mu_c.grad[targets == 0] == 0).all() and (mu_c.grad[targets > 0] < 0).all()
    assert (mu_c.grad[targets < 0] > 0).all()


def test_per_dimension_rejects_targets_outside_plus_minus_one_and_zero():
    scores = torch.zeros(2, 2)
    with pytest.raises(ValueError, match=r"\+1, -1 or 0; got \[0, 1, 2\]"):
        per_dimension_ranking_loss("expected_bt", scores, scores, scores, scores, torch.tensor([[1, 2], [0, 1]]))


def test_pointwise_regresses_each_mean_on_its_centred_score():
    mu = torch.tensor([[0.0, 1.5], [-1.5, 0.5]], dtype=torch.bfloat16, requires_grad=True)
    scores = torch.tensor([[2.5, 4.0], [1.0, 2.0]])
    loss = pointwise_loss(mu, scores)
    torch.testing.assert_close(loss, torch.tensor([[0.0, 0.0], [0.0, 1.0]]))
    loss.sum().backward()
    torch.testing.assert_close(mu.grad.float(), torch.tensor([[0.0, 0.0], [0.0, 2.0]]))
    with pytest.raises(ValueError, match="one score per predicted mean"):
        pointwise_loss(mu, scores[:, 0])


def test_pointwise_sigma_learns_the_typical_error_and_leaves_the_mean_alone():
    mu = torch.tensor([0.0, 0.0, 0.0, 0.0], requires_grad=True)
    scores = torch.tensor([3.5, 1.5, 4.5, 0.5])  # errors -1, +1, -2, +2 around center 2.5
    log_sigma = torch.zeros(4, requires_grad=True)
    loss = pointwise_loss(mu, scores, log_sigma)
    loss.sum().backward()
    torch.testing.assert_close(mu.grad, 2 * (mu - (scores - 2.5)).detach())  # as without sigma
    optimizer = torch.optim.Adam([log_sigma], lr=0.05)
    for _ in range(400):
        optimizer.zero_grad()
        pointwise_loss(mu.detach(), scores, log_sigma).sum().backward()
        optimizer.step()
    torch.testing.assert_close(log_sigma.exp(), torch.tensor([1.0, 1.0, 2.0, 2.0]), atol=0.02, rtol=0)
    with pytest.raises(ValueError, match="log_sigma has shape"):
        pointwise_loss(mu, scores, log_sigma[:2])


def test_pairwise_loss_dispatches_by_name_and_names_the_choices():
    pairs, _, _ = pair_grid()
    torch.testing.assert_close(pairwise_loss("expected_bt", *pairs), expected_bt_loss(*pairs))
    torch.testing.assert_close(pairwise_loss("gaussian_nll", *pairs), gaussian_nll_loss(*pairs))
    torch.testing.assert_close(pairwise_loss("bradley_terry", *pairs), bradley_terry_loss(pairs[0], pairs[2]))
    with pytest.raises(ValueError, match="expected_bt.*gaussian_nll.*bradley_terry.*pointwise_loss"):
        pairwise_loss("pointwise", *pairs)
    with pytest.raises(ValueError, match="applies to loss='expected_bt' only"):
        pairwise_loss("gaussian_nll", *pairs, estimator="monte_carlo")


def reference_log_preference_probability(d, s):
    """log E[sigmoid(d + s e)] by high-precision adaptive integration (mpmath), split at the sigmoid's bend."""
    import mpmath

    mpmath.mp.dps = 30
    density = lambda z: mpmath.npdf(z) / (1 + mpmath.exp(-(d + s * z)))  # noqa: E731
    bend = -d / s
    points = sorted({-mpmath.inf, -12, 0, 12, mpmath.inf} | ({bend} if abs(bend) < 50 else set()))
    return float(mpmath.log(mpmath.quad(density, points)))


@pytest.mark.parametrize("d", [-60.0, -40.0, -25.0, -15.0, -10.0])
def test_confidently_wrong_pairs_keep_an_accurate_probability_at_every_spread(d):
    """Where -log P is 10 or more, log P stays within 1e-2 for spreads from 0.1 to 100 (the logistic rule alone was
    off by 24 at d = -30, s = 1.6)."""
    spreads = torch.logspace(-1, 2, 13)
    expected = torch.tensor([reference_log_preference_probability(d, s) for s in spreads.tolist()], dtype=torch.float64)
    got = log_preference_probability(torch.full_like(spreads, d), spreads).double()
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-2)


def test_wide_spreads_far_below_the_bend_are_accurate():
    """Gauss-Hermite's last node (about 10) falls short of the mass when s >= 10: log P was off by 18 at s = 16."""
    d, s = torch.tensor([-160.0, -280.0, -400.0]), torch.tensor([12.0, 16.0, 20.0])
    expected = torch.tensor([reference_log_preference_probability(*ds) for ds in zip(d.tolist(), s.tolist())])
    torch.testing.assert_close(log_preference_probability(d, s), expected, rtol=0, atol=1e-2)


@pytest.mark.parametrize("d, s", [(-30.0, 1.5), (-5.0, 1.5), (-1.0, 1.5), (-30.0, 5.0), (-160.0, 16.0)])
def test_the_probability_is_continuous_where_the_quadrature_rule_changes(d, s):
    """s = 1.5 switches rules and d = -s^2/2 reflects: a step across either moves log P by < 1e-2."""
    step = torch.tensor([-1e-4, 1e-4])
    across_spread = log_preference_probability(torch.full((2,), d), 1.5 + step)
    across_reflection = log_preference_probability(-0.5 * s**2 + step, torch.full((2,), s))
    assert (across_spread.diff().abs() < 1e-2).all() and (across_reflection.diff().abs() < 1e-2).all()
