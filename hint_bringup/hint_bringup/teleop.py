"""The ROS-free core of teleoperation: a target point moved by a stick, and the composite actions
that track it (:class:`TargetTracker`); the node (:mod:`hint_bringup.teleop_node`) feeds it Joy
messages and states.

Each chunk is a track-target primitive sequence: ``chunk_length`` knots with reference
x_ref(t) = target + v t in the target coordinates, v (the stick velocity) in the ``target_rates``
coordinates and 0 in every other coordinate of the controlled model (at rest, level), u_ff the
model's hold input there (its default safe input at rest: 0 for PushT's agent, hover thrust for
the quadrotor), and gains K from TVLQR along that reference (for PushT's agent they come out
close to gym-pusht's own PD law, kp 100, kd 20). So a PushT teleop demo is gym-pusht's mouse
teleoperation: a PD-tracked target, sent through the same controller as the policy's chunks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hint_controller.composite_action import CompositeAction, chunk_from_knots
from hint_controller.dynamics.base import DynamicsModel
from hint_controller.executor import default_safe_mode
from hint_controller.names import name_indices
from hint_controller.tvlqr import primitive_controllers


class TargetTracker:
    """The teleop target and the track-target composite actions for it (ROS-free)."""

    def __init__(
        self,
        model: DynamicsModel,
        target_states: Sequence[str],
        target_rates: Sequence[str],
        lower: Sequence[float],
        upper: Sequence[float],
        knot_period: float,
        chunk_length: int,
    ) -> None:
        k = len(target_states)
        if k < 1 or len(lower) != k or len(upper) != k or (target_rates and len(target_rates) != k):
            raise ValueError(
                "target_states, target_min, target_max (and target_rates) need one entry per target coordinate"
            )
        self.model = model
        self.position_index = np.asarray(name_indices(model.state_names, target_states))
        self.rate_index = np.asarray(name_indices(model.state_names, target_rates)) if target_rates else None
        self.lower, self.upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        if np.any(self.lower > self.upper):
            raise ValueError(f"target_min {self.lower} exceeds target_max {self.upper}")
        self.stride = max(1, round(knot_period / model.period))
        self.knot_period = self.stride * model.period
        self.chunk_length = int(chunk_length)
        self.safe_mode = default_safe_mode(model)
        self.target: np.ndarray | None = None
        self.sequence = 0

    def place(self, position: np.ndarray) -> None:
        self.target = np.clip(np.asarray(position, dtype=float), self.lower, self.upper)

    def move(self, velocity: np.ndarray, seconds: float) -> None:
        if self.target is not None:
            self.place(self.target + np.asarray(velocity, dtype=float) * seconds)

    def chunk(self, velocity: np.ndarray, start_time: float) -> CompositeAction:
        """Track the target moving at `velocity` from `start_time` (clipped to the bounds)."""
        if self.target is None:
            raise RuntimeError("no target yet")
        steps = self.chunk_length * self.stride
        times = np.arange(steps + 1)[:, None] * self.model.period
        positions = np.clip(self.target + np.asarray(velocity, dtype=float) * times, self.lower, self.upper)
        states = np.zeros((steps + 1, self.model.state_dim))
        states[:, self.position_index] = positions
        inputs = np.array([self.model.safe_input(x, self.safe_mode) for x in states[:-1]])
        if self.rate_index is not None:
            states[:-1, self.rate_index] = np.diff(positions, axis=0) / self.model.period
        x_ref, u_ff, gains = primitive_controllers(self.model, states, inputs)
        self.sequence += 1
        return chunk_from_knots(x_ref, u_ff, gains, knot_period=self.knot_period, start_time=start_time,
                                state_names=self.model.state_names, input_names=self.model.input_names,
                                sequence=self.sequence, knots=self.chunk_length, stride=self.stride)


def stick_velocity(
    axes: Sequence[float], indices: Sequence[int], scales: Sequence[float], deadzone: float
) -> np.ndarray:
    """Target velocity from Joy axes (missing axes and values inside the deadzone count as 0)."""
    values = np.array([axes[i] if 0 <= i < len(axes) else 0.0 for i in indices], dtype=float)
    values[~np.isfinite(values) | (np.abs(values) < deadzone)] = 0.0
    return values * np.asarray(scales, dtype=float)
