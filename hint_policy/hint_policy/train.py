"""Train a HINT policy: noise-augmented conditional DDPM over composite actions (Algorithm 1).

    python -m hint_policy.train --config cfg.yaml [--set train.steps=5000 data.sigma=0.1 ...]
    python -m hint_policy.train --config cfg.yaml --resume          # continue <out_dir>/checkpoints/latest.pt
    torchrun --nproc_per_node=2 -m hint_policy.train --config cfg.yaml   # DDP (gloo on CPU, nccl on CUDA)

Outputs under ``train.out_dir``: ``config.yaml``, ``train_log.jsonl`` (loss, lr, evaluation
metrics) and ``checkpoints/latest.pt`` (plus ``step_<n>.pt`` with ``train.keep_checkpoints``).
Checkpoints are written atomically (temporary file + os.replace), hold only tensors and plain
Python values (``torch.load(weights_only=True)`` works) and contain the config, the chunk layout
(names, dims, periods), the normalizers, model and EMA weights, optimizer state and step.

Determinism: the minibatch of global step s and its diffusion noise are functions of
(train.seed, s) only, so a run resumed from a checkpoint continues exactly as the uninterrupted
run would have (bitwise on CPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from hint_controller.dynamics.base import DynamicsModel
from hint_controller.tvlqr import SynthesisFn
from hint_policy.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    load_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
)
from hint_policy.cli import add_debug_flag, check_at_least, run_main
from hint_policy.config import HintConfig, TrainConfig, config_from_dict, config_to_dict, load_config, save_config
from hint_policy.demos import Demo
from hint_policy.diffusion import EMA, ConditionalDDPM
from hint_policy.diffusion.factory import build_diffusion, build_model
from hint_policy.inference import HintPolicy
from hint_policy.training_data import build_training_data
from hint_policy.training_data.chunks import ChunkLayout
from hint_policy.training_data.demo_sources import config_demos
from hint_policy.training_data.noised_dataset import HintDataset
from hint_policy.training_data.normalizers import Normalizers


#: eval_fn(policy, step) -> metrics; called on rank 0 with the EMA weights (see hint_policy.evaluate)
EvalFn = Callable[[Any, int], dict[str, float]]

#: what to resume from: False = nothing, True = <out_dir>/checkpoints/latest.pt if it exists, or a checkpoint path
ResumeFrom = bool | str | os.PathLike


@dataclasses.dataclass
class TrainResult:
    checkpoint: Path | None
    step: int
    last_loss: float
    losses: list[float]  # rank 0's loss at every step run in this call


@dataclasses.dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # this module initialized the process group

    @property
    def is_main(self) -> bool:
        return self.rank == 0


# --------------------------------------------------------------------------- setup helpers


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"train.device={name!r} but CUDA is not available")
    return device


def setup_distributed(device_name: str) -> DistInfo:
    """Join the process group torchrun describes (WORLD_SIZE > 1); no-op for one process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if dist.is_initialized():
        return DistInfo(rank, world_size, local_rank, owns_group=False)
    backend = "nccl" if resolve_device(device_name, local_rank).type == "cuda" else "gloo"
    dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return DistInfo(rank, world_size, local_rank, owns_group=True)


# --------------------------------------------------------------------------- the loop


