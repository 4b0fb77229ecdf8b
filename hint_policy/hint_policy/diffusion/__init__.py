"""Conditional DDPM over composite actions: noise schedule, denoisers, training loss, samplers.

Written for hint (no diffusers dependency). Shapes: noisy actions (B, chunk_length, action_dim),
diffusion step indices (B,) int64, conditioning observations (B, obs_steps, obs_dim).
"""

from hint_policy.diffusion.ddpm import ConditionalDDPM
from hint_policy.diffusion.ema import EMA
from hint_policy.diffusion.factory import build_denoiser
from hint_policy.diffusion.schedule import NoiseSchedule

__all__ = ["ConditionalDDPM", "EMA", "NoiseSchedule", "build_denoiser"]
