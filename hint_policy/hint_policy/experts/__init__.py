"""Expert demonstrators (PushT push planner, quadrotor trajectory optimization + TVLQR, quadrotor
stabilization by iLQR MPC, arm minimum-jerk reach + TVLQR, manipulation keyframe paths + TVLQR) and
the ``generate`` command that writes demo datasets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hint_policy.demos import Demo

if TYPE_CHECKING:
    from hint_policy.envs.base import Env, StepInfo


def expert_demo(
    env: Env, seed: int, states: Sequence[np.ndarray], inputs: Sequence[np.ndarray], success: bool,
    extra: dict[str, Any],
) -> Demo:
    """The demo an expert recorded in `env` (reset to `seed`) at the physics period: the states
    x_1..x_{T+1} and the inputs u_1..u_T it applied (T may be 0)."""
    return Demo(
        states=np.array(states),
        inputs=np.array(inputs).reshape(-1, len(env.input_names)),
        period=env.physics_period,
        state_names=env.state_names,
        input_names=env.input_names,
        env=env.name,
        seed=int(seed),
        success=bool(success),
        source="expert",
        extra=extra,
    )


def stream_episode(env: Env, expert: Any, seed: int) -> tuple[list[np.ndarray], list[np.ndarray], StepInfo, Any]:
    """Reset `env` to `seed` and let a streaming expert (``start(state, seed)`` -> memory,
    ``act(memory, state)`` -> input) act until the episode ends: (states x_1..x_{T+1}, inputs
    u_1..u_T, the last step's info, the expert's final memory)."""
    state = env.reset(seed)
    memory = expert.start(state, seed)
    states, inputs = [state], []
    info = None
    while info is None or not info.done:
        u = expert.act(memory, state)
        state, info = env.step(u)
        states.append(state)
        inputs.append(u)
    return states, inputs, info, memory