def learning_rate_factor(step: int, warmup_steps: int, total_steps: int, schedule: str = "cosine") -> float:
    """Linear warm-up to 1 over `warmup_steps`, then cosine decay to 0 at `total_steps`
    (`schedule` "cosine") or 1 to the end ("constant")."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return 0.5 * (1 + math.cos(math.pi * progress))


def batch_indices(step: int, batch_size: int, num_items: int, seed: int) -> torch.Tensor:
    """Global minibatch of `step`: consecutive slices of per-epoch permutations (stateless)."""
    positions = torch.arange(step * batch_size, (step + 1) * batch_size)
    epochs = positions // num_items
    out = torch.empty(batch_size, dtype=torch.long)
    for epoch in torch.unique(epochs).tolist():
        mask = epochs == epoch
        out[mask] = _epoch_permutation(seed, epoch, num_items)[positions[mask] % num_items]
    return out


@functools.lru_cache(maxsize=2)
def _epoch_permutation(seed: int, epoch: int, num_items: int) -> torch.Tensor:
    """The item order of one epoch (cached: drawing it takes ~5 ms for PushT's 700k items, as long
    as a twentieth of a training step; a batch straddles at most two epochs). Do not modify."""
    generator = torch.Generator().manual_seed(_mix_seed(seed, 0, epoch))
    return torch.randperm(num_items, generator=generator)


def _mix_seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1, dtype=np.uint64)[0] >> 1)


def train(
    config: HintConfig,
    demos: Sequence[Demo] | None = None,
    model: DynamicsModel | None = None,
    synthesize: SynthesisFn | None = None,
    eval_fn: EvalFn | None = None,
    resume: ResumeFrom = False,
) -> TrainResult:
    """Run (or continue) training as `config` says.

    `demos`, `model` and `synthesize` left None are made as ``config.data`` says (the files in
    ``data.demos``, the model ``data.dynamics``, the oracle ``data.synthesis``; see
    :func:`hint_policy.training_data.training_chunks`); given ones replace them.
    `eval_fn(policy, step)` runs every ``eval.every_steps`` on rank 0 (the command line passes
    :func:`hint_policy.evaluate.make_eval_fn`); the ``eval.keep_best`` best checkpoints by its
    ``mean_score`` are kept, and ``training_curve.png`` plots loss and score against steps. `resume` = True
    continues from ``<out_dir>/checkpoints/latest.pt`` if it exists; a path must exist.
    """
    config.validate()
    info = setup_distributed(config.train.device)
    finished = False
    try:
        result = _train(config, info, demos, model, synthesize, eval_fn, resume)
        finished = True
        return result
    finally:
        if info.owns_group:
            if finished:  # no rank tears gloo down while another still talks to it (never after a failure:
                dist.barrier()  # a rank that failed would never arrive)
            dist.destroy_process_group()


def _train(
    config: HintConfig,
    info: DistInfo,
    demos: Sequence[Demo] | None,
    model: DynamicsModel | None,
    synthesize: SynthesisFn | None,
    eval_fn: EvalFn | None,
    resume: ResumeFrom,
) -> TrainResult:
    """The steps of a run: this process's device, the checkpoint to resume from, the data, the
    networks and optimizer (restored from that checkpoint), then optimization to ``train.steps``."""
    device = _configure_process(config.train, info)
    outputs = _Outputs(config, info)
    resume_path = _resume_path(resume, outputs.checkpoint_dir)
    payload = load_checkpoint(resume_path) if resume_path else None
    saved_normalizers = Normalizers.from_state_dict(payload["normalizers"]) if payload else None
    dataset, layout, normalizers = build_training_data(config.data, demos, model, synthesize, saved_normalizers)
    if payload:
        _check_resumable(payload, config, layout, resume_path)
    run = _Run.build(config, info, device, layout, normalizers, payload)
    outputs.start(dataset, run)
    return _optimize(run, dataset, outputs, eval_fn, latest=resume_path)


def _configure_process(tc: TrainConfig, info: DistInfo) -> torch.device:
    """This process's share of the batch checked, its threads set, and its device."""
    if tc.batch_size % info.world_size:
        raise ValueError(f"train.batch_size {tc.batch_size} not divisible by {info.world_size} processes")
    if tc.threads > 0:
        torch.set_num_threads(tc.threads)
    device = resolve_device(tc.device, info.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


@dataclasses.dataclass
class _Run:
    """What optimization advances (weights, EMA, optimizer state, the global step and its loss)
    and what a checkpoint of it holds."""

    config: HintConfig
    info: DistInfo
    device: torch.device
    layout: ChunkLayout
    normalizers: Normalizers
    denoiser: torch.nn.Module
    trained: torch.nn.Module  # the denoiser, wrapped in DistributedDataParallel with several processes
    diffusion: ConditionalDDPM
    ema: EMA
    optimizer: torch.optim.Optimizer
    step: int
    loss: float  # of the last step (averaged over processes); NaN before the first

    @classmethod
    def build(cls, config: HintConfig, info: DistInfo, device: torch.device, layout: ChunkLayout,
              normalizers: Normalizers, payload: dict[str, Any] | None) -> _Run:
        """Networks initialized from ``train.seed``, then everything restored from `payload` (a
        checkpoint) when given."""
        tc = config.train
        torch.manual_seed(tc.seed)
        denoiser = build_model(config, layout, normalizers).to(device)
        diffusion = build_diffusion(config, layout, normalizers).to(device)
        ema = EMA(denoiser, tc.ema_power, tc.ema_max_decay)
        optimizer = torch.optim.AdamW(
            denoiser.parameters(), lr=tc.lr, betas=tuple(tc.adam_betas), weight_decay=tc.weight_decay
        )
        step, loss = 0, math.nan
        if payload:
            denoiser.load_state_dict(payload["model"])
            ema.load_state_dict(payload["ema"])
            optimizer.load_state_dict(payload["optimizer"])
            step, loss = int(payload["step"]), float(payload["metrics"]["loss"])
            torch.set_rng_state(payload["rng"]["torch"])
        ema.model.to(device)
        device_ids = [device.index] if device.type == "cuda" else None
        trained = DistributedDataParallel(denoiser, device_ids=device_ids) if info.world_size > 1 else denoiser
        return cls(config, info, device, layout, normalizers, denoiser, trained, diffusion, ema, optimizer, step, loss)

    def optimization_step(self, dataset: HintDataset) -> float:
        """One step on the global minibatch of the current step; its loss, averaged over processes."""
        tc, info = self.config.train, self.info
        # the whole global batch is drawn identically on every rank, then sliced: any number
        # of processes takes the same optimization step as one process would
        generator = torch.Generator().manual_seed(_mix_seed(tc.seed, 1, self.step))
        batch = dataset.get_batch(batch_indices(self.step, tc.batch_size, len(dataset), tc.seed), generator)
        noise = torch.randn(batch["action"].shape, generator=generator)
        diffusion_steps = torch.randint(0, self.diffusion.num_steps, (tc.batch_size,), generator=generator)
        per_rank = tc.batch_size // info.world_size
        mine = slice(info.rank * per_rank, (info.rank + 1) * per_rank)
        for group in self.optimizer.param_groups:
            group["lr"] = tc.lr * learning_rate_factor(self.step, tc.warmup_steps, tc.steps, tc.lr_schedule)
        loss = self.diffusion.loss(
            self.trained, batch["action"][mine].to(self.device), batch["obs"][mine].to(self.device),
            noise=noise[mine], steps=diffusion_steps[mine],
        )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if tc.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.denoiser.parameters(), tc.grad_clip)
        self.optimizer.step()
        self.ema.update(self.denoiser)
        self.step += 1
        self.loss = _global_mean(loss.detach(), info)
        return self.loss

    def snapshot(self) -> dict[str, Any]:
        """The checkpoint payload of the current state."""
        return {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "config": config_to_dict(self.config),
            "layout": self.layout.to_dict(),
            "normalizers": self.normalizers.state_dict(),
            "model": self.denoiser.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "rng": {"torch": torch.get_rng_state()},
            "metrics": {"loss": float(self.loss)},
            "world_size": self.info.world_size,
        }


