"""Do the primitive controllers of a demo keep it on track? Replay from perturbed starts, with and without gains.

    python -m experiments.replay_diagnosis --env quadrotor --demos 10 --perturbation 0 0.02 0.05 0.1 0.2
    python -m experiments.replay_diagnosis --env quadrotor_stabilize --demos 10

No learning is involved: an expert demo is cut into the composite actions a perfect policy would
output (TVLQR primitive controllers at the training config's knot stride, 16-knot chunks as the
obstacle config, :func:`hint_controller.tvlqr.chunk_controllers`) and run through the chunk
executor from the demo's start state plus a perturbation: Gaussian noise of standard deviation
``delta`` on every state coordinate (m, rad, m/s, rad/s). Each (demo, delta, trial) is replayed
twice with the same perturbation:

* ``gains``: u = u_bar + K (x - x_bar), as HINT executes a primitive-controller chunk;
* ``no gains``: u = u_bar (K = 0), the feed-forward policy's execution.

If even this perfect replay collides without gains and not with them, the Figure 5 gap is about
gains; if both collide from small perturbations, the task punishes any deviation more than the
gains can correct (the diagnosis the obstacle task needed). Printed per delta: success and
collision rates and the mean final distance to the demo's final state, for both executions.
Results go to ``results/experiments/replay_diagnosis_<env>.csv``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from hint_controller.executor import ChunkExecutor
from hint_controller.tvlqr import TVLQRConfig, chunk_controllers, primitive_controllers
from hint_policy.config import load_config
from hint_policy.envs import make_env
from hint_policy.experts.generate import make_episode_runner

#: the training config whose knot stride, chunk length and TVLQR weights the replay uses
CONFIGS = {"quadrotor": "hint_policy/config/quadrotor.yaml",
           "quadrotor_stabilize": "hint_policy/config/quadrotor_stabilize.yaml"}


def demo_chunks(env, demo, config, with_gains: bool, stride: int) -> list:
    """The demo's composite actions (knots every `stride` physics steps; K = 0 without gains)."""
    data = config.data
    x_ref, u_ff, gains = primitive_controllers(env.model, env.controlled_state(demo.states.T).T, demo.inputs,
                                               TVLQRConfig.from_options(data.synthesis_options), stride=stride)
    if not with_gains:
        gains = np.zeros_like(gains)
    return chunk_controllers(env.model, x_ref, u_ff, gains, stride * env.physics_period, data.chunk_length,
                             final_state=env.controlled_state(demo.states[len(x_ref) * stride]))


def replay(env, demo, chunks: list, start: np.ndarray) -> dict[str, float]:
    """Run the demo's `chunks` from `start` through a ChunkExecutor until the episode ends (past
    the last chunk the executor's safe mode holds)."""
    executor = ChunkExecutor(env.model, state_names=env.state_names, max_pending=len(chunks))
    for chunk in chunks:
        executor.submit(chunk)
    state = env.reset_to(start)
    success = collision = False
    for step in range(env.max_steps):
        u, _ = executor.command(step * env.physics_period, state)
        state, info = env.step(u)
        success |= info.success
        collision |= info.collision
        if info.done:
            break
    final = env.controlled_state(demo.states[-1])
    return {"success": float(success), "collision": float(collision),
            "final_distance": float(np.linalg.norm(env.controlled_state(state)[:2] - final[:2])),
            **{k: v for k, v in env.episode_metrics().items() if k == "total_reward"}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", choices=tuple(CONFIGS), default="quadrotor")
    parser.add_argument("--demos", type=int, default=10, help="expert demos (seeds 0 ..) to replay")
    parser.add_argument("--perturbation", type=float, nargs="+", default=[0.0, 0.02, 0.05, 0.1, 0.2])
    parser.add_argument("--trials", type=int, default=10, help="perturbed starts per demo and delta")
    parser.add_argument("--stride", type=int, default=None,
                        help="physics steps per knot (default: the training config's data.control_stride)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    config = load_config(CONFIGS[args.env])
    stride = args.stride or config.data.control_stride
    env = make_env(args.env)
    run_expert = make_episode_runner(args.env)
    demos = [d for d in (run_expert(seed) for seed in range(args.demos * 2)) if d.success][: args.demos]
    rng = np.random.default_rng(0)
    demos_chunks = [{g: demo_chunks(env, d, config, g, stride) for g in (True, False)} for d in demos]
    rows = []
    print(f"{args.env}: {len(demos)} expert demos, knots every {stride} physics steps, "
          f"{args.trials} perturbed starts each per delta")
    print(f"{'delta':>6}  {'execution':9}  {'success':>7}  {'collision':>9}  {'final dist':>10}")
    for delta in args.perturbation:
        outcomes = {True: [], False: []}
        for demo, chunks in zip(demos, demos_chunks):
            for _ in range(args.trials if delta > 0 else 1):
                start = demo.states[0] + delta * rng.standard_normal(demo.states.shape[1])
                for with_gains in (True, False):
                    outcomes[with_gains].append(replay(env, demo, chunks[with_gains], start))
        for with_gains in (True, False):
            runs = outcomes[with_gains]
            row = {"env": args.env, "stride": stride, "delta": delta, "execution": "gains" if with_gains else "no gains",
                   "replays": len(runs), **{k: float(np.mean([r[k] for r in runs])) for k in runs[0]}}
            rows.append(row)
            print(f"{delta:6.3f}  {row['execution']:9}  {row['success']:7.2f}  {row['collision']:9.2f}  "
                  f"{row['final_distance']:10.3f}" + (f"  reward {row['total_reward']:.1f}" if "total_reward" in row else ""))
    out = args.out or Path(f"results/experiments/replay_diagnosis/{args.env}_stride{stride}.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
        writer.writeheader()
        writer.writerows(rows)
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
