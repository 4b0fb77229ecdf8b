"""Build a policy's networks from its config: the denoiser a ModelConfig names, sized for a chunk
layout, and the conditional DDPM around it (used by training and by every loader of a checkpoint)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from hint_policy.config import HintConfig, ModelConfig
from hint_policy.diffusion.ddpm import ConditionalDDPM
from hint_policy.diffusion.mlp import MLPDenoiser
from hint_policy.diffusion.schedule import NoiseSchedule
from hint_policy.diffusion.unet1d import UNet1DDenoiser

if TYPE_CHECKING:
    from hint_policy.training_data.chunks import ChunkLayout
    from hint_policy.training_data.normalizers import Normalizers


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


def build_model(config: HintConfig, layout: ChunkLayout, normalizers: Normalizers) -> nn.Module:
    """The denoiser over the learned action coordinates (Normalizers.learned_action_dim)."""
    return build_denoiser(config.model, normalizers.learned_action_dim, layout.chunk_length, layout.obs_steps,
                          layout.obs_dim)


def build_diffusion(config: HintConfig, layout: ChunkLayout, normalizers: Normalizers) -> ConditionalDDPM:
    schedule = NoiseSchedule(config.diffusion.train_steps, config.diffusion.beta_schedule)
    return ConditionalDDPM(
        schedule, (layout.chunk_length, normalizers.learned_action_dim), config.diffusion.clip_sample,
        config.diffusion.ddim_eta, config.diffusion.prediction,
    )
