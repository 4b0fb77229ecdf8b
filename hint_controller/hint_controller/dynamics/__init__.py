"""Plant models behind one interface (:class:`hint_controller.dynamics.base.DynamicsModel`)."""

from __future__ import annotations

import importlib
import inspect
import math

from hint_controller.dynamics.base import DynamicsModel, SafeMode

MODEL_NAMES = ("planar_quadrotor", "quadrotor_thrust_torque", "pusht_agent", "manipulator", "position_servo",
               "velocity_servo")


#: keyword options of the arm models (make_model's `options`, data.dynamics_options, the controller
#: node's parameters): the URDF (a path or a robot name of hint_controller.robots), the commanded
#: joints, and the servo's response (hint_controller.dynamics.servo)
ARM_OPTIONS = ("urdf_path", "joints", "natural_frequency", "damping", "time_constant")
SERVO_RESPONSE = {"position_servo": ("natural_frequency", "damping"), "velocity_servo": ("time_constant",)}


def make_model(name: str, period: float = 0.01, urdf_path: str | None = None, **options) -> DynamicsModel:
    """The model called `name` discretized at `period` seconds: one of MODEL_NAMES, or a user's
    model as ``"module:callable"`` (called with ``period=`` when it takes one; its period must
    then equal `period`). `urdf_path` and `options` (:data:`ARM_OPTIONS`: joints; natural_frequency
    and damping of position_servo; time_constant of velocity_servo) configure the arm models;
    options another model does not take are an error."""
    arm_models = {"manipulator": ("joints",), **{k: ("joints", *v) for k, v in SERVO_RESPONSE.items()}}
    allowed = arm_models.get(name, ())
    unknown = sorted(k for k, v in options.items() if v is not None and k not in allowed)
    if unknown or (urdf_path and name not in arm_models):
        raise ValueError(f"model {name!r} takes no options {unknown or ['urdf_path']}")
    options = {k: v for k, v in options.items() if v is not None}
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

        return Manipulator(urdf_path=urdf_path, period=period, **options)
    if name in SERVO_RESPONSE:
        from hint_controller.dynamics.servo import JointServo

        return JointServo.from_urdf(urdf_path, name.split("_")[0], period=period, **options)
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)} or 'module:callable'")


def _model_from_callable(name: str, period: float) -> DynamicsModel:
    module_name, attribute = name.split(":", 1)
    factory = getattr(importlib.import_module(module_name), attribute)
    takes_period = "period" in inspect.signature(factory).parameters
    model = factory(period=period) if takes_period else factory()
    if not math.isclose(model.period, period, rel_tol=1e-9):
        raise ValueError(f"dynamics model period {model.period} differs from the demo period {period}")
    return model


__all__ = ["DynamicsModel", "SafeMode", "MODEL_NAMES", "ARM_OPTIONS", "SERVO_RESPONSE", "make_model"]
