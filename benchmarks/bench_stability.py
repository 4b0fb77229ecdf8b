"""Exact incremental-stability certificates and demo replay of the composite actions policies learn.

For each environment, the expert's demonstrations for seeds 0-4 are turned into primitive
controllers exactly as training does (the environment's training config: dynamics model, TVLQR
weights, knot stride), and composite actions of the training chunk length are cut from them, one
starting every half chunk, each carrying the next knot's reference as its ``x_ref_end``. Each
chunk's certificate (:func:`hint_controller.stability.certify`, from its own x_ref[0]) is the
closed loop's linearization along the executed chunk: ``contraction`` = ||Phi_tau||_2 (worst
direction), ``input_gain`` = gamma in the max norm. The same chunks with their gains zeroed are
the open-loop reference.

Figures, per environment E in quadrotor, pusht, arm (three-link, effort), panda (position servo), can
and square (the Panda and its finger behind the position servo, robosuite/MuJoCo):
    stability.contraction.E.max / .median        ||Phi_tau||_2 over the chunks, TVLQR gains
    stability.contracting_fraction.E             fraction of chunks with ||Phi_tau||_2 < 1
    stability.transient_gain.E.median            max_i ||Phi_i||_2, median chunk
    stability.input_gain.E.median                gamma, median chunk
    stability.contraction.E.open_loop_median     ||Phi_tau||_2 with K = 0, median chunk

The shipped quadrotor policy's own chunks (:func:`policy_rollouts`): every composite action it
returns along its closed-loop episodes on held-out seeds 100000-100009 at the launch setting
(hint_bringup/config/quadrotor_sim.yaml: DDIM-10, 2 executed knots, policy noise seed 0), each
certified the same way on its training config's dynamics model:
    stability.contracting_fraction.quadrotor_policy    fraction with ||Phi_tau||_2 < 1
    stability.contraction.quadrotor_policy.median      median ||Phi_tau||_2

    python -m benchmarks.bench_stability --checkpoint CKPT [--episodes 50 --seed 0]
runs the same for any quadrotor checkpoint and also prints its success rate and the fraction of
episodes passing above ("left" of) the obstacle, all and successful ones
(:func:`hint_policy.envs.quadrotor.passes_left`, as bench_sim counts the expert's).

Demo replay (the executor's exactness): every demo of seeds 0-4 is replayed from its start by
chunks run to their ends back to back, and the figure is the max over the replay of
|x - x_demo| / (the demo's range of that coordinate):
    executor.replay_error.full_chunk             quadrotor, 16-knot chunks at stride 5 carrying
                                                 one primitive per model step (exact chunks)
    executor.replay_error.full_chunk_pusht       the same for the PushT agent at stride 10
    executor.replay_error.knot_rate(.pusht)      the policy's layout: 16 knots at the stride,
                                                 u_ff and K held per knot, x_ref_end = next knot
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
from pathlib import Path

import numpy as np

#: environment -> training config
CASES = {
    "quadrotor": "hint_policy/config/quadrotor.yaml",
    "pusht": "hint_policy/config/pusht.yaml",
    "arm": "hint_policy/config/arm.yaml",
    "panda": "hint_policy/config/panda.yaml",
    "can": "hint_policy/config/can.yaml",
    "square": "hint_policy/config/square.yaml",
}
SEEDS = range(5)
ROOT = Path(__file__).resolve().parent.parent
#: the shipped policy whose own chunks are certified, and its held-out episodes
POLICY_CHECKPOINT = ROOT / "hint_bringup" / "checkpoints" / "quadrotor.pt"
POLICY_SEEDS = range(100_000, 100_010)


def launch_policy_settings() -> dict:
    """The policy parameters the quadrotor_sim launch file starts with (sigma, sampler, sampler_steps, exec_knots)."""
    from hint_bringup.graphs import graph

    return graph("quadrotor_sim").launched_parameters("policy")


@functools.cache
def demo_primitives_of(env_name: str, seeds: tuple[int, ...] = tuple(SEEDS)):
    """(model, data config, [(demo model states (T+1, n), per-step Primitives)]) of the expert's demos."""
    from hint_policy.config import load_config
    from hint_policy.training_data.synthesis import demo_primitives, model_and_synthesis
    from hint_policy.experts.generate import make_episode_runner

    data = load_config(ROOT / CASES[env_name]).data
    expert = make_episode_runner(env_name)
    demos = [expert(seed) for seed in seeds]
    model, synthesize = model_and_synthesis(data, demos[0].period)
    return model, data, [(d.select_states(model.state_names), demo_primitives(d, model, synthesize)) for d in demos]


