"""Empirical incremental stability of the composite actions the policies learn (paper Def. 3.1).

For each environment, the expert's demonstrations for seeds 0-4 are turned into primitive
controllers exactly as training does (the environment's training config: dynamics model, TVLQR
weights, knot stride), and composite actions of the training chunk length are cut from them,
one starting every half chunk. Each chunk is run by the chunk executor from the demo's state at
its first knot and from 8 random starts at distance `radius` around it; the contraction factor is
||x_T - x'_T|| / ||x_0 - x'_0|| at the chunk's end, the worst of the 8 directions
(:func:`hint_controller.stability.chunk_contraction`). Below 1 the chunk brings nearby states
closer. The same chunks with their gains zeroed (feed-forward only) are the reference.

Figures, per environment E in quadrotor, pusht, arm:
    stability.contraction.E.max          worst chunk, TVLQR primitive controllers
    stability.contraction.E.median       median chunk, TVLQR primitive controllers
    stability.contraction.E.open_loop_median   median chunk with K = 0
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: environment -> (training config, start-offset radius in the model's coordinates)
CASES = {
    "quadrotor": ("hint_policy/config/quadrotor.yaml", 1e-2),
    "pusht": ("hint_policy/config/pusht.yaml", 1.0),  # pixels and pixels/s
    "arm": ("hint_policy/config/arm.yaml", 1e-2),
}
DIRECTIONS = 8
SEEDS = range(5)
ROOT = Path(__file__).resolve().parent.parent


def demo_chunks(env_name: str, config_path: Path, seeds=SEEDS):
    """(model, composite actions) cut from the expert's demos, with the training config's gains,
    knot stride and chunk length; one chunk starts every half chunk."""
    from hint_controller.tvlqr import chunk_controllers
    from hint_policy.config import load_config
    from hint_policy.dataset import demo_primitives, knot_steps
    from hint_policy.experts.generate import make_episode_runner
    from hint_policy.train import load_dynamics_model, make_synthesis

    data = load_config(config_path).data
    expert = make_episode_runner(env_name)
    demos = [expert(seed) for seed in seeds]
    model = load_dynamics_model(data.dynamics, demos[0].period)
    synthesize = make_synthesis(model, data.synthesis, data.synthesis_options)
    length, chunks = data.chunk_length, []
    for demo in demos:
        primitives = demo_primitives(demo, model, synthesize)
        knots = knot_steps(demo.horizon, data.control_stride, phase=0)
        x_ref, u_ff, gains = primitives.x_ref[knots], primitives.u_ff[knots], primitives.gains[knots]
        for first in range(0, len(x_ref) - length + 1, max(1, length // 2)):
            window = slice(first, first + length)
            chunks += chunk_controllers(
                model, x_ref[window], u_ff[window], gains[window], data.control_stride * model.period, length
            )
    return model, chunks


def contraction_factors(model, chunks, radius: float, open_loop: bool = False) -> np.ndarray:
    """Worst-direction contraction factor of each chunk, from its first reference state."""
    import dataclasses

    from hint_controller.stability import chunk_contraction

    factors = []
    for chunk in chunks:
        if open_loop:
            chunk = dataclasses.replace(chunk, gains=np.zeros_like(chunk.gains))
        factors.append(chunk_contraction(model, chunk, chunk.x_ref[0], radius=radius, n_pairs=DIRECTIONS))
    return np.asarray(factors)


def run(report) -> None:
    for env_name, (config, radius) in CASES.items():
        model, chunks = demo_chunks(env_name, ROOT / config)
        closed = contraction_factors(model, chunks, radius)
        open_loop = contraction_factors(model, chunks, radius, open_loop=True)
        duration = chunks[0].length * chunks[0].period
        what = (
            f"{env_name} expert demos seeds {SEEDS.start}-{SEEDS.stop - 1}, {len(chunks)} chunks of {chunks[0].length} knots ({duration:.1f} s), "
            f"worst of {DIRECTIONS} start offsets of norm {radius:g} per chunk"
        )
        report(f"stability.contraction.{env_name}.max", closed.max(), "ratio", f"worst chunk, TVLQR gains; {what}")
        report(f"stability.contraction.{env_name}.median", np.median(closed), "ratio", f"median chunk, TVLQR gains; {what}")
        report(f"stability.contraction.{env_name}.open_loop_median", np.median(open_loop), "ratio", f"median chunk, gains zeroed; {what}")
