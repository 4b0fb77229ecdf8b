"""Closed-loop evaluation of a HINT policy in hint's simulators (no ROS).

    python -m hint_policy.evaluate --checkpoint outputs/train/checkpoints/latest.pt --env pusht \
        --episodes 50 --first-seed 100000 [--sigma 0.1] [--sampler ddim --sampler-steps 10] \
        [--candidates 8] [--exec-knots 8] [--batch 25] [--out results/eval.json] [--video results/episode0.mp4]

Loop of one episode (physics step s, time s * physics_period):

* every ``exec_knots`` knots (every ``exec_knots * control_stride`` physics steps, from s = 0) the
  policy gets the last ``obs_steps`` knot observations - the full state at each knot and the
  input applied in the physics step before it (zeros before the first step) - and returns a
  composite action starting now, which replaces the previous one in the chunk executor;
* every physics step the executor turns the active primitive controller and the measured state
  into the input u = u_ff + K (x - x_ref(t)) (clamped), and the env advances one step.

Episodes run in lockstep in batches (one policy call per batch and replanning time), ending at
success, collision or ``env.max_steps``. Per episode: score = the maximum reward (PushT: clipped
coverage / 0.95, gym-pusht's score), success, collision, length. The summary averages them.

Hand-over jump: at every replanning after the first, the input the executing chunk commands at
that step and the input the new chunk commands at the same time and state; the jump is
max_j |u_new_j - u_old_j| / range_j with range = the policy's training range of u_ff
(:meth:`ChunkPolicy.input_range`). ``handover_jump_median`` / ``_p95`` summarize all hand-overs
(absent when the policy has no input range). A rule that only moves the jump to the next knot
boundary shows in ``knot_jump_median`` / ``_p95``: max_j |u_j - u_j one physics step before| /
range_j at every knot boundary (hand-overs included). The policy gets each episode's executing chunk
(``act_batch(..., previous=...)``) for its hand-over rule (``--handover``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hint_controller.composite_action import CompositeAction
from hint_controller.executor import ChunkExecutor
from hint_controller.names import name_indices
from hint_policy.baselines import BASELINES, NearestNeighbourPolicy
from hint_policy.cli import add_debug_flag, check_at_least, run_main
from hint_policy.config import HintConfig, load_config
from hint_policy.envs import make_env
from hint_policy.envs.base import Env
from hint_policy.inference import DEFAULT_CANDIDATES, HANDOVERS, ChunkPolicy, HintPolicy


@dataclasses.dataclass
class EpisodeResult:
    seed: int
    score: float  # max reward over the episode
    success: bool
    collision: bool
    steps: int  # physics steps run
    policy_calls: int
    #: the env's task-specific figures (Env.episode_metrics), e.g. quadrotor passed_obstacle
    task_metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    #: relative input jump at each hand-over (module docstring)
    handover_jumps: list[float] = dataclasses.field(default_factory=list)
    #: relative input change across each knot boundary (module docstring)
    knot_jumps: list[float] = dataclasses.field(default_factory=list)
    #: the env's reward at each knot (PushT: gym-pusht's clipped coverage / 0.95), for tracing
    #: where an episode is lost (hint_policy.episode_traces)
    reward_trace: list[float] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class EvalSummary:
    episodes: list[EpisodeResult]
    policy_seconds: float  # wall time inside the policy
    total_seconds: float

    @property
    def metrics(self) -> dict[str, float]:
        runs = self.episodes
        calls = sum(e.policy_calls for e in runs)
        handover = {}
        for name in ("handover_jump", "knot_jump"):
            jumps = [jump for e in runs for jump in getattr(e, f"{name}s")]
            if jumps:
                handover |= {f"{name}_median": float(np.median(jumps)), f"{name}_p95": float(np.percentile(jumps, 95))}
        return {
            "mean_score": float(np.mean([e.score for e in runs])),
            "success_rate": float(np.mean([e.success for e in runs])),
            "collision_rate": float(np.mean([e.collision for e in runs])),
            "mean_steps": float(np.mean([e.steps for e in runs])),
            "episodes": float(len(runs)),
            "policy_ms_per_call": 1000 * self.policy_seconds / max(1, calls),
            "seconds": self.total_seconds,
            **{f"mean_{key}": float(np.mean([e.task_metrics[key] for e in runs])) for key in runs[0].task_metrics},
            **handover,
        }


class _Episode:
    """One env in a lockstep batch with its executor; its observation memory is the policy's
    (episode slot `slot`, :meth:`ChunkPolicy.begin_episodes`)."""

    def __init__(self, env: Env, policy: ChunkPolicy, slot: int, seed: int, state_order: list[int]) -> None:
        self.env, self.policy, self.slot, self.seed, self.order = env, policy, slot, seed, state_order
        self.input_range = policy.input_range()
        self.handover_jumps: list[float] = []
        self.knot_jumps: list[float] = []
        self.reward_trace: list[float] = []
        self._before_switch: np.ndarray | None = None
        self._last_u: np.ndarray | None = None
        self.executor = ChunkExecutor(env.model, state_names=env.state_names)
        self.state = env.reset(seed)
        policy.observe(self.state[state_order], np.zeros(len(policy.input_names)), episode=slot)
        self.score, self.success, self.collision = 0.0, False, False
        self.steps, self.calls, self.done = 0, 0, False

    def take(self, action: CompositeAction, time_now: float) -> None:
        """Hand over to `action` at time_now, noting the input the executing chunk commands now."""
        if self.calls > 0 and self.input_range is not None:
            self._before_switch = self.executor.command(time_now, self.state)[0]
        self.executor.submit(action)
        self.calls += 1

    def physics_step(self, time_now: float, stride: int) -> None:
        u, _ = self.executor.command(time_now, self.state)
        if self._before_switch is not None:
            self.handover_jumps.append(float(np.max(np.abs(u - self._before_switch) / self.input_range)))
            self._before_switch = None
        if self.input_range is not None and self._last_u is not None and self.steps % stride == 0:
            self.knot_jumps.append(float(np.max(np.abs(u - self._last_u) / self.input_range)))
        self._last_u = np.array(u, dtype=float)
        self.state, info = self.env.step(u)
        self.steps += 1
        self.score = max(self.score, float(info.reward))
        self.success |= bool(info.success)
        self.collision |= bool(info.collision)
        if self.steps % stride == 0:
            self.policy.observe(self.state[self.order], u, episode=self.slot)
            self.reward_trace.append(float(info.reward))
        self.done = info.done or self.steps >= self.env.max_steps

    def result(self) -> EpisodeResult:
        return EpisodeResult(self.seed, self.score, self.success, self.collision, self.steps, self.calls,
                             self.env.episode_metrics(), self.handover_jumps, self.knot_jumps, self.reward_trace)


def evaluate_policy(
    policy: ChunkPolicy,
    env_factory: Callable[[], Env],
    seeds: Sequence[int],
    exec_knots: int = 8,
    batch: int = 25,
    frame_callback: Callable[[np.ndarray], None] | None = None,
    progress: bool = False,
) -> EvalSummary:
    """Run one episode per seed; `frame_callback` gets a frame of the first episode at each knot."""
    if not 1 <= exec_knots <= policy.chunk_length:
        raise ValueError(f"exec_knots must be in [1, {policy.chunk_length}], got {exec_knots}")
    start = time.perf_counter()
    envs = [env_factory() for _ in range(min(batch, len(seeds)))]
    first = envs[0]
    if first.control_stride != policy.control_stride or not math.isclose(
        first.physics_period, policy.layout.physics_period
    ):
        raise ValueError(
            f"env {first.name!r} runs knots every {first.control_stride} x {first.physics_period} s, the policy "
            f"was trained for {policy.control_stride} x {policy.layout.physics_period} s"
        )
    order = name_indices(first.state_names, policy.obs_state_names)
    results: list[EpisodeResult] = []
    policy_seconds = 0.0
    bar = _progress(len(seeds), progress)
    for offset in range(0, len(seeds), len(envs)):
        group_seeds = seeds[offset : offset + len(envs)]
        policy.begin_episodes(len(group_seeds))
        group = [_Episode(env, policy, slot, seed, order) for slot, (env, seed) in enumerate(zip(envs, group_seeds))]
        replan = exec_knots * first.control_stride
        step = 0
        while not all(e.done for e in group):
            live = [e for e in group if not e.done]
            now = step * first.physics_period
            if step % replan == 0:
                tick = time.perf_counter()
                actions = policy.select_actions([now] * len(live), [e.slot for e in live])
                policy_seconds += time.perf_counter() - tick
                for episode, action in zip(live, actions):
                    episode.take(action, now)
            if frame_callback is not None and offset == 0 and not group[0].done and step % first.control_stride == 0:
                frame_callback(group[0].env.render())
            for episode in live:
                episode.physics_step(now, first.control_stride)
            step += 1
        results.extend(e.result() for e in group)
        bar.update(len(group))
    bar.close()
    return EvalSummary(results, policy_seconds, time.perf_counter() - start)


def make_eval_fn(config: HintConfig) -> Callable[[HintPolicy, int], dict[str, float]]:
    """The periodic evaluation train.py runs (config.eval): the summary metrics of evaluate_policy."""
    settings = config.eval
    if not settings.env:
        raise ValueError("eval.every_steps > 0 needs eval.env (e.g. pusht)")
    seeds = list(settings.seeds) or list(range(settings.first_seed, settings.first_seed + settings.episodes))

    def evaluate(policy: HintPolicy, step: int) -> dict[str, float]:
        policy.reset(seed=seeds[0] + step)
        summary = evaluate_policy(policy, lambda: make_env(settings.env), seeds, settings.exec_knots)
        return summary.metrics

    return evaluate


def _progress(total: int, enabled: bool):
    if enabled:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc="eval", dynamic_ncols=True)

    class _Silent:
        def update(self, n: int) -> None: ...
        def close(self) -> None: ...

    return _Silent()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="trained policy (.pt)")
    source.add_argument("--baseline", choices=BASELINES,
                        help="evaluate a baseline built from --config's demos instead (hint_policy.baselines)")
    parser.add_argument("--config", type=Path, help="training config whose demos and features the baseline uses")
    parser.add_argument("--env", help="simulator (pusht, quadrotor); default: eval.env of the checkpoint's config")
    parser.add_argument("--episodes", type=int, default=50, help="episodes to run (seeds from --first-seed), at least 1")
    parser.add_argument("--first-seed", type=int, default=100000)
    parser.add_argument("--sigma", type=float, default=None, help="observation noise; default: the training sigma")
    parser.add_argument("--sampler", choices=("ddpm", "ddim"), default="ddim")
    parser.add_argument("--sampler-steps", type=int, default=10, help="DDIM denoising steps")
    parser.add_argument("--candidates", type=int, default=DEFAULT_CANDIDATES,
                        help="chunks sampled per observation; their medoid executes (1 = as drawn)")
    parser.add_argument("--exec-knots", type=int, default=8, help="knots executed per composite action")
    parser.add_argument("--batch", type=int, default=25, help="episodes run in lockstep")
    parser.add_argument("--seed", type=int, default=0, help="seed of the policy's noise")
    parser.add_argument("--handover", choices=HANDOVERS, default="none",
                        help="hand-over rule: none (time-indexed take-over) or inpaint (real-time chunking)")
    parser.add_argument("--inpaint-frozen", type=int, default=1, help="knots held to the executing chunk (inpaint)")
    parser.add_argument("--inpaint-horizon", type=int, default=0,
                        help="knots guided toward the executing chunk at most (inpaint; 0 = its whole overlap)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (0 = torch's default); one avoids OpenMP contention "
                             "with the simulator on small machines")
    parser.add_argument("--out", type=Path, help="JSON file for the summary and per-episode results")
    parser.add_argument("--video", type=Path, help="gif/mp4 of the first episode (one frame per knot)")
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    check_at_least(args, episodes=1, batch=1, sampler_steps=1, candidates=1, exec_knots=1, threads=0)

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.baseline:
        if args.config is None:
            parser.error("--baseline needs --config")
        config = load_config(args.config)
        policy = NearestNeighbourPolicy.from_config(config)
        label = f"baseline:{args.baseline}"
    else:
        policy = HintPolicy.from_checkpoint(args.checkpoint, sigma=args.sigma, sampler=args.sampler,
                                            sampler_steps=args.sampler_steps, candidates=args.candidates,
                                            device=args.device, seed=args.seed,
                                            handover=args.handover, inpaint_frozen=args.inpaint_frozen,
                                            inpaint_horizon=args.inpaint_horizon)
        config, label = policy.config, str(args.checkpoint)
    env_name = args.env or config.eval.env
    if not env_name:
        parser.error("--env is required (the checkpoint's config has no eval.env)")
    frames: list[np.ndarray] = []
    seeds = list(range(args.first_seed, args.first_seed + args.episodes))
    summary = evaluate_policy(policy, lambda: make_env(env_name), seeds, args.exec_knots, args.batch,
                              frames.append if args.video else None, progress=True)
    metrics = summary.metrics
    print(json.dumps({"checkpoint": label, "env": env_name, "sigma": policy.sigma, **metrics}))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report: dict[str, Any] = {
            "checkpoint": label, "env": env_name, "sigma": policy.sigma,
            "sampler": getattr(policy, "sampler", None), "sampler_steps": getattr(policy, "sampler_steps", None),
            "candidates": getattr(policy, "candidates", None),
            "exec_knots": args.exec_knots,
            "metrics": metrics, "episodes": [dataclasses.asdict(e) for e in summary.episodes],
        }
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    if args.video and frames:
        import imageio.v2 as imageio

        args.video.parent.mkdir(parents=True, exist_ok=True)
        fps = max(1, round(1 / policy.knot_period))
        if args.video.suffix == ".gif":
            imageio.mimsave(args.video, frames, duration=1000 / fps, loop=0)
        else:
            imageio.mimsave(args.video, frames, fps=fps)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
