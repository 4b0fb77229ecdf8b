"""ROS-free simulators: PushT (gym-pusht physics), the planar quadrotor obstacle task and the
three-link arm reaching task.

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
    "quadrotor": ("hint_policy.envs.quadrotor", "PlanarQuadrotorObstacleEnv"),
    "arm": ("hint_policy.envs.arm", "ArmReachEnv"),
}
ENV_NAMES = tuple(_ENV_CLASSES)


def make_env(name: str, **kwargs: Any) -> Env:
    """A fresh simulator by name (one of :data:`ENV_NAMES`); `kwargs` go to its constructor."""
    if name not in _ENV_CLASSES:
        raise ValueError(f"unknown environment {name!r}, expected one of {ENV_NAMES}")
    module_name, class_name = _ENV_CLASSES[name]
    return getattr(importlib.import_module(module_name), class_name)(**kwargs)
