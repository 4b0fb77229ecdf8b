"""Conditional DDPM over normalized composite actions: epsilon-prediction loss and samplers.

Forward process: a^k = sqrt(alpha_bar_k) a^0 + sqrt(1 - alpha_bar_k) eps, eps ~ N(0, I).
Training loss (eq. 4.1 of Block et al. 2023): E ||eps - eps_theta(a^k, k, o~)||^2 with k uniform,
o~ the noised observation chunk (``prediction="epsilon"``). With ``prediction="sample"`` the
network predicts the clean action instead, loss E ||a^0 - f_theta(a^k, k, o~)||^2 (the same
model family: eps and a^0 determine each other given a^k). Sample prediction makes PushT
learnable on a CPU budget: at high noise it is a plain regression onto the conditional mean, which
a network fits in a few thousand steps, while an epsilon network's a^0 estimate at alpha_bar ~ 2e-7
divides its error by sqrt(alpha_bar) (docs/results.md, The PushT recipe).
Samplers (both predict a^0 from eps_theta and, with ``clip_sample``, clip it to [-1, 1]):

* DDPM (Ho et al. 2020): ancestral sampling through all K steps with the posterior variance
  beta~_k = beta_k (1 - alpha_bar_{k-1}) / (1 - alpha_bar_k).
* DDIM (Song et al. 2021): ``steps`` evenly spaced diffusion steps; ``eta`` scales the noise
  injected at each step (eta = 1: ancestral sampling on the sub-sequence, eta = 0: deterministic).
  The default is eta = 1: measured on the quadrotor and PushT models, deterministic DDIM-10 from
  the cosine schedule's last step (alpha_bar ~ 2e-7) lands far from the data (normalized action
  MSE to the demo chunk 0.24 against 0.044 for eta = 1 and 0.045 for DDPM-100).

Inpainting (real-time chunking's hand-over, Black, Galliker, Levine 2025): with an
:class:`Inpainting` guide, every sampling step replaces the predicted clean action by
w * target + (1 - w) * prediction, knot by knot, before the step is taken (x0 replacement with
RTC's soft mask; RTC itself guides a flow policy with a vector-Jacobian product, which this
replacement approximates without a backward pass). Knots with w = 1 come out equal to the target.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
from torch import nn

from hint_policy.diffusion.schedule import NoiseSchedule


#: what the denoiser network outputs
PREDICTIONS = ("epsilon", "sample")


@dataclasses.dataclass(frozen=True)
class Inpainting:
    """Knots of the sampled chunk pulled toward a target: clean <- w * target + (1 - w) * clean."""

    target: torch.Tensor  # (B, L, D) normalized, in the sampled coordinates
    weights: torch.Tensor  # (B, L) in [0, 1]

    def apply(self, clean: torch.Tensor) -> torch.Tensor:
        w = self.weights.to(clean)[..., None]
        return w * self.target.to(clean) + (1 - w) * clean

    def repeated(self, times: int) -> Inpainting:
        """The guide for a batch stacked `times` times (candidate chunks of the same observations)."""
        return Inpainting(self.target.repeat(times, 1, 1), self.weights.repeat(times, 1))


def soft_mask(length: int, frozen: int, overlap: int) -> np.ndarray:
    """RTC's guidance weights over a chunk of `length` knots: 1 for the first `frozen` knots (they
    execute before the new chunk can), exponentially decaying c (e^c - 1) / (e - 1) with
    c = (overlap - i) / (overlap - frozen + 1) over the rest of the `overlap` knots the previous
    chunk still covers, 0 beyond."""
    weights = np.zeros(length)
    overlap = min(max(overlap, 0), length)
    frozen = min(max(frozen, 0), overlap)
    weights[:frozen] = 1.0
    i = np.arange(frozen, overlap)
    c = (overlap - i) / (overlap - frozen + 1)
    weights[frozen:overlap] = c * np.expm1(c) / (math.e - 1)
    return weights


class ConditionalDDPM:
    """Loss and sampling for a denoiser eps_theta(a_noisy (B,L,D), k (B,), obs (B,To,Do))."""

    def __init__(
        self, schedule: NoiseSchedule, action_shape: tuple[int, int], clip_sample: bool = True, ddim_eta: float = 1.0,
        prediction: str = "epsilon",
    ):
        if not 0.0 <= ddim_eta <= 1.0:
            raise ValueError(f"ddim_eta must be in [0, 1], got {ddim_eta}")
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")
        self.prediction = prediction
        self.schedule = schedule
        self.action_shape = tuple(action_shape)
        self.clip_sample = clip_sample
        self.ddim_eta = float(ddim_eta)

    @property
    def num_steps(self) -> int:
        return self.schedule.num_steps

    def to(self, device: torch.device | str) -> ConditionalDDPM:
        self.schedule.to(device)
        return self

    def add_noise(self, actions: torch.Tensor, noise: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        """a^k for clean `actions` (B, L, D), `noise` like it, diffusion step indices (B,)."""
        alpha_bar = self.schedule.alpha_bars.to(actions.device)[steps].view(-1, 1, 1)
        return alpha_bar.sqrt() * actions + (1 - alpha_bar).sqrt() * noise

    def loss(
        self,
        denoiser: nn.Module,
        actions: torch.Tensor,
        obs: torch.Tensor,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
        steps: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean squared prediction error (eq. 4.1 for epsilon; the clean action for sample) on one batch.

        `noise` (like `actions`) and diffusion step indices `steps` (B,) are drawn from
        `generator` unless given (the training loop draws them for the global batch so that
        data-parallel processes reproduce the single-process batch exactly).
        """
        if noise is None:
            noise = torch.randn(actions.shape, generator=generator)
        if steps is None:
            steps = torch.randint(0, self.num_steps, (actions.shape[0],), generator=generator)
        noise, steps = noise.to(actions.device), steps.to(actions.device)
        predicted = denoiser(self.add_noise(actions, noise, steps), steps, obs)
        target = noise if self.prediction == "epsilon" else actions
        return torch.mean((predicted - target) ** 2)

    def _predict_clean(self, noisy: torch.Tensor, output: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
        """The clean action implied by the network `output` at noise level `alpha_bar` (clipped)."""
        if self.prediction == "sample":
            clean = output
        else:
            clean = (noisy - (1 - alpha_bar).sqrt() * output) / alpha_bar.sqrt()
        return clean.clamp(-1.0, 1.0) if self.clip_sample else clean

    @torch.no_grad()
    def sample(
        self,
        denoiser: nn.Module,
        obs: torch.Tensor,
        sampler: str = "ddim",
        steps: int | None = None,
        generator: torch.Generator | None = None,
        eta: float | None = None,
        guide: Inpainting | None = None,
    ) -> torch.Tensor:
        """Normalized composite actions (B, L, D) conditioned on normalized `obs` (B, To, Do).

        `eta` (DDIM only) defaults to the ``ddim_eta`` given at construction; `guide` inpaints."""
        if sampler == "ddpm":
            if steps not in (None, self.num_steps):
                raise ValueError(f"DDPM sampling runs all {self.num_steps} steps, got steps={steps}")
            return self._sample_ddpm(denoiser, obs, generator, guide)
        if sampler == "ddim":
            return self._sample_ddim(denoiser, obs, steps or 10, generator, self.ddim_eta if eta is None else eta, guide)
        raise ValueError(f"unknown sampler {sampler!r} (ddpm or ddim)")

    def _initial(self, obs: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        shape = (obs.shape[0],) + self.action_shape
        return torch.randn(shape, generator=generator, device="cpu").to(obs.device)

    def _sample_ddpm(self, denoiser: nn.Module, obs: torch.Tensor, generator, guide: Inpainting | None) -> torch.Tensor:
        s = self.schedule
        x = self._initial(obs, generator)
        batch = obs.shape[0]
        for k in reversed(range(self.num_steps)):
            step = torch.full((batch,), k, dtype=torch.long, device=obs.device)
            output = denoiser(x, step, obs)
            alpha_bar, alpha_bar_prev = s.alpha_bars[k], s.alpha_bars_prev[k]
            beta, alpha = s.betas[k], s.alphas[k]
            clean = self._predict_clean(x, output, alpha_bar)
            if guide is not None:
                clean = guide.apply(clean)
            mean = (alpha_bar_prev.sqrt() * beta / (1 - alpha_bar)) * clean + (
                alpha.sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar)
            ) * x
            if k > 0:
                variance = (beta * (1 - alpha_bar_prev) / (1 - alpha_bar)).clamp(min=1e-20)
                noise = torch.randn(x.shape, generator=generator, device="cpu").to(x.device)
                x = mean + variance.sqrt() * noise
            else:
                x = mean
        return x

    def ddim_timesteps(self, steps: int) -> list[int]:
        """Diffusion step indices visited by DDIM, from noisiest to cleanest."""
        if not 1 <= steps <= self.num_steps:
            raise ValueError(f"DDIM steps must be in [1, {self.num_steps}], got {steps}")
        grid = np.unique(np.round(np.linspace(0, self.num_steps - 1, steps)).astype(int))
        return [int(k) for k in grid[::-1]]

    def _sample_ddim(self, denoiser: nn.Module, obs: torch.Tensor, steps: int, generator, eta: float,
                     guide: Inpainting | None) -> torch.Tensor:
        s = self.schedule
        x = self._initial(obs, generator)
        batch = obs.shape[0]
        visited = self.ddim_timesteps(steps)
        for i, k in enumerate(visited):
            step = torch.full((batch,), k, dtype=torch.long, device=obs.device)
            output = denoiser(x, step, obs)
            alpha_bar = s.alpha_bars[k]
            alpha_bar_prev = s.alpha_bars[visited[i + 1]] if i + 1 < len(visited) else torch.ones_like(alpha_bar)
            clean = self._predict_clean(x, output, alpha_bar)
            if guide is not None:
                clean = guide.apply(clean)
            eps = (x - alpha_bar.sqrt() * clean) / (1 - alpha_bar).sqrt()  # consistent with clipping
            sigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar) * (1 - alpha_bar / alpha_bar_prev)).sqrt()
            x = alpha_bar_prev.sqrt() * clean + (1 - alpha_bar_prev - sigma**2).clamp(min=0).sqrt() * eps
            if eta > 0 and i + 1 < len(visited):
                x = x + sigma * torch.randn(x.shape, generator=generator, device="cpu").to(x.device)
        return x
