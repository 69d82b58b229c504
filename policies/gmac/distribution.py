"""Gaussian mixtures, their energy distance and GMAC's SR(lambda) targets (no Ray).

GMAC (Nam, Kim, Park, ICML 2021) replaces the scalar critic by a distribution of the return:
``Z(x)`` is a mixture of ``K`` Gaussians with weights ``w_k``, means ``mu_k`` and standard
deviations ``sigma_k``. Its mean is the value used by GAE and the actor loss.

Loss: the energy (Cramér) distance ``ED(P, Q) = 2 E|X - Y| - E|X - X'| - E|Y - Y'|`` with
``X, X' ~ P`` and ``Y, Y' ~ Q`` independent. For Gaussian mixtures it has a closed form: a
pair of components gives ``X - Y ~ N(m1 - m2, s1^2 + s2^2)`` and

    E|N(mu, s^2)| = s * sqrt(2 / pi) * exp(-mu^2 / (2 s^2)) + mu * erf(mu / (sqrt(2) s)),

so each expectation is a ``[..., Ka, Kb]`` sum of pairwise terms weighted by ``w_a w_b``.
``ED >= 0``, with equality only for equal distributions. At ``s = 0`` the formula is ``|mu|``;
``expected_abs_normal`` clamps ``s`` at a tiny epsilon (``1e-8`` in float64, ``1e-6`` in
float32) so that values and gradients stay finite for point masses.

Target: SR(lambda) ("sample replacement"). For step ``t`` of a trajectory of ``T`` steps, with
``N_t = T - t`` steps left, the n-step distributional return is
``Z^(n)_t = G^(n)_t + gamma^n Z(x_{t+n})`` with ``G^(n)_t = r_t + ... + gamma^(n-1) r_{t+n-1}``,
and the target is the lambda-weighted mixture

    Z^lambda_t = (1 - lambda) sum_{n=1}^{N_t - 1} lambda^(n-1) Z^(n)_t + lambda^(N_t - 1) Z^(N_t)_t.

Component ``k`` of ``Z(x_{t+n})`` becomes a component of weight ``c_n w_k``, mean
``G^(n)_t + gamma^n mu_k`` and std ``gamma^n sigma_k``. Its mean is exactly the TD(lambda)
return of ``policies.common.gae`` computed from the mixture means. If the trajectory ended
in a termination, ``Z(x_T)`` is a point mass at 0, so the ``N_t``-step term is the plain
discounted return with std 0. An optional horizon ``H`` caps ``n``: weights
``(1 - lambda) lambda^(n-1)`` for ``n < min(N_t, H)`` and the remaining ``lambda^(min(N_t, H) - 1)``
on ``n = min(N_t, H)``, a truncated lambda-return whose weights still sum to one.

Padding: the targets of a trajectory share one shape ``[T, H_eff * K]``, slot ``(n - 1) K + k``
holding component ``k`` of the n-step term. Slots with ``n`` beyond a step's last term are
padding: weight 0, mean 0, std 1; they contribute nothing to any expectation.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
#: Floor on the std inside ``expected_abs_normal``, per dtype (others: ``_STD_EPS_DEFAULT``).
_STD_EPS = {torch.float64: 1e-8, torch.float32: 1e-6}
_STD_EPS_DEFAULT = 1e-3


class Mixture(NamedTuple):
    """A batch of one-dimensional Gaussian mixtures with ``K`` components each."""

    weights: torch.Tensor  # [..., K] non-negative, sum to 1 over the last dim
    means: torch.Tensor  # [..., K]
    stds: torch.Tensor  # [..., K] >= 0


def mixture_from_head(raw: torch.Tensor, min_std: float) -> Mixture:
    """Mixture from a linear layer's output laid out as ``[means | std pre-act. | logits]``.

    Args:
        raw: ``[..., 3K]`` head output.
        min_std: Floor added to ``softplus`` of the std pre-activations.

    Returns:
        The mixture, ``[..., K]`` per field.

    Raises:
        ValueError: If the last dimension is not a positive multiple of 3.

    """
    if raw.shape[-1] == 0 or raw.shape[-1] % 3:
        raise ValueError(f"expected a last dimension 3K, got {tuple(raw.shape)}")
    means, pre, logits = raw.chunk(3, dim=-1)  # 3 x [..., K]
    return Mixture(torch.softmax(logits, dim=-1), means, F.softplus(pre) + min_std)


def mixture_mean(m: Mixture) -> torch.Tensor:
    """Mean of each mixture, ``[...]``."""
    return (m.weights * m.means).sum(-1)


def expected_abs_normal(mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``E|N(mean, std^2)|``, elementwise (broadcasting).

    ``std`` is clamped at a tiny epsilon (``1e-8`` in float64, ``1e-6`` in float32, ``1e-3``
    otherwise) so that the gradient stays finite as ``std -> 0``; where ``std == 0`` the result
    is exactly ``|mean|`` (with a zero gradient w.r.t. ``std``).

    Args:
        mean: Means, any shape.
        std: Standard deviations (``>= 0``), broadcastable with ``mean``.

    Returns:
        The expected absolute values, the broadcast shape.

    """
    eps = _STD_EPS.get(std.dtype, _STD_EPS_DEFAULT)
    s = std.clamp_min(eps)
    z = mean / s  # standardized mean
    value = s * _SQRT_2_OVER_PI * torch.exp(-0.5 * z * z) + mean * torch.erf(z / math.sqrt(2.0))
    return torch.where(std > 0, value, mean.abs())


