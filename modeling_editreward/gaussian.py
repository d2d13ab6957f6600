"""Expectations over a Gaussian score difference, by Gauss-Hermite quadrature.

An EditReward head predicts each edit's score as N(mu, sigma^2). For two edits A and B the difference is
z ~ N(d, s^2) with d = mu_A - mu_B and s = sqrt(sigma_A^2 + sigma_B^2). Both the preference probability
P(A > B) = E[sigmoid(z)] and the training losses are one-dimensional expectations over z, which Gauss-Hermite
quadrature computes deterministically. With 32 nodes the error is below 1e-5 for s <= 3 and grows beyond
(about 3e-3 relative at s = 5 for the likelihood), where the sigmoid is sharp on the scale of the nodes.
"""

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

DEFAULT_NUM_NODES = 32


@lru_cache(maxsize=16)
def _standard_normal_nodes(num_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.hermite_e.hermegauss(num_nodes)  # weight function exp(-x^2 / 2)
    return nodes, np.log(weights / np.sqrt(2.0 * np.pi))


def standard_normal_quadrature(
    num_nodes: int = DEFAULT_NUM_NODES, device=None, dtype=torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes e_i and log-weights log w_i with E_{e~N(0,1)}[f(e)] ~= sum_i w_i f(e_i)."""
    nodes, log_weights = _standard_normal_nodes(int(num_nodes))
    return (
        torch.as_tensor(nodes, device=device, dtype=dtype),
        torch.as_tensor(log_weights, device=device, dtype=dtype),
    )


def difference_of_gaussians(
    mu_a: torch.Tensor, log_sigma_a: torch.Tensor, mu_b: torch.Tensor, log_sigma_b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean d and spread s of score(A) - score(B) for independent Gaussians given as (mu, log sigma)."""
    log_var = torch.logaddexp(2 * log_sigma_a.float(), 2 * log_sigma_b.float())
    return mu_a.float() - mu_b.float(), torch.exp(0.5 * log_var)


def log_preference_probability(d: torch.Tensor, s: torch.Tensor, num_nodes: int = DEFAULT_NUM_NODES) -> torch.Tensor:
    """log P(A > B) = log E[sigmoid(z)], z ~ N(d, s^2), computed in log space so it never under- or overflows."""
    nodes, log_weights = standard_normal_quadrature(num_nodes, device=d.device, dtype=torch.float32)
    z = d.float().unsqueeze(-1) + s.float().unsqueeze(-1) * nodes
    return torch.logsumexp(log_weights + F.logsigmoid(z), dim=-1)


def preference_probability(
    mu_a: torch.Tensor,
    log_sigma_a: torch.Tensor,
    mu_b: torch.Tensor,
    log_sigma_b: torch.Tensor,
    num_nodes: int = DEFAULT_NUM_NODES,
) -> torch.Tensor:
    """P(A preferred to B) = E[sigmoid(z)], z ~ N(mu_A - mu_B, sigma_A^2 + sigma_B^2), elementwise.

    The probability integrates the sigmoid of the Bradley-Terry model over both edits' uncertainty, so a pair of
    uncertain scores gives a probability nearer 0.5 than the plain sigmoid of the mean difference.
    """
    d, s = difference_of_gaussians(mu_a, log_sigma_a, mu_b, log_sigma_b)
    return log_preference_probability(d, s, num_nodes).exp()
