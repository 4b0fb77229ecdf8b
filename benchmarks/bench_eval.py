"""Closed-loop scores of the shipped policies on held-out seeds (eval.pusht.*, eval.quadrotor.*).

The checkpoints in hint_bringup/checkpoints run in the ROS-free simulators through the real
chunk executor (hint_policy.evaluate), 50 episodes each from seed 100000 (demos use seeds below
that), with the training sigma and the policy settings of the sim launch files
(hint_bringup/config/<env>_sim.yaml: sampler, sampling steps, executed knots per chunk).
"""

from __future__ import annotations

from pathlib import Path

import torch

CHECKPOINTS = Path(__file__).resolve().parents[1] / "hint_bringup" / "checkpoints"
EPISODES = 50
FIRST_SEED = 100_000


def _launch_settings(name: str) -> dict:
    from hint_bringup.graphs import graph

    return graph(f"{name}_sim").parameters()["policy"]


def _evaluate(name: str, settings: dict):
    from hint_policy.envs import make_env
    from hint_policy.evaluate import evaluate_policy
    from hint_policy.inference import HintPolicy

    policy = HintPolicy.from_checkpoint(
        CHECKPOINTS / f"{name}.pt", sampler=settings["sampler"], steps=settings["sampling_steps"], seed=0
    )
    seeds = list(range(FIRST_SEED, FIRST_SEED + EPISODES))
    return evaluate_policy(policy, lambda: make_env(name), seeds, exec_knots=settings["execute_knots"]).metrics


def run(report) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name in ("pusht", "quadrotor"):
            if not (CHECKPOINTS / f"{name}.pt").is_file():
                raise FileNotFoundError(f"no shipped checkpoint {CHECKPOINTS / name}.pt")
            settings = _launch_settings(name)
            metrics = _evaluate(name, settings)
            note = (f"shipped checkpoints/{name}.pt, {EPISODES} held-out seeds from {FIRST_SEED}, "
                    f"{settings['sampler']}-{settings['sampling_steps']}, {settings['execute_knots']} knots per chunk")
            report(f"eval.{name}.score", metrics["mean_score"], "score", "mean episode score; " + note)
            report(f"eval.{name}.success_rate", metrics["success_rate"], "ratio", "success rate; " + note)
    finally:
        torch.set_num_threads(threads)
