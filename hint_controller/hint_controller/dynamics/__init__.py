"""Plant models behind one interface (:class:`hint_controller.dynamics.base.DynamicsModel`)."""

from __future__ import annotations

from hint_controller.dynamics.base import DynamicsModel, SafeMode

MODEL_NAMES = ("planar_quadrotor", "pusht_agent", "manipulator")


def make_model(name: str, period: float = 0.01, urdf_path: str | None = None) -> DynamicsModel:
    """The model called `name` (one of MODEL_NAMES) discretized at `period` seconds."""
    if name == "planar_quadrotor":
        from hint_controller.dynamics.planar_quadrotor import PlanarQuadrotor

        return PlanarQuadrotor(period=period)
    if name == "pusht_agent":
        from hint_controller.dynamics.pusht_agent import PushTAgent

        return PushTAgent(period=period)
    if name == "manipulator":
        from hint_controller.dynamics.manipulator import Manipulator

        return Manipulator(urdf_path=urdf_path, period=period)
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")


__all__ = ["DynamicsModel", "SafeMode", "MODEL_NAMES", "make_model"]
