"""Generate expert demonstrations in parallel and write them with :func:`save_demos`.

    python -m hint_policy.experts.generate --env pusht --num-demos 100 \
        --out data/pusht_demos.npz --seed-start 0 --workers 2

Environments (``--env``): pusht (push planner; pusht_near_goal: from starts near the goal), quadrotor (trajectory optimization + TVLQR),
quadrotor_stabilize (iLQR model-predictive control), arm (IK + minimum-jerk motion + inverse
dynamics + TVLQR), panda (Drake IK + minimum-jerk motion through the position servo + TVLQR).

Seeds seed_start, seed_start + 1, ... are solved by a pool of worker processes (one env and one
expert per process) until ``--num-demos`` demos are collected (successful ones only unless
``--keep-failures``) or ``--max-attempts`` seeds were tried. ``--frame PNG`` also renders the
middle of the first demo (replayed in a fresh env from its recorded inputs).
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hint_policy.cli import add_debug_flag, run_main
from hint_policy.demos import Demo, save_demos
from hint_policy.envs import ENV_NAMES, make_env

_episode: Callable[[int], Demo] | None = None  # per worker process


def make_episode_runner(env_name: str) -> Callable[[int], Demo]:
    """A function seed -> expert Demo, owning its env and expert."""
    env = make_env(env_name)
    if env_name in ("pusht", "pusht_near_goal"):
        from hint_policy.experts.pusht_expert import PushTExpert

        expert = PushTExpert()
        return lambda seed: expert.run_episode(env, seed)
    if env_name == "arm":
        from hint_policy.experts.arm_expert import ArmExpert

        return ArmExpert(env).run_episode
    if env_name == "panda":
        from hint_policy.experts.arm_expert import PandaExpert

        return PandaExpert(env).run_episode
    if env_name in ("can", "square"):
        from hint_policy.experts.manipulation_expert import CanExpert, SquareExpert

        return (CanExpert if env_name == "can" else SquareExpert)(env).run_episode
    if env_name == "quadrotor_stabilize":
        from hint_policy.experts.stabilize_expert import StabilizeExpert

        return StabilizeExpert(env).run_episode
    from hint_policy.experts.quadrotor_expert import QuadrotorExpert

    quadrotor_expert = QuadrotorExpert(env)
    return quadrotor_expert.run_episode


def _init_worker(env_name: str) -> None:
    global _episode
    _episode = make_episode_runner(env_name)


def _run_seed(seed: int) -> tuple[Demo, float]:
    start = time.perf_counter()
    demo = _episode(seed)
    return demo, time.perf_counter() - start


def expert_demos(
    env_name: str, seeds: Sequence[int], workers: int = 1
) -> Iterator[tuple[Demo, float]]:
    """(demo, seconds) for each seed, in seed order; `workers` > 1 uses a process pool.

    The pool's workers are spawned, not forked: a forked worker would inherit the caller's
    signal handlers (rclpy's SIGTERM handler keeps it alive through ``Pool.terminate``, which
    then waits forever) and locks held by its BLAS or torch threads.
    """
    if workers <= 1:
        _init_worker(env_name)
        for seed in seeds:
            yield _run_seed(seed)
        return
    with multiprocessing.get_context("spawn").Pool(workers, initializer=_init_worker, initargs=(env_name,)) as pool:
        yield from pool.imap(_run_seed, seeds, chunksize=1)


def collect(
    env_name: str,
    num_demos: int,
    seed_start: int = 0,
    workers: int = 1,
    keep_failures: bool = False,
    max_attempts: int | None = None,
    progress: bool = True,
) -> tuple[list[Demo], list[Demo]]:
    """Run the expert on consecutive seeds; return (kept demos, all demos tried)."""
    max_attempts = max_attempts or 3 * num_demos
    kept: list[Demo] = []
    tried: list[Demo] = []
    seeds = range(seed_start, seed_start + max_attempts)
    bar = tqdm(total=num_demos, desc=f"{env_name} demos", unit="demo", disable=not progress)
    runs = expert_demos(env_name, seeds, workers)
    try:
        for demo, _ in runs:
            tried.append(demo)
            if demo.success or keep_failures:
                kept.append(demo)
                bar.update(1)
            bar.set_postfix(success=f"{np.mean([d.success for d in tried]):.2f}")
            if len(kept) >= num_demos:
                break
    finally:
        runs.close()
        bar.close()
    return kept, tried


def ensure_demo_file(path: str | os.PathLike, env_name: str, num_demos: int, seed_start: int = 0,
                     workers: int = 1, progress: bool = True) -> Path:
    """`path`, first filled with `num_demos` successful expert demos when it does not exist."""
    path = Path(path)
    if path.is_file():
        return path
    print(f"{path} is missing: generating {num_demos} {env_name} expert demos", flush=True)
    kept, _ = collect(env_name, num_demos, seed_start, workers, progress=progress)
    if len(kept) < num_demos:
        raise RuntimeError(f"the {env_name} expert gave only {len(kept)} of {num_demos} demos")
    save_demos(path, kept)
    return path


def summary(env_name: str, tried: Sequence[Demo]) -> dict[str, float]:
    """Success statistics of the expert over the tried seeds."""
    stats = {
        "attempts": float(len(tried)),
        "success_rate": float(np.mean([d.success for d in tried])) if tried else float("nan"),
        "mean_length_s": float(np.mean([d.horizon * d.period for d in tried])) if tried else float("nan"),
    }
    if env_name in ("pusht", "pusht_near_goal"):
        stats["mean_score"] = float(np.mean([d.extra["score"] for d in tried]))
        for strategy, count in collections.Counter(d.extra["strategy"] for d in tried).items():
            stats[f"strategy_{strategy}"] = float(count)
    elif env_name == "panda":
        stats["mean_final_distance_m"] = float(np.mean([d.extra["final_distance"] for d in tried]))
        stats["mean_duration_s"] = float(np.mean([d.extra["duration"] for d in tried]))
    elif env_name in ("can", "square"):
        stats["mean_duration_s"] = float(np.mean([d.extra["duration"] for d in tried]))
        stats["max_duration_s"] = float(np.max([d.extra["duration"] for d in tried]))
        for strategy, count in collections.Counter(d.extra["strategy"] for d in tried).items():
            stats[f"strategy_{strategy}"] = float(count)
    elif env_name == "arm":
        successful = [d for d in tried if d.success] or list(tried)
        stats["elbow_positive_fraction"] = float(np.mean([d.extra["elbow"] == "positive" for d in successful]))
        stats["mean_final_distance_m"] = float(np.mean([d.extra["final_distance"] for d in tried]))
    elif env_name == "quadrotor_stabilize":
        stats["mean_total_reward"] = float(np.mean([d.extra["total_reward"] for d in tried]))
        stats["max_final_distance"] = float(np.max([d.extra["final_distance"] for d in tried]))
    else:
        successful = [d for d in tried if d.success] or list(tried)
        stats["left_fraction"] = float(np.mean([d.extra["passes_left"] for d in successful]))
    return stats


def render_demo_frame(demo: Demo, path: str | os.PathLike, fraction: float = 0.5) -> Path:
    """Replay `demo`'s inputs in a fresh env up to `fraction` of its length and save a PNG."""
    import imageio.v3 as iio

    env = make_env(demo.env)
    env.reset(demo.seed)
    for u in demo.inputs[: int(fraction * demo.horizon)]:
        env.step(u)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, env.render())
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", choices=ENV_NAMES, required=True)
    parser.add_argument("--num-demos", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="output .npz")
    parser.add_argument("--seed-start", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep-failures", action="store_true", help="also keep unsuccessful demos")
    parser.add_argument("--max-attempts", type=int, default=None, help="seeds to try at most (default 3 N)")
    parser.add_argument("--frame", type=Path, default=None, help="also save a PNG of the first demo's middle")
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    if args.num_demos < 1:
        parser.error("--num-demos must be at least 1")
    args.out.parent.mkdir(parents=True, exist_ok=True)  # an unusable --out fails now, not after the demos

    start = time.perf_counter()
    kept, tried = collect(
        args.env, args.num_demos, args.seed_start, args.workers, args.keep_failures, args.max_attempts
    )
    elapsed = time.perf_counter() - start
    if kept:
        save_demos(args.out, kept)
    stats = summary(args.env, tried)
    print(f"{args.env}: kept {len(kept)} demos of {len(tried)} seeds in {elapsed:.1f} s -> {args.out}")
    for name, value in stats.items():
        print(f"  {name}: {value:.4g}")
    if args.frame is not None and kept:
        print(f"  frame: {render_demo_frame(kept[0], args.frame)}")
    if len(kept) < args.num_demos:
        print(f"only {len(kept)} of {args.num_demos} demos collected", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