def cross_expected_distance(a: Mixture, b: Mixture) -> torch.Tensor:
    """``E|X - Y|`` with ``X ~ a`` and ``Y ~ b`` independent.

    Args:
        a: ``[..., Ka]`` mixtures.
        b: ``[..., Kb]`` mixtures, leading dimensions broadcastable with ``a``'s.

    Returns:
        ``[...]`` expected distances.

    """
    diff = a.means.unsqueeze(-1) - b.means.unsqueeze(-2)  # [..., Ka, Kb]
    var = a.stds.unsqueeze(-1) ** 2 + b.stds.unsqueeze(-2) ** 2  # [..., Ka, Kb]
    positive = var > 0
    std = torch.where(positive, torch.sqrt(torch.where(positive, var, 1.0)), 0.0)  # no inf grad
    pair_w = a.weights.unsqueeze(-1) * b.weights.unsqueeze(-2)  # [..., Ka, Kb]
    return (pair_w * expected_abs_normal(diff, std)).sum(dim=(-2, -1))


def energy_distance(
    pred: Mixture, target: Mixture, include_target_term: bool = True
) -> torch.Tensor:
    """Energy distance ``2 E|X - Y| - E|X - X'| - E|Y - Y'|``, ``X ~ pred``, ``Y ~ target``.

    Args:
        pred: ``[..., Kp]`` predicted mixtures.
        target: ``[..., Kt]`` target mixtures.
        include_target_term: If ``False``, leave out ``E|Y - Y'|``: it is constant w.r.t.
            ``pred`` (same gradient) and costs ``Kt^2`` pairs per element.

    Returns:
        ``[...]`` distances (``>= 0`` up to rounding when the target term is included).

    """
    dist = 2.0 * cross_expected_distance(pred, target) - cross_expected_distance(pred, pred)
    if include_target_term:
        dist = dist - cross_expected_distance(target, target)
    return dist


