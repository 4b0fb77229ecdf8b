"""Residual MLP denoiser over the flattened composite action, FiLM-conditioned."""

from __future__ import annotations

import torch
from torch import nn

from hint_policy.diffusion.layers import ConditionEncoder, FiLM


class FiLMResidualLayer(nn.Module):
    """h -> h + Linear(Mish(FiLM(Linear(LayerNorm(h)), cond)))."""

    def __init__(self, hidden: int, cond_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.first = nn.Linear(hidden, hidden)
        self.film = FiLM(cond_dim, hidden)
        self.second = nn.Linear(hidden, hidden)
        self.activation = nn.Mish()

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        update = self.film(self.first(self.norm(h)), cond)
        return h + self.second(self.activation(update))


class MLPDenoiser(nn.Module):
    """eps_theta(a_noisy (B, L, D), k (B,), o (B, To, Do)) -> (B, L, D)."""

    def __init__(
        self,
        action_dim: int,
        chunk_length: int,
        obs_numel: int,
        hidden: int = 512,
        blocks: int = 4,
        step_embed_dim: int = 64,
    ) -> None:
        super().__init__()
        self.chunk_length = chunk_length
        self.action_dim = action_dim
        self.condition = ConditionEncoder(step_embed_dim, obs_numel)
        self.inp = nn.Linear(chunk_length * action_dim + self.condition.dim, hidden)
        self.layers = nn.ModuleList(FiLMResidualLayer(hidden, self.condition.dim) for _ in range(blocks))
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.Mish(), nn.Linear(hidden, chunk_length * action_dim))

    def forward(self, noisy_actions: torch.Tensor, steps: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        cond = self.condition(steps, obs)
        h = self.inp(torch.cat([noisy_actions.flatten(start_dim=1), cond], dim=-1))
        for layer in self.layers:
            h = layer(h, cond)
        return self.out(h).reshape(-1, self.chunk_length, self.action_dim)
