"""Learning-core speed: DDPM training steps per second and sampling latency (PushT-sized).

Dimensions follow PushT with state observations: observation chunk tau_obs = 2 knots of
7 full-state coordinates + 2 inputs; composite action 16 knots of (x_ref 4, u_ff 2, K 2x4) = 14.
Models are the config defaults (model.denoiser unet: channels 48/96/192; mlp: 4 blocks of 512),
100 diffusion steps. A training step = epsilon loss, backward, AdamW step and EMA update.

Every figure is measured with torch's default thread count and again with one thread: on a small
machine shared with other processes (simulator, controller, a second training run) OpenMP
threads contend and the multi-threaded figures can drop by 10-100x while one thread barely
changes. Each measurement stops after a few repetitions or a few seconds, whichever comes first.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from hint_policy.config import ModelConfig
from hint_policy.diffusion import EMA, ConditionalDDPM, NoiseSchedule, build_denoiser

OBS_STEPS, OBS_DIM = 2, 7 + 2
CHUNK, ACTION_DIM = 16, 4 + 2 + 8
BATCH = 256
TIME_BOX_S = 6.0


def _model(kind: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_denoiser(ModelConfig(denoiser=kind), ACTION_DIM, CHUNK, OBS_STEPS, OBS_DIM)


def _timed(action: Callable[[], None], repeats: int, warm_up: bool = True) -> list[float]:
    """Durations of up to `repeats` calls (after a warm-up call), stopping after TIME_BOX_S."""
    if warm_up:
        action()
    durations: list[float] = []
    deadline = time.perf_counter() + TIME_BOX_S
    while len(durations) < repeats and (not durations or time.perf_counter() < deadline):
        start = time.perf_counter()
        action()
        durations.append(time.perf_counter() - start)
    return durations


def _train_step(kind: str) -> tuple[Callable[[], None], int]:
    model = _model(kind)
    ddpm = ConditionalDDPM(NoiseSchedule(100), (CHUNK, ACTION_DIM))
    ema = EMA(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-6)
    generator = torch.Generator().manual_seed(0)
    actions = torch.rand(BATCH, CHUNK, ACTION_DIM, generator=generator) * 2 - 1
    obs = torch.randn(BATCH, OBS_STEPS, OBS_DIM, generator=generator)

    def step() -> None:
        loss = ddpm.loss(model, actions, obs, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        ema.update(model)

    return step, sum(p.numel() for p in model.parameters())


def _sampler(model: torch.nn.Module, sampler: str, steps: int | None) -> Callable[[], None]:
    ddpm = ConditionalDDPM(NoiseSchedule(100), (CHUNK, ACTION_DIM))
    model.eval()
    obs = torch.randn(1, OBS_STEPS, OBS_DIM)
    generator = torch.Generator().manual_seed(0)
    return lambda: ddpm.sample(model, obs, sampler, steps, generator)


def _figures(report, suffix: str, where: str) -> None:
    for kind, repeats in (("unet", 6), ("mlp", 20)):
        step, params = _train_step(kind)
        durations = _timed(step, repeats)
        report(f"train.steps_per_s.{kind}{suffix}", len(durations) / sum(durations), "steps/s",
               f"{kind} {params / 1e6:.2f}M params, batch {BATCH}, obs 2x9, action 16x14, "
               f"{len(durations)} steps, {where}")
    unet = _model("unet")
    ddim = _timed(_sampler(unet, "ddim", 10), 15)
    report(f"sample.latency_ms.ddim10{suffix}", 1000 * statistics.median(ddim), "ms",
           f"median of {len(ddim)}, batch 1, PushT UNet 48/96/192, DDIM 10 steps, {where}")
    if 10 * statistics.median(ddim) > 5 * TIME_BOX_S:  # one DDPM sample would take minutes
        report(f"sample.latency_ms.ddpm100{suffix}", float("nan"), "ms",
               f"not measured: DDIM-10 took {1000 * statistics.median(ddim):.0f} ms (contended machine), {where}")
        return
    ddpm = _timed(_sampler(unet, "ddpm", None), 3, warm_up=False)
    report(f"sample.latency_ms.ddpm100{suffix}", 1000 * statistics.median(ddpm), "ms",
           f"median of {len(ddpm)}, batch 1, PushT UNet 48/96/192, DDPM 100 steps, {where}")


def run(report) -> None:
    threads = torch.get_num_threads()
    _figures(report, "", f"CPU, {threads} torch threads")
    torch.set_num_threads(1)
    try:
        _figures(report, "_1thread", "CPU, 1 torch thread")
    finally:
        torch.set_num_threads(threads)
