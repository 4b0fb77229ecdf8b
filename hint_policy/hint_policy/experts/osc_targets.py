"""Demos of the pose-target tasks (``can_osc``, ``square_osc``: hint_policy.envs.robosuite_osc)
derived from the joint-position experts' demos, and their open-loop replay.

    python -m hint_policy.experts.osc_targets --demos data/can_demos.npz --lead 3 \
        --out data/can_osc_demos.npz --replay 20

The states are the recorded ones. The input at physics step t is the recorded end-effector pose
``lead`` steps ahead (the last recorded pose past the end) as an absolute pose target, and the
recorded finger command of step t. A pose target is a set point of a spring-damper in task space,
so the arm trails it while it moves: a target a few steps ahead of the pose the arm is meant to be
at offsets that lag. ``--replay N`` runs the first N derived demos open-loop from their seeds in
the pose-target env (the last target held after the demo's end, up to the episode limit) and
prints the success rate.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hint_policy.cli import add_debug_flag, run_main
from hint_policy.demos import Demo, load_demos, save_demos
from hint_policy.envs.robosuite_tasks import EEF_STATE_NAMES, FINGER_JOINT

#: physics steps (0.01 s each) between the recorded pose and the step whose target it becomes
DEFAULT_LEAD = 3


def osc_demo(demo: Demo, lead: int = DEFAULT_LEAD) -> Demo:
    """The pose-target demo of a joint-position demo of Can or Square (module docstring)."""
    from hint_policy.envs.robosuite_osc import TARGET_INPUT_NAMES, pose_target

    if lead < 0:
        raise ValueError(f"lead must be >= 0, got {lead}")
    pose = demo.select_states(EEF_STATE_NAMES)
    ahead = np.minimum(np.arange(demo.horizon) + lead, demo.horizon)
    finger = demo.inputs[:, demo.input_names.index(f"{FINGER_JOINT}/position")]
    inputs = pose_target(pose[ahead, :3], pose[ahead, 3:], finger)
    return Demo(states=demo.states.copy(), inputs=inputs, period=demo.period, state_names=demo.state_names,
                input_names=TARGET_INPUT_NAMES, env=f"{demo.env}_osc", seed=demo.seed, success=demo.success,
                source=demo.source, extra={**demo.extra, "osc_lead": int(lead)})


def replay(env, demo: Demo) -> tuple[bool, int]:
    """Run `demo`'s inputs open-loop from its seed in `env` (its last input held after its end,
    up to the episode limit); (success, physics steps run)."""
    env.reset(demo.seed)
    for step in range(env.max_steps):
        _, info = env.step(demo.inputs[min(step, demo.horizon - 1)])
        if info.success:
            return True, step + 1
    return False, env.max_steps


def replay_success(env, demos: Sequence[Demo]) -> dict:
    """Open-loop replay of `demos`: success rate, and per demo seed, success, steps and the demo's
    own length."""
    runs = []
    for demo in demos:
        success, steps = replay(env, demo)
        runs.append({"seed": demo.seed, "success": success, "steps": steps, "demo_steps": demo.horizon})
    return {"success_rate": float(np.mean([r["success"] for r in runs])), "runs": runs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demos", type=Path, required=True, help="joint-position demos of can or square (.npz)")
    parser.add_argument("--lead", type=int, default=DEFAULT_LEAD, help="physics steps the target leads the pose")
    parser.add_argument("--out", type=Path, help="derived demos (.npz)")
    parser.add_argument("--replay", type=int, default=0, help="replay the first N derived demos open-loop")
    parser.add_argument("--kp", type=float, default=None,
                        help="OSC stiffness for the replay (default: the env's, robosuite_osc.DEFAULT_KP)")
    add_debug_flag(parser)
    args = parser.parse_args(argv)

    demos = [osc_demo(d, args.lead) for d in load_demos(args.demos)]
    if args.out:
        save_demos(args.out, demos)
        print(f"wrote {len(demos)} demos to {args.out}")
    if args.replay > 0:
        from hint_policy.envs import make_env

        env = make_env(demos[0].env, **({} if args.kp is None else {"kp": args.kp}))
        result = replay_success(env, demos[: args.replay])
        env.close()
        print(json.dumps({"demos": str(args.demos), "lead": args.lead, "kp": args.kp, **result}))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
