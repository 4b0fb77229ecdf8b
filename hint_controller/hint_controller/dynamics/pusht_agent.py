"""The PushT agent (gym-pusht's pusher disc) as a planar double integrator driven by acceleration.

State (agent_x, agent_y, agent_vx, agent_vy) [px, px/s]; input (agent_ax, agent_ay) [px/s^2].
Continuous dynamics: a Drake LinearSystem, xdot = (v, a).

Discretization (matches gym-pusht 0.1.8 + pymunk 6 exactly, not an approximation): each 0.01 s
physics substep gym-pusht computes an acceleration, sets ``agent.velocity += acceleration * dt``
and calls ``space.step(dt)``; the agent is a kinematic body, so pymunk skips its velocity update
and integrates its position with the new velocity (cpBodyUpdatePosition: p += v dt). That is
semi-implicit Euler with the input held over the step:

    v' = v + a dt,    p' = p + v' dt = p + v dt + a dt^2

gym-pusht's own acceleration is its PD law toward the target position ("action"),
a = KP (target - p) + KD (0 - v) (see :func:`pd_acceleration`), so a gym-pusht action is the
primitive controller x_ref = (target, 0), u_ff = 0, K = [-KP I, -KD I].

Input limits +-1e5 px/s^2 per axis: the largest acceleration that PD law produces for positions
and targets in the 512 px workspace is KP * 512 + KD * |v| ~ 51200 + 20 * 1920 ~ 9e4 (|v| stays
below ~1920 px/s; random corner-to-corner targets peaked at 5.8e4).

State bounds: positions in gym-pusht's 512 px workspace [0, 512], velocities +-2000 px/s (above
the ~1920 px/s the PD law reaches).

Safe mode BRAKE commands -KD v (the PD law's damping with no position error), so the agent stops
instead of drifting on at constant velocity as it would under ZERO.
"""

from __future__ import annotations

import numpy as np
from pydrake.systems.primitives import LinearSystem

from hint_controller.dynamics.base import DynamicsModel, SafeMode

#: gym-pusht's PD gains (PushTEnv.k_p, PushTEnv.k_v)
KP = 100.0
KD = 20.0
#: per-axis acceleration limit [px/s^2], see the module docstring
MAX_ACCELERATION = 1e5
#: workspace side [px] and speed bound [px/s], see the module docstring
WORKSPACE_PX = 512.0
MAX_SPEED = 2000.0


def pd_acceleration(x: np.ndarray, target: np.ndarray, kp: float = KP, kd: float = KD) -> np.ndarray:
    """gym-pusht's acceleration toward `target` (px) from agent state x = (p, v)."""
    x = np.asarray(x, dtype=float)
    return kp * (np.asarray(target, dtype=float) - x[..., :2]) - kd * x[..., 2:4]


class PushTAgent(DynamicsModel):
    """gym-pusht's kinematic agent: semi-implicit Euler double integrator; safe modes ZERO, BRAKE."""

    name = "pusht_agent"
    state_names = ("agent_x", "agent_y", "agent_vx", "agent_vy")
    input_names = ("agent_ax", "agent_ay")

    def __init__(self, period: float = 0.01, max_acceleration: float = MAX_ACCELERATION) -> None:
        self.period = float(period)
        self.input_lower = np.full(2, -max_acceleration)
        self.input_upper = np.full(2, max_acceleration)
        self.state_lower = np.array([0.0, 0.0, -MAX_SPEED, -MAX_SPEED])
        self.state_upper = np.array([WORKSPACE_PX, WORKSPACE_PX, MAX_SPEED, MAX_SPEED])
        zeros, eye = np.zeros((2, 2)), np.eye(2)
        #: the continuous plant as a Drake system (xdot = A x + B u, y = x)
        self.continuous_system = LinearSystem(
            A=np.block([[zeros, eye], [zeros, zeros]]), B=np.vstack([zeros, eye]), C=np.eye(4), D=np.zeros((4, 2))
        )
        self._a_c = np.array(self.continuous_system.A())
        self._b_c = np.array(self.continuous_system.B())
        h = self.period
        self._a = np.block([[eye, h * eye], [zeros, eye]])
        self._b = np.vstack([h * h * eye, h * eye])

    def continuous_dynamics(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        return self._a_c @ np.asarray(x, float) + self._b_c @ np.asarray(u, float)

    def step(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        velocity = x[..., 2:4] + np.asarray(u, dtype=float) * self.period
        position = x[..., :2] + velocity * self.period
        return np.concatenate([position, velocity], axis=-1)

    def jacobians(self, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._a.copy(), self._b.copy()

    def trajectory_jacobians(self, states: np.ndarray, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        horizon = len(inputs)
        return np.broadcast_to(self._a, (horizon, 4, 4)).copy(), np.broadcast_to(self._b, (horizon, 4, 2)).copy()

    def servo_gains(self) -> np.ndarray:
        """K (2, 4) of gym-pusht's PD law as a primitive controller: u = K (x - (target, 0))."""
        return np.hstack([-KP * np.eye(2), -KD * np.eye(2)])

    def servo_targets(self, states: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """Targets (T, 2) for which gym-pusht's PD law gives exactly `inputs` at `states` (T, 4)."""
        states = np.asarray(states, dtype=float)
        return states[..., :2] + (np.asarray(inputs, dtype=float) + KD * states[..., 2:4]) / KP

    def safe_input(self, x: np.ndarray, mode: SafeMode | str) -> np.ndarray:
        if SafeMode(mode) is SafeMode.BRAKE:
            velocity = np.asarray(x, dtype=float)[2:4]
            braking = -KD * velocity
            return self.clamp(np.where(np.isfinite(braking), braking, 0.0))
        return super().safe_input(x, mode)
