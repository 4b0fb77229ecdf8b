"""Build the denoiser named by a ModelConfig."""

from __future__ import annotations

from torch import nn

from hint_policy.config import ModelConfig
from hint_policy.diffusion.mlp import MLPDenoiser
from hint_policy.diffusion.unet1d import UNet1DDenoiser


def build_denoiser(config: ModelConfig, action_dim: int, chunk_length: int, obs_steps: int, obs_dim: int) -> nn.Module:
    obs_numel = obs_steps * obs_dim
    if config.denoiser == "unet":
        return UNet1DDenoiser(
            action_dim, chunk_length, obs_numel, channels=config.unet_channels,
            kernel_size=config.unet_kernel_size, groups=config.unet_groups,
            step_embed_dim=config.step_embed_dim,
        )
    if config.denoiser == "mlp":
        return MLPDenoiser(
            action_dim, chunk_length, obs_numel, hidden=config.mlp_hidden,
            blocks=config.mlp_blocks, step_embed_dim=config.step_embed_dim,
        )
    raise ValueError(f"unknown denoiser {config.denoiser!r} (unet or mlp)")