def demo_chunks(env_name: str):
    """(model, composite actions) of the training layout, one starting every half chunk."""
    from hint_controller.tvlqr import chunk_controllers
    from hint_policy.training_data.chunks import knot_steps

    model, data, demos = demo_primitives_of(env_name)
    length, stride, chunks = data.chunk_length, data.control_stride, []
    for states, primitives in demos:
        knots = knot_steps(len(primitives.u_ff), stride, phase=0)
        x_ref, u_ff, gains = primitives.x_ref[knots], primitives.u_ff[knots], primitives.gains[knots]
        for first in range(0, len(knots) - length, max(1, length // 2)):
            window = slice(first, first + length)
            chunks += chunk_controllers(model, x_ref[window], u_ff[window], gains[window], stride * model.period,
                                        length, start_time=first * stride * model.period,
                                        final_state=x_ref[first + length])
    return model, chunks


def replay_error(env_name: str, exact: bool) -> float:
    """Worst relative state error of full-chunk replays of the demos from their starts."""
    from hint_controller.stability import closed_loop
    from hint_controller.tvlqr import chunk_controllers

    model, data, demos = demo_primitives_of(env_name)
    worst = 0.0
    for states, p in demos:
        stride = data.control_stride
        if exact:
            chunks = chunk_controllers(model, p.x_ref, p.u_ff, p.gains, model.period, data.chunk_length * stride,
                                       final_state=states[-1])
        else:
            steps = (len(p.u_ff) // stride) * stride
            knots = np.arange(0, steps, stride)
            chunks = chunk_controllers(model, p.x_ref[knots], p.u_ff[knots], p.gains[knots], stride * model.period,
                                       data.chunk_length, final_state=states[steps])
        run = closed_loop(model, chunks, states[0])
        span = np.ptp(states, axis=0)
        error = np.abs(run.states - states[: len(run.states)]) / np.where(span > 0, span, 1.0)
        worst = max(worst, float(error.max()))
    return worst


def certificates(model, chunks, open_loop: bool = False) -> np.ndarray:
    """(contraction, transient_gain, input_gain) of each chunk, shape (N, 3)."""
    from hint_controller.stability import certify

    rows = []
    for chunk in chunks:
        if open_loop:
            chunk = dataclasses.replace(chunk, gains=np.zeros_like(chunk.gains))
        rows.append(dataclasses.astuple(certify(model, chunk)))
    return np.asarray(rows)


def policy_rollouts(checkpoint: Path, seeds, exec_knots: int | None = None, seed: int = 0):
    """(evaluation summary, training dynamics model, every composite action the policy returned) of
    the quadrotor policy's closed-loop episodes on `seeds` (hint_policy.evaluate) with the launch
    file's sampler and, unless given, its executed knots; each episode's task metrics also hold
    ``passes_left``."""
    import torch

    from hint_policy.training_data.synthesis import data_model
    from hint_policy.envs import make_env
    from hint_policy.envs.quadrotor import passes_left
    from hint_policy.evaluate import evaluate_policy
    from hint_policy.inference import HintPolicy, policy_settings

    torch.set_num_threads(1)
    settings = launch_policy_settings()
    policy = HintPolicy.from_checkpoint(checkpoint, **policy_settings(settings), seed=seed)
    chunks = []
    select = policy.select_actions

    def recording(*args, **kwargs):
        actions = select(*args, **kwargs)
        chunks.extend(actions)
        return actions

    policy.select_actions = recording

    def env_factory():
        env = make_env("quadrotor")
        metrics = env.episode_metrics
        env.episode_metrics = lambda: metrics() | {"passes_left": float(passes_left(np.array(env.trace)))}
        return env

    summary = evaluate_policy(policy, env_factory, list(seeds), exec_knots or settings["exec_knots"])
    return summary, data_model(policy.config.data, policy.layout.physics_period), chunks


def run(report) -> None:
    for env_name in CASES:
        model, chunks = demo_chunks(env_name)
        closed = certificates(model, chunks)
        open_loop = certificates(model, chunks, open_loop=True)
        duration = chunks[0].length * chunks[0].period
        what = (f"{env_name} expert demos seeds {SEEDS.start}-{SEEDS.stop - 1}, {len(chunks)} chunks of "
                f"{chunks[0].length} knots ({duration:.2f} s), linearized closed loop from each chunk's x_ref[0]")
        contraction = closed[:, 0]
        report(f"stability.contraction.{env_name}.max", contraction.max(), "ratio", f"worst chunk ||Phi_tau||_2; {what}")
        report(f"stability.contraction.{env_name}.median", np.median(contraction), "ratio", f"median ||Phi_tau||_2; {what}")
        report(f"stability.contracting_fraction.{env_name}", float(np.mean(contraction < 1.0)), "fraction",
               f"chunks with ||Phi_tau||_2 < 1; {what}")
        report(f"stability.transient_gain.{env_name}.median", np.median(closed[:, 1]), "ratio",
               f"median max_i ||Phi_i||_2; {what}")
        report(f"stability.input_gain.{env_name}.median", np.median(closed[:, 2]), "state/input",
               f"median gamma, max-norm state deviation per unit max-norm input disturbance; {what}")
        report(f"stability.contraction.{env_name}.open_loop_median", np.median(open_loop[:, 0]), "ratio",
               f"median ||Phi_tau||_2 with the gains zeroed; {what}")
    for env_name, suffix in (("quadrotor", ""), ("pusht", "_pusht")):
        what = f"{env_name} expert demos seeds {SEEDS.start}-{SEEDS.stop - 1} replayed from their starts, chunks run to their ends"
        report(f"executor.replay_error.full_chunk{suffix}", replay_error(env_name, exact=True), "ratio",
               f"max |x - x_demo| / demo range; 16-knot chunks carrying one primitive per model step; {what}")
        report(f"executor.replay_error.knot_rate{suffix}", replay_error(env_name, exact=False), "ratio",
               f"max |x - x_demo| / demo range; 16 knots at the training stride, u_ff and K held per knot; {what}")
    _, model, chunks = policy_rollouts(POLICY_CHECKPOINT, POLICY_SEEDS)
    contraction = certificates(model, chunks)[:, 0]
    settings = launch_policy_settings()
    what = (f"{len(chunks)} chunks the shipped checkpoints/quadrotor.pt returned along its episodes on seeds "
            f"{POLICY_SEEDS.start}-{POLICY_SEEDS.stop - 1} ({settings['sampler']}-{settings['sampler_steps']}, "
            f"{settings['exec_knots']} executed knots, policy noise seed 0), linearized closed loop of the training "
            f"dynamics model from each chunk's x_ref[0]")
    report("stability.contracting_fraction.quadrotor_policy", float(np.mean(contraction < 1.0)), "fraction",
           f"chunks with ||Phi_tau||_2 < 1; {what}")
    report("stability.contraction.quadrotor_policy.median", np.median(contraction), "ratio",
           f"median ||Phi_tau||_2; {what}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A quadrotor policy's closed-loop episodes and own-chunk certificates")
    parser.add_argument("--checkpoint", type=Path, default=POLICY_CHECKPOINT)
    parser.add_argument("--episodes", type=int, default=len(POLICY_SEEDS))
    parser.add_argument("--first-seed", type=int, default=POLICY_SEEDS.start)
    parser.add_argument("--exec-knots", type=int, default=None, help="executed knots per chunk; default: the launch file's")
    parser.add_argument("--seed", type=int, default=0, help="seed of the policy's noise")
    args = parser.parse_args(argv)
    seeds = range(args.first_seed, args.first_seed + args.episodes)
    summary, model, chunks = policy_rollouts(args.checkpoint, seeds, args.exec_knots, args.seed)
    contraction = certificates(model, chunks)[:, 0]
    episodes = summary.episodes
    successful = [e for e in episodes if e.success]
    print(json.dumps({
        "checkpoint": str(args.checkpoint), "episodes": len(episodes),
        "exec_knots": args.exec_knots or launch_policy_settings()["exec_knots"], "seed": args.seed,
        "success_rate": summary.metrics["success_rate"],
        "left_fraction": float(np.mean([e.task_metrics["passes_left"] for e in episodes])),
        "left_fraction_successful": (float(np.mean([e.task_metrics["passes_left"] for e in successful]))
                                     if successful else float("nan")),
        "chunks": len(chunks), "contracting_fraction": float(np.mean(contraction < 1.0)),
        "contraction_median": float(np.median(contraction)), "contraction_max": float(contraction.max()),
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