class _Outputs:
    """What rank 0 writes under ``train.out_dir`` (the other ranks write nothing): config.yaml,
    train_log.jsonl, the checkpoints and training_curve.png."""

    def __init__(self, config: HintConfig, info: DistInfo) -> None:
        self.config, self.is_main = config, info.is_main
        self.out_dir = Path(config.train.out_dir)
        self.checkpoint_dir = self.out_dir / "checkpoints"
        self.log = _Logger(self.out_dir / "train_log.jsonl", enabled=self.is_main)
        self.best = _BestCheckpoints(self.checkpoint_dir, config.eval.keep_best if self.is_main else 0)
        if self.is_main:
            remove_stale_temporaries(self.checkpoint_dir)

    def start(self, dataset: HintDataset, run: _Run) -> None:
        if not self.is_main:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        save_config(self.config, self.out_dir / "config.yaml")
        self.log.write({"event": "start", "step": run.step, "items": len(dataset), "samples": dataset.num_samples,
                        "parameters": sum(p.numel() for p in run.denoiser.parameters()),
                        "world_size": run.info.world_size, "device": str(run.device)})

    def checkpoint(self, run: _Run, keep: bool) -> Path | None:
        """latest.pt (and step_<n>.pt when `keep`); None on the other ranks."""
        if not self.is_main:
            return None
        state = run.snapshot()
        latest = save_checkpoint(self.checkpoint_dir / "latest.pt", state)
        if keep:
            save_checkpoint(self.checkpoint_dir / f"step_{run.step:08d}.pt", state)
        return latest

    def evaluate(self, run: _Run, eval_fn: EvalFn) -> dict[str, float] | None:
        """`eval_fn`'s metrics of the EMA policy, logged and offered to the best checkpoints; None
        on the other ranks."""
        if not self.is_main:
            return None
        state = run.snapshot()
        metrics = eval_fn(_policy_from_snapshot(state, self.config), run.step)
        self.log.write({"step": run.step, "event": "eval", **metrics})
        self.best.consider(run.step, metrics.get("mean_score", math.nan), state)
        return metrics

    def close(self) -> None:
        if self.is_main:
            plot_training_curve(self.out_dir / "train_log.jsonl", self.out_dir / "training_curve.png")


