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

import dataclasses
import functools
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


@functools.cache
def demo_primitives_of(env_name: str, seeds: tuple[int, ...] = tuple(SEEDS)):
    """(model, data config, [(demo model states (T+1, n), per-step Primitives)]) of the expert's demos."""
    from hint_policy.config import load_config
    from hint_policy.dataset import demo_primitives, model_and_synthesis
    from hint_policy.experts.generate import make_episode_runner

    data = load_config(ROOT / CASES[env_name]).data
    expert = make_episode_runner(env_name)
    demos = [expert(seed) for seed in seeds]
    model, synthesize = model_and_synthesis(data, demos[0].period)
    return model, data, [(d.select_states(model.state_names), demo_primitives(d, model, synthesize)) for d in demos]


def demo_chunks(env_name: str):
    """(model, composite actions) of the training layout, one starting every half chunk."""
    from hint_controller.tvlqr import chunk_controllers
    from hint_policy.dataset import knot_steps

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
