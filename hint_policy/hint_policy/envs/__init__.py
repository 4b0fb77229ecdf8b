"""ROS-free simulators: PushT (gym-pusht physics; ``pusht_near_goal`` starts the block near the
goal, for finishing demos), the planar quadrotor obstacle task, the
planar quadrotor stabilization task of the HINT paper's Figure 5, the three-link arm reaching
task (effort interface), the Franka Panda reaching task (position interface), and robomimic's
Can and Square manipulation tasks on robosuite (the Panda behind a position interface; the
``_osc`` variants behind robosuite's operational-space controller with absolute pose targets).

:func:`make_env` is the one registry of them by name; a simulator's module is imported only when
that simulator is made.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hint_policy.envs.base import Env

#: env name -> (module, class) of its Env subclass
_ENV_CLASSES = {
    "pusht": ("hint_policy.envs.pusht", "PushTEnv"),
    "pusht_near_goal": ("hint_policy.envs.pusht", "PushTNearGoalEnv"),
    "quadrotor": ("hint_policy.envs.quadrotor", "PlanarQuadrotorObstacleEnv"),
    "quadrotor_stabilize": ("hint_policy.envs.quadrotor_stabilize", "QuadrotorStabilizeEnv"),
    "arm": ("hint_policy.envs.arm", "ArmReachEnv"),
    "panda": ("hint_policy.envs.panda", "PandaReachEnv"),
    "can": ("hint_policy.envs.robosuite_tasks", "CanEnv"),
    "square": ("hint_policy.envs.robosuite_tasks", "SquareEnv"),
    "can_osc": ("hint_policy.envs.robosuite_osc", "CanOSCEnv"),
    "square_osc": ("hint_policy.envs.robosuite_osc", "SquareOSCEnv"),
}
ENV_NAMES = tuple(_ENV_CLASSES)


def make_env(name: str, **kwargs: Any) -> Env:
    """A fresh simulator by name (one of :data:`ENV_NAMES`) or "module:Class" (a user's Env
    subclass); `kwargs` go to its constructor."""
    from hint_policy.envs.base import Env

    if ":" in name:
        module_name, _, class_name = name.partition(":")
    elif name in _ENV_CLASSES:
        module_name, class_name = _ENV_CLASSES[name]
    else:
        raise ValueError(f"unknown environment {name!r}, expected one of {ENV_NAMES} or 'module:Class'")
    env = getattr(importlib.import_module(module_name), class_name)(**kwargs)
    if not isinstance(env, Env):
        raise TypeError(f"{name} is not a hint_policy.envs.base.Env")
    return env
