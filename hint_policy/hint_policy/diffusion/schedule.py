"""Variance schedules beta_1..beta_K of the forward diffusion q(a^k | a^{k-1})."""

from __future__ import annotations

import math

import torch


def cosine_betas(num_steps: int, offset: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """The cosine schedule of Nichol & Dhariwal (2021) ("squaredcos_cap_v2").

    alpha_bar(s) = cos^2(pi/2 (s + offset) / (1 + offset)) for s in [0, 1], and
    beta_k = min(1 - alpha_bar((k+1)/K) / alpha_bar(k/K), max_beta).
    """
    def alpha_bar(s: float) -> float:
        return math.cos((s + offset) / (1 + offset) * math.pi / 2) ** 2

    betas = [
        min(1 - alpha_bar((k + 1) / num_steps) / alpha_bar(k / num_steps), max_beta)
        for k in range(num_steps)
    ]
    return torch.tensor(betas, dtype=torch.float64)


def linear_betas(num_steps: int, start: float = 1e-4, end: float = 2e-2) -> torch.Tensor:
    """Linearly increasing betas (Ho et al. 2020)."""
    return torch.linspace(start, end, num_steps, dtype=torch.float64)


class NoiseSchedule:
    """betas, alphas = 1 - betas and alpha_bars = cumulative products, as float32 tensors.

    Index k = 0 .. K-1 is diffusion step k+1 of the papers (k = 0 is the least noisy).
    """

    def __init__(self, num_steps: int, kind: str = "squaredcos_cap_v2") -> None:
        if num_steps < 2:
            raise ValueError("a schedule needs at least 2 steps")
        if kind == "squaredcos_cap_v2":
            betas = cosine_betas(num_steps)
        elif kind == "linear":
            betas = linear_betas(num_steps)
        else:
            raise ValueError(f"unknown beta schedule {kind!r} (squaredcos_cap_v2 or linear)")
        self.num_steps = num_steps
        self.kind = kind
        alpha_bars = torch.cumprod(1 - betas, dim=0)
        self.betas = betas.float()
        self.alphas = (1 - betas).float()
        self.alpha_bars = alpha_bars.float()
        #: alpha_bar of the previous step, 1 before the first
        self.alpha_bars_prev = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bars[:-1]]).float()

    def to(self, device: torch.device | str) -> NoiseSchedule:
        for name in ("betas", "alphas", "alpha_bars", "alpha_bars_prev"):
            setattr(self, name, getattr(self, name).to(device))
        return self
