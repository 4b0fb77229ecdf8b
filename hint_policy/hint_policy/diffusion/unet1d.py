"""1-D temporal convolution U-Net over the knots of a composite action, FiLM-conditioned.

The action chunk (B, L, D) is treated as D channels over L knots. Each resolution level has two
residual blocks (conv -> GroupNorm -> Mish, twice, with FiLM from the condition vector in between)
and halves the length with a strided convolution; the decoder doubles the length with a
transposed convolution, concatenates the encoder features of that level and applies two blocks. The architecture follows the shape of the Diffusion Policy CNN
(Chi et al. 2023); the code is hint's own.
"""

from __future__ import annotations

import torch
from torch import nn

from hint_policy.diffusion.layers import ConditionEncoder, FiLM


class ConvNormAct(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, groups: int) -> None:
        super().__init__(
            nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
            nn.GroupNorm(groups, out_channels),
            nn.Mish(),
        )


class FiLMResidualBlock(nn.Module):
    """x -> conv block -> FiLM(cond) -> conv block, plus a (1x1-projected) skip."""

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int, kernel_size: int, groups: int):
        super().__init__()
        self.first = ConvNormAct(in_channels, out_channels, kernel_size, groups)
        self.film = FiLM(cond_dim, out_channels)
        self.second = ConvNormAct(out_channels, out_channels, kernel_size, groups)
        self.skip = (
            nn.Conv1d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()
        )

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.second(self.film(self.first(x), cond))
        return h + self.skip(x)


class UNet1DDenoiser(nn.Module):
    """eps_theta(a_noisy (B, L, D), k (B,), o (B, To, Do)) -> (B, L, D)."""

    def __init__(
        self,
        action_dim: int,
        chunk_length: int,
        obs_numel: int,
        channels: list[int] | tuple[int, ...] = (48, 96, 192),
        kernel_size: int = 5,
        groups: int = 8,
        step_embed_dim: int = 64,
    ) -> None:
        super().__init__()
        channels = list(channels)
        if chunk_length % (2 ** (len(channels) - 1)):
            raise ValueError(
                f"chunk_length {chunk_length} must be divisible by 2^{len(channels) - 1} "
                f"for a U-Net with {len(channels)} levels"
            )
        for c in channels:
            if c % groups:
                raise ValueError(f"U-Net channels {c} not divisible by {groups} GroupNorm groups")
        self.condition = ConditionEncoder(step_embed_dim, obs_numel)
        cond_dim = self.condition.dim

        def block(cin: int, cout: int) -> FiLMResidualBlock:
            return FiLMResidualBlock(cin, cout, cond_dim, kernel_size, groups)

        self.down = nn.ModuleList()
        widths = [action_dim] + channels
        for level, (cin, cout) in enumerate(zip(widths[:-1], widths[1:])):
            last = level == len(channels) - 1
            self.down.append(nn.ModuleList([
                block(cin, cout),
                block(cout, cout),
                nn.Identity() if last else nn.Conv1d(cout, cout, 3, stride=2, padding=1),
            ]))
        self.middle = nn.ModuleList([block(channels[-1], channels[-1]), block(channels[-1], channels[-1])])
        self.up = nn.ModuleList()
        for level in reversed(range(len(channels) - 1)):
            deeper, width = channels[level + 1], channels[level]
            self.up.append(nn.ModuleList([
                nn.ConvTranspose1d(deeper, deeper, 4, stride=2, padding=1),
                block(deeper + width, width),
                block(width, width),
            ]))
        self.head = nn.Sequential(
            ConvNormAct(channels[0], channels[0], kernel_size, groups),
            nn.Conv1d(channels[0], action_dim, 1),
        )

    def forward(self, noisy_actions: torch.Tensor, steps: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        cond = self.condition(steps, obs)
        x = noisy_actions.transpose(1, 2)  # (B, D, L)
        skips = []
        for first, second, downsample in self.down:
            x = second(first(x, cond), cond)
            skips.append(x)
            x = downsample(x)
        for module in self.middle:
            x = module(x, cond)
        skips.pop()  # the deepest level's features continue through the middle blocks
        for upsample, first, second in self.up:
            x = torch.cat([upsample(x), skips.pop()], dim=1)
            x = second(first(x, cond), cond)
        return self.head(x).transpose(1, 2)
