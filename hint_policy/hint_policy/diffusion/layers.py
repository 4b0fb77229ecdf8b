"""Building blocks shared by the denoisers."""

from __future__ import annotations

import math

import torch
from torch import nn


class SinusoidalEmbedding(nn.Module):
    """Fixed sin/cos features of a scalar (the diffusion step), as in transformer positions."""

    def __init__(self, dim: int, max_period: float = 10000.0) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError("embedding dimension must be even")
        frequencies = torch.exp(-math.log(max_period) * torch.arange(dim // 2) / (dim // 2))
        self.register_buffer("frequencies", frequencies, persistent=False)

    def forward(self, steps: torch.Tensor) -> torch.Tensor:
        angles = steps.float()[:, None] * self.frequencies[None, :]
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


class ConditionEncoder(nn.Module):
    """cond = [MLP(sinusoid(k)), flatten(o)]: what FiLM layers see."""

    def __init__(self, step_embed_dim: int, obs_numel: int) -> None:
        super().__init__()
        self.step_embedding = nn.Sequential(
            SinusoidalEmbedding(step_embed_dim),
            nn.Linear(step_embed_dim, 4 * step_embed_dim),
            nn.Mish(),
            nn.Linear(4 * step_embed_dim, step_embed_dim),
        )
        self.dim = step_embed_dim + obs_numel

    def forward(self, steps: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.step_embedding(steps), obs.flatten(start_dim=1)], dim=-1)


class FiLM(nn.Module):
    """Feature-wise affine modulation h -> (1 + scale(c)) * h + shift(c) (Perez et al. 2018)."""

    def __init__(self, cond_dim: int, channels: int) -> None:
        super().__init__()
        self.project = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, 2 * channels))

    def forward(self, features: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale, shift = self.project(cond).chunk(2, dim=-1)
        extra_axes = features.ndim - scale.ndim  # conv features (B, C, L) need a length axis
        scale = scale.reshape(scale.shape + (1,) * extra_axes)
        shift = shift.reshape(shift.shape + (1,) * extra_axes)
        return (1 + scale) * features + shift