def _optimize(run: _Run, dataset: HintDataset, outputs: _Outputs, eval_fn: EvalFn | None,
              latest: Path | None) -> TrainResult:
    """Optimization steps from the run's step to ``train.steps`` with their logging, periodic
    checkpoints and evaluations, and a last checkpoint (also when interrupted)."""
    tc, every_eval = run.config.train, run.config.eval.every_steps
    losses: list[float] = []
    progress = _progress(tc, run.step, run.info.is_main)
    stop = _StopRequest()
    try:
        while run.step < tc.steps:
            if stop.agreed(run.info, run.device):  # only between optimization steps: checkpoints hold whole steps
                raise KeyboardInterrupt("interrupted")
            losses.append(run.optimization_step(dataset))
            progress.update(1)
            step, loss = run.step, run.loss
            if step % max(1, tc.log_every) == 0 or step == tc.steps:
                progress.set_postfix(loss=f"{loss:.4f}")
                outputs.log.write({"step": step, "loss": loss, "lr": run.optimizer.param_groups[0]["lr"]})
            if tc.checkpoint_every > 0 and step % tc.checkpoint_every == 0 and step < tc.steps:
                latest = outputs.checkpoint(run, keep=tc.keep_checkpoints) or latest
            if eval_fn is not None and every_eval > 0 and step % every_eval == 0:
                metrics = outputs.evaluate(run, eval_fn)
                if metrics is not None:
                    progress.set_postfix(loss=f"{loss:.4f}", score=f"{metrics.get('mean_score', math.nan):.3f}")
        latest = outputs.checkpoint(run, keep=tc.keep_checkpoints) or latest
    except KeyboardInterrupt:
        if run.step > 0:
            outputs.checkpoint(run, keep=False)
            outputs.log.write({"event": "interrupted", "step": run.step})
        raise
    finally:
        stop.restore()
        progress.close()
        outputs.close()
    return TrainResult(checkpoint=latest, step=run.step, last_loss=run.loss, losses=losses)


def _global_mean(value: torch.Tensor, info: DistInfo) -> float:
    """The loss averaged over processes (equal shares of the global batch)."""
    if info.world_size > 1:
        value = value.clone()
        dist.all_reduce(value)
        value /= info.world_size
    return float(value)


def _resume_path(resume: ResumeFrom, checkpoint_dir: Path) -> Path | None:
    if resume is False or resume is None:
        return None
    if resume is True:
        latest = checkpoint_dir / "latest.pt"
        if not latest.is_file():
            print(f"no checkpoint at {latest}; starting from scratch", file=sys.stderr)
            return None
        return latest
    path = Path(resume)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint to resume from {path} does not exist")
    return path


def _check_resumable(payload: dict, config: HintConfig, layout: ChunkLayout, path: Path) -> None:
    saved = config_from_dict(HintConfig, payload["config"])
    if saved.model != config.model or saved.diffusion != config.diffusion:
        raise ValueError(f"cannot resume from {path}: model or diffusion settings differ")
    if ChunkLayout.from_dict(payload["layout"]) != layout:
        raise ValueError(f"cannot resume from {path}: observation/action layout differs")


