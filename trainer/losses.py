"""Ranking losses for a chosen edit A and a rejected edit B, as pure functions on tensors.

Each head scores an edit as N(mu, sigma^2) with sigma = exp(log_sigma). For a pair the score difference is
z ~ N(d, s^2), d = mu_A - mu_B, s = sqrt(sigma_A^2 + sigma_B^2) (`difference_of_gaussians`). Every loss returns one
float32 value per element (per pair, or per pair and dimension) whatever the input dtype, so the trainer can weight
rows before it reduces. The expectations over z are quadrature sums from `modeling_editreward.gaussian`.
"""

import torch
import torch.nn.functional as F

from editreward.modeling_editreward.gaussian import (
    DEFAULT_NUM_NODES,
    difference_of_gaussians,
    log_preference_probability,
    standard_normal_quadrature,
)

PAIRWISE_LOSSES = ("expected_bt", "gaussian_nll", "bradley_terry")
ESTIMATORS = ("quadrature", "monte_carlo")
DIMENSION_SCORE_MIDPOINT = 2.5  # per-dimension human scores are 1..4


def _bt_loss_at(d: torch.Tensor, s: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(d + s e) for every noise value e, along a new last axis."""
    return F.softplus(-(d.unsqueeze(-1) + s.unsqueeze(-1) * noise))


def expected_bt_loss(
    mu_chosen: torch.Tensor,
    log_sigma_chosen: torch.Tensor,
    mu_rejected: torch.Tensor,
    log_sigma_rejected: torch.Tensor,
    *,
    estimator: str = "quadrature",
    num_nodes: int = DEFAULT_NUM_NODES,
    num_samples: int = 1000,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Expected Bradley-Terry log-loss, the released models' objective:

        L = E_{e~N(0,1)}[-log sigmoid(d + s e)]

    An upper bound (Jensen) on `gaussian_nll_loss`. Since -log sigmoid is convex, L never falls as s grows, so this
    objective only ever pushes sigma down. `estimator="quadrature"`: Gauss-Hermite with `num_nodes` nodes,
    deterministic. `"monte_carlo"`: the official estimator, the mean over `num_samples` draws of e rounded to
    float16 before scaling; pass a `torch.Generator` on the inputs' device to reproduce a draw.
    """
    d, s = difference_of_gaussians(mu_chosen, log_sigma_chosen, mu_rejected, log_sigma_rejected)
    if estimator == "quadrature":
        nodes, log_weights = standard_normal_quadrature(num_nodes, device=d.device)
        return (log_weights.exp() * _bt_loss_at(d, s, nodes)).sum(-1)
    if estimator == "monte_carlo":
        noise = torch.randn(*d.shape, num_samples, generator=generator, device=d.device).half().float()
        return _bt_loss_at(d, s, noise).mean(-1)
    raise ValueError(f"estimator={estimator!r} is not supported; use one of {ESTIMATORS}.")


def gaussian_nll_loss(
    mu_chosen: torch.Tensor,
    log_sigma_chosen: torch.Tensor,
    mu_rejected: torch.Tensor,
    log_sigma_rejected: torch.Tensor,
    *,
    num_nodes: int = DEFAULT_NUM_NODES,
) -> torch.Tensor:
    """Negative log-likelihood of the preference under the Gaussian scores:

        L = -log P(A > B),  P(A > B) = E_{e~N(0,1)}[sigmoid(d + s e)]

    P moves towards 1/2 as s grows, so a larger sigma lowers the loss on a pair the model ranks wrongly (d < 0), and
    a tie presented in both orders is fit by uncertainty rather than only by pulling d to 0.
    """
    d, s = difference_of_gaussians(mu_chosen, log_sigma_chosen, mu_rejected, log_sigma_rejected)
    return -log_preference_probability(d, s, num_nodes)


def bradley_terry_loss(mu_chosen: torch.Tensor, mu_rejected: torch.Tensor) -> torch.Tensor:
    """Plain Bradley-Terry on the means, the baseline that ignores sigma: L = -log sigmoid(mu_A - mu_B)."""
    return F.softplus(mu_rejected.float() - mu_chosen.float())


def pairwise_loss(
    name: str,
    mu_chosen: torch.Tensor,
    log_sigma_chosen: torch.Tensor,
    mu_rejected: torch.Tensor,
    log_sigma_rejected: torch.Tensor,
    *,
    estimator: str = "quadrature",
    num_nodes: int = DEFAULT_NUM_NODES,
    num_samples: int = 1000,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The per-pair loss named by the trainer's `loss` argument, one of `PAIRWISE_LOSSES`."""
    if estimator != "quadrature" and name != "expected_bt":
        raise ValueError(f"estimator={estimator!r} applies to loss='expected_bt' only, not to loss={name!r}.")
    if name == "expected_bt":
        return expected_bt_loss(
            mu_chosen,
            log_sigma_chosen,
            mu_rejected,
            log_sigma_rejected,
            estimator=estimator,
            num_nodes=num_nodes,
            num_samples=num_samples,
            generator=generator,
        )
    if name == "gaussian_nll":
        return gaussian_nll_loss(mu_chosen, log_sigma_chosen, mu_rejected, log_sigma_rejected, num_nodes=num_nodes)
    if name == "bradley_terry":
        return bradley_terry_loss(mu_chosen, mu_rejected)
    raise ValueError(
        f"loss={name!r} is not a pairwise loss; use one of {PAIRWISE_LOSSES} "
        "('pointwise' regresses on human scores: call pointwise_loss)."
    )


def per_dimension_ranking_loss(
    name: str,
    mu_chosen: torch.Tensor,
    log_sigma_chosen: torch.Tensor,
    mu_rejected: torch.Tensor,
    log_sigma_rejected: torch.Tensor,
    dimension_targets: torch.Tensor,
    **options,
) -> torch.Tensor:
    """Rank each head by its own dimension: `pairwise_loss` per [batch, dims] element, zero where the target is 0.

    `dimension_targets[i, k]` is +1 when pair i's chosen edit wins dimension k, -1 when its rejected edit does (the
    two swap roles) and 0 when dimension k does not rank the pair (a tie or no score). `options` go to `pairwise_loss`.
    """
    if dimension_targets.shape != mu_chosen.shape:
        raise ValueError(
            f"dimension_targets has shape {tuple(dimension_targets.shape)} but the per-dimension scores have "
            f"{tuple(mu_chosen.shape)}; give one target in {{+1, -1, 0}} per pair and dimension."
        )
    if not torch.isin(dimension_targets, dimension_targets.new_tensor([1, -1, 0])).all():
        raise ValueError(f"dimension_targets must hold only +1, -1 or 0; got {dimension_targets.unique().tolist()}.")
    flip = dimension_targets < 0
    loss = pairwise_loss(
        name,
        torch.where(flip, mu_rejected, mu_chosen),
        torch.where(flip, log_sigma_rejected, log_sigma_chosen),
        torch.where(flip, mu_chosen, mu_rejected),
        torch.where(flip, log_sigma_chosen, log_sigma_rejected),
        **options,
    )
    return torch.where(dimension_targets != 0, loss, torch.zeros_like(loss))


def pointwise_loss(
    mu: torch.Tensor,
    human_scores: torch.Tensor,
    log_sigma: torch.Tensor | None = None,
    *,
    center: float = DIMENSION_SCORE_MIDPOINT,
) -> torch.Tensor:
    """The paper's pointwise ablation, squared error of each mean on its centred human score:

        L = (mu - (score - center))^2

    No rescaling, so one point of human score is one unit of mu. Per-dimension scores run 1..4 and the default
    center is their midpoint; the official `reg` loss regressed the fused mu on overall_score - 4.5 (overall = the
    sum of the two dimensions, 2..8), which is this function with fused mu, overall scores and `center=4.5`.

    With `log_sigma`, sigma is fit too, by the Gaussian negative log-likelihood of the error with the error's
    gradient stopped: `+ e^2 / (2 sigma^2) + log sigma`, e = stop_gradient(mu - target). Its minimum is at
    sigma^2 = E[e^2], so sigma learns how far each mean typically is from the human score. The term never pulls mu
    towards or away from its target; it does shape the features shared with mu, through log sigma.
    """
    if mu.shape != human_scores.shape:
        raise ValueError(
            f"human_scores has shape {tuple(human_scores.shape)} but mu has {tuple(mu.shape)}; "
            "give one score per predicted mean."
        )
    if log_sigma is not None and log_sigma.shape != mu.shape:
        raise ValueError(
            f"log_sigma has shape {tuple(log_sigma.shape)} but mu has {tuple(mu.shape)}; give one per predicted mean."
        )
    error = mu.float() - (human_scores.float() - center)
    loss = error.square()
    if log_sigma is not None:
        log_sigma = log_sigma.float()
        loss = loss + 0.5 * error.detach().square() * torch.exp(-2 * log_sigma) + log_sigma
    return loss
