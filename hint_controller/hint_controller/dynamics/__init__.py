"""Plant models behind one interface (:class:`hint_controller.dynamics.base.DynamicsModel`)."""

from __future__ import annotations

import importlib
import inspect
import math

from hint_controller.dynamics.base import DynamicsModel, SafeMode

MODEL_NAMES = ("planar_quadrotor", "quadrotor_thrust_torque", "pusht_agent", "manipulator", "position_servo",
               "velocity_servo")


def make_model(name: str, period: float = 0.01, urdf_path: str | None = None) -> DynamicsModel:
    """The model called `name` discretized at `period` seconds: one of MODEL_NAMES, or a user's
    model as ``"module:callable"`` (called with ``period=`` when it takes one; its period must
    then equal `period`)."""
    if ":" in name:
        return _model_from_callable(name, period)
    if name == "planar_quadrotor":
        from hint_controller.dynamics.planar_quadrotor import PlanarQuadrotor

        return PlanarQuadrotor(period=period)
    if name == "quadrotor_thrust_torque":
        from hint_controller.dynamics.planar_quadrotor import ThrustTorqueQuadrotor

        return ThrustTorqueQuadrotor(period=period)
    if name == "pusht_agent":
        from hint_controller.dynamics.pusht_agent import PushTAgent

        return PushTAgent(period=period)
    if name == "manipulator":
        from hint_controller.dynamics.manipulator import Manipulator

        return Manipulator(urdf_path=urdf_path, period=period)
    if name in ("position_servo", "velocity_servo"):
        from hint_controller.dynamics.manipulator import DEFAULT_URDF
        from hint_controller.dynamics.servo import JointServo

        return JointServo.from_urdf(urdf_path or DEFAULT_URDF, name.split("_")[0], period=period)
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)} or 'module:callable'")


def _model_from_callable(name: str, period: float) -> DynamicsModel:
    module_name, attribute = name.split(":", 1)
    factory = getattr(importlib.import_module(module_name), attribute)
    takes_period = "period" in inspect.signature(factory).parameters
    model = factory(period=period) if takes_period else factory()
    if not math.isclose(model.period, period, rel_tol=1e-9):
        raise ValueError(f"dynamics model period {model.period} differs from the demo period {period}")
    return model


__all__ = ["DynamicsModel", "SafeMode", "MODEL_NAMES", "make_model"]