def overfit_config(config: HintConfig, num_demos: int) -> HintConfig:
    """`config` narrowed to its first `num_demos` demos, sigma 0, evaluated from their own seeds."""
    demos = config_demos(dataclasses.replace(config.data, num_demos=num_demos))
    data = dataclasses.replace(config.data, num_demos=num_demos, sigma=0.0)
    every = max(1, config.train.steps // 4)  # four evaluations, the last at the final step
    evaluation = dataclasses.replace(config.eval, seeds=[d.seed for d in demos], episodes=len(demos), every_steps=every,
                                     sigma=0.0)
    train_config = dataclasses.replace(config.train, out_dir=str(Path(config.train.out_dir) / f"overfit_{num_demos}"))
    overfit = dataclasses.replace(config, data=data, eval=evaluation, train=train_config)
    overfit.validate()
    return overfit


def _policy_from_snapshot(payload: dict, config: HintConfig) -> HintPolicy:
    return HintPolicy.from_payload(
        payload, sigma=config.eval.sigma, sampler=config.eval.sampler, sampler_steps=config.eval.sampler_steps
    )


class _BestCheckpoints:
    """The `keep` best evaluated checkpoints: best_step_<n>.pt files and a copy of the best as best.pt."""

    def __init__(self, folder: Path, keep: int) -> None:
        self.folder, self.keep = folder, keep
        self.kept: list[tuple[float, int]] = []  # (score, step), best first

    def consider(self, step: int, score: float, state: dict[str, Any]) -> None:
        if self.keep <= 0 or not math.isfinite(score):
            return
        if len(self.kept) >= self.keep and score <= self.kept[-1][0]:
            return
        state = {**state, "metrics": {**state["metrics"], "score": score}}
        save_checkpoint(self.folder / f"best_step_{step:08d}.pt", state)
        self.kept = sorted(self.kept + [(score, step)], key=lambda item: -item[0])
        for _, dropped in self.kept[self.keep:]:
            (self.folder / f"best_step_{dropped:08d}.pt").unlink(missing_ok=True)
        self.kept = self.kept[: self.keep]
        if self.kept[0][1] == step:
            save_checkpoint(self.folder / "best.pt", state)


def read_training_log(log_path: Path) -> list[dict[str, Any]]:
    """The records of a train_log.jsonl, in order (losses, and events such as "eval")."""
    return [json.loads(line) for line in Path(log_path).read_text().splitlines() if line.strip()]


def plot_training_curve(log_path: Path, out_path: Path) -> Path | None:
    """Loss and evaluation score against steps from a train_log.jsonl (None when nothing to plot)."""
    if not log_path.is_file():
        return None
    records = read_training_log(log_path)
    losses = [(r["step"], r["loss"]) for r in records if "loss" in r and "event" not in r]
    scores = [(r["step"], r["mean_score"]) for r in records if r.get("event") == "eval" and "mean_score" in r]
    if not losses:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, loss_axis = plt.subplots(figsize=(7, 4))
    loss_axis.plot(*zip(*losses), color="tab:blue", lw=1)
    loss_axis.set(xlabel="training step", ylabel="training loss", yscale="log")
    if scores:
        score_axis = loss_axis.twinx()
        score_axis.plot(*zip(*scores), "o-", color="tab:green")
        score_axis.set(ylabel="evaluation mean score", ylim=(0, 1.02))
    figure.tight_layout()
    figure.savefig(out_path, dpi=100)
    plt.close(figure)
    return out_path


class _Logger:
    def __init__(self, path: Path, enabled: bool) -> None:
        self.path, self.enabled, self.start = path, enabled, time.time()

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as stream:
            stream.write(json.dumps({"time": round(time.time() - self.start, 3), **record}) + "\n")


class _NoProgress:
    def update(self, n: int) -> None: ...
    def set_postfix(self, **kwargs: Any) -> None: ...
    def close(self) -> None: ...


def _progress(tc: TrainConfig, step: int, is_main: bool) -> Any:
    if not (tc.progress and is_main):
        return _NoProgress()
    from tqdm.auto import tqdm

    return tqdm(total=tc.steps, initial=step, desc="train", dynamic_ncols=True)


class _StopRequest:
    """Ctrl-C and SIGTERM (torchrun, schedulers) during training only set a flag; the loop stops
    before the next optimization step, so the checkpoint written then is a whole step and a resumed
    run continues exactly like an uninterrupted one. Under DDP the ranks agree (any rank's request
    stops all of them at the same step)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[signum] = signal.signal(signum, self._handler)
            except ValueError:  # not the main thread: signals stay as they are
                pass

    def _handler(self, signum, frame) -> None:
        self.requested = True

    def agreed(self, info: DistInfo, device: torch.device) -> bool:
        if info.world_size == 1:
            return self.requested
        flag = torch.tensor([float(self.requested)], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="YAML config (defaults for everything not set)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides, e.g. train.lr=3e-4")
    parser.add_argument("--resume", nargs="?", const=True, default=False,
                        help="continue from <out_dir>/checkpoints/latest.pt, or from the given checkpoint")
    parser.add_argument("--overfit", type=int, metavar="N",
                        help="check the recipe: train on the first N demos without noise and evaluate from "
                             "those demos' own starts; a learner that cannot reach 0.9 there has a bug")
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    check_at_least(args, overfit=1)
    config = load_config(args.config, args.set)
    if args.overfit:
        config = overfit_config(config, args.overfit)
    eval_fn = None
    if config.eval.every_steps > 0 and int(os.environ.get("RANK", "0")) == 0:
        from hint_policy.evaluate import make_eval_fn

        eval_fn = make_eval_fn(config)
    try:
        result = train(config, resume=args.resume, eval_fn=eval_fn)
    except KeyboardInterrupt:
        print("interrupted; resume with --resume", file=sys.stderr)
        return 130
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"trained to step {result.step}, last loss {result.last_loss:.5f}, checkpoint {result.checkpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
