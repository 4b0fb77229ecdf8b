"""Simulator step cost and expert demonstrator quality and throughput.

Figures:
    sim.pusht.step_us              one 0.01 s PushT physics step (replaying an expert demo, contacts
                                   and coverage included)
    sim.quadrotor.step_us          one 0.01 s planar-quadrotor step (replaying an expert demo)
    expert.pusht.score             mean max reward over seeds 0-49 (Chi et al.'s PushT score)
    expert.pusht.success_rate      coverage > 0.95 reached, seeds 0-49
    expert.pusht.demos_per_min     successful demos per wall-clock minute, 2 worker processes
    expert.quadrotor.success_rate  goal reached without collision, starts 0-49
    expert.quadrotor.left_fraction successful demos passing above ("left of") the obstacle
    expert.quadrotor.demos_per_min successful demos per wall-clock minute, 2 worker processes
    sim.can.step_us, sim.square.step_us
                                   one 0.01 s robosuite step of Can / Square (5 MuJoCo substeps and the
                                   joint-position controller, replaying an expert demo)
    expert.can.success_rate, expert.square.success_rate
                                   robosuite's _check_success reached within 20 s, seeds 0-49
    expert.can.demos_per_min, expert.square.demos_per_min
                                   successful demos per wall-clock minute, 2 worker processes
"""

from __future__ import annotations

import time

import numpy as np

from hint_policy.envs import make_env
from hint_policy.experts.generate import collect, make_episode_runner

SEEDS = 50
WORKERS = 2


def _step_us(env_name: str, seed: int) -> float:
    demo = make_episode_runner(env_name)(seed)
    env = make_env(env_name)
    env.reset(seed)
    start = time.perf_counter()
    for u in demo.inputs:
        env.step(u)
    return (time.perf_counter() - start) / demo.horizon * 1e6


def _expert_runs(env_name: str) -> tuple[list, float]:
    """(the expert's demos of seeds 0 .. SEEDS - 1, failures kept; wall seconds they took with WORKERS processes)."""
    start = time.perf_counter()
    _, tried = collect(env_name, SEEDS, 0, WORKERS, keep_failures=True, progress=False)
    return tried, time.perf_counter() - start


def run(report) -> None:
    report("sim.pusht.step_us", _step_us("pusht", 0), "us", "PushTEnv.step, replay of the expert's seed-0 demo")
    report("sim.quadrotor.step_us", _step_us("quadrotor", 0), "us", "PlanarQuadrotorObstacleEnv.step, expert demo replay")

    tried, elapsed = _expert_runs("pusht")
    successes = sum(d.success for d in tried)
    report("expert.pusht.score", np.mean([d.extra["score"] for d in tried]), "", f"mean max reward, seeds 0-{SEEDS - 1}")
    report("expert.pusht.success_rate", successes / len(tried), "", f"coverage > 0.95, seeds 0-{SEEDS - 1}")
    report("expert.pusht.demos_per_min", successes / elapsed * 60, "1/min", f"{WORKERS} worker processes, incl. start-up")

    tried, elapsed = _expert_runs("quadrotor")
    successful = [d for d in tried if d.success]
    report("expert.quadrotor.success_rate", len(successful) / len(tried), "", f"dircol + TVLQR, starts 0-{SEEDS - 1}")
    report(
        "expert.quadrotor.left_fraction",
        np.mean([d.extra["passes_left"] for d in successful]) if successful else float("nan"),
        "",
        "successful demos passing above the obstacle (target 0.5)",
    )
    report("expert.quadrotor.demos_per_min", len(successful) / elapsed * 60, "1/min", f"{WORKERS} worker processes, incl. start-up")
    for task in ("can", "square"):
        report(f"sim.{task}.step_us", _step_us(task, 0), "us", f"robosuite {task} step at 100 Hz, expert demo replay")
        tried, elapsed = _expert_runs(task)
        successes = sum(d.success for d in tried)
        report(f"expert.{task}.success_rate", successes / len(tried), "", f"robosuite's success check, seeds 0-{SEEDS - 1}")
        report(f"expert.{task}.demos_per_min", successes / elapsed * 60, "1/min",
               f"{WORKERS} worker processes, incl. start-up")