def sr_lambda_targets(
    rewards: torch.Tensor,
    row_mixtures: Mixture,
    terminated: bool,
    gamma: float,
    lambda_: float,
    horizon: int | None = None,
) -> Mixture:
    """SR(lambda) target mixtures of every step of one trajectory (no gradient).

    Args:
        rewards: ``[T]`` rewards ``r_0 .. r_{T-1}``.
        row_mixtures: ``[T + 1, K]`` the (old) critic's mixtures at the observation of each
            step and, in row ``T``, at the observation after the last step (the bootstrap row,
            replaced by a point mass at 0 when ``terminated``).
        terminated: Whether the last step ended the episode in a terminal state.
        gamma: Discount factor.
        lambda_: SR(lambda)'s lambda (0: one-step targets, 1: ``N_t``-step returns).
        horizon: Optional cap ``H`` on the number of steps ``n`` (``None``: no cap).

    Returns:
        ``[T, H_eff * K]`` targets in ``rewards``' dtype and device, ``H_eff = min(T, H)``;
        slot ``(n - 1) K + k`` holds component ``k`` of the n-step term, padding slots have
        weight 0, mean 0 and std 1.

    Raises:
        ValueError: If the shapes do not follow the convention or ``horizon < 1``.

    """
    if horizon is not None and horizon < 1:
        raise ValueError(f"horizon must be >= 1 or None, got {horizon}")
    rows = _checked_rows(rewards, row_mixtures, terminated)
    n_steps, k = rewards.shape[0], rows.means.shape[-1]
    h = min(n_steps, horizon or n_steps)
    if h == 0:
        empty = rewards.new_zeros(0, 0)
        return Mixture(empty, empty, empty)
    r = rewards.detach()
    n = torch.arange(1, h + 1, device=r.device)  # [H] n of each column
    discounts = gamma ** n.to(r.dtype)  # [H] gamma^n
    returns = _n_step_returns(r, gamma, h)  # [T, H] G^(n)_t
    t = torch.arange(n_steps, device=r.device).unsqueeze(-1)  # [T, 1]
    last = (n_steps - t).clamp_max(h)  # [T, 1] min(N_t, H)
    valid = n <= last  # [T, H]
    n_weights = _n_weights(n, last, lambda_, r.dtype)  # [T, H]
    idx = (t + n).clamp_max(n_steps)  # [T, H] row of x_{t+n}
    w = n_weights.unsqueeze(-1) * rows.weights[idx]  # [T, H, K]
    mu = returns.unsqueeze(-1) + discounts[:, None] * rows.means[idx]  # [T, H, K]
    sd = discounts[:, None] * rows.stds[idx]  # [T, H, K]
    pad = ~valid.unsqueeze(-1)  # [T, H, 1]
    w, mu, sd = w.masked_fill(pad, 0.0), mu.masked_fill(pad, 0.0), sd.masked_fill(pad, 1.0)
    return Mixture(*(x.reshape(n_steps, h * k) for x in (w, mu, sd)))


def mixture_stats(m: Mixture) -> dict[str, torch.Tensor]:
    """Detached scalar diagnostics, averaged over the batch dimensions.

    Returns:
        ``weight_entropy`` (entropy of the weights, nats), ``mean_std`` (weight-averaged
        component std) and ``max_weight`` (the largest component's weight).

    """
    w = m.weights.detach()  # [..., K]
    return {
        "weight_entropy": -torch.special.xlogy(w, w).sum(-1).mean(),
        "mean_std": (w * m.stds.detach()).sum(-1).mean(),
        "max_weight": w.max(dim=-1).values.mean(),
    }


def _checked_rows(rewards: torch.Tensor, rows: Mixture, terminated: bool) -> Mixture:
    """``rows`` detached in ``rewards``' dtype/device, row ``T`` a point mass if terminated."""
    n_steps = rewards.shape[0] if rewards.ndim == 1 else -1
    shapes = {tuple(x.shape) for x in rows}
    if rewards.ndim != 1 or len(shapes) != 1 or len(rows.means.shape) != 2:
        raise ValueError(f"expected rewards [T] and rows [T + 1, K], got {rewards.shape}, {shapes}")
    if rows.means.shape[0] != n_steps + 1:
        raise ValueError(f"expected {n_steps + 1} rows, got {rows.means.shape[0]}")
    w, mu, sd = (x.detach().to(device=rewards.device, dtype=rewards.dtype).clone() for x in rows)
    if terminated and n_steps > 0:
        w[-1], mu[-1], sd[-1] = 0.0, 0.0, 0.0
        w[-1, 0] = 1.0  # all the weight on one component at 0 with std 0
    return Mixture(w, mu, sd)


def _n_step_returns(rewards: torch.Tensor, gamma: float, h: int) -> torch.Tensor:
    """``[T, H]`` with column ``n - 1`` the n-step discounted return (rewards past T are 0)."""
    padded = torch.cat([rewards, rewards.new_zeros(h - 1)])  # [T + H - 1]
    windows = padded.unfold(0, h, 1)  # [T, H] windows[t, i] = r_{t+i}
    powers = gamma ** torch.arange(h, dtype=rewards.dtype, device=rewards.device)  # [H]
    return torch.cumsum(windows * powers, dim=-1)  # [T, H]


def _n_weights(
    n: torch.Tensor, last: torch.Tensor, lambda_: float, dtype: torch.dtype
) -> torch.Tensor:
    """``[T, H]`` weight of the n-step term: ``(1 - l) l^(n-1)`` before ``last``, ``l^(n-1)`` at."""
    powers = lambda_ ** (n - 1).to(dtype)  # [H] lambda^(n-1), 0^0 = 1
    weights = torch.where(n < last, (1.0 - lambda_) * powers, powers)  # [T, H]
    return weights.masked_fill(n > last, 0.0)
