"""Stabilize a planar quadrotor at the origin: the setting of the HINT paper's Figure 5.

The vehicle is hint_controller's :class:`ThrustTorqueQuadrotor` (collective thrust and torque,
m = 0.8 kg, I = 0.5 kg m^2, g = 9.8, explicit Euler at 0.05 s), as in the authors' code. One
physics step is one knot (``control_stride`` 1). Start states are drawn uniformly from

    x, z in [-2, 2] m,  theta in [-1, 1] rad,  xdot, zdot in [-3, 3] m/s,  thetadot in [-0.3, 0.3] rad/s

and the vehicle must be brought to rest at the origin. There are no obstacles and no walls.

Per step t, with u = (thrust, torque) and m g the hover thrust:

    cost_t   = ||x_t||^2 + 0.5 ((thrust_t - m g)^2 + 0.2 torque_t^2)
    reward_t = exp(-cost_t)               (StepInfo.reward, in (0, 1])

An episode runs ``max_steps`` steps (100 steps = 5 s by default; the paper does not state its
length). :meth:`QuadrotorStabilizeEnv.episode_metrics` reports ``total_reward`` (the sum of
reward_t; the paper's score divides it by the expert's from the same start) and ``reached_origin``
(1.0 when the final state lies within ``origin_radius`` of the origin in the full-state Euclidean
norm). StepInfo.success is set on the last step when the origin was reached, so an episode's
success is ``reached_origin``.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from hint_controller.dynamics.planar_quadrotor import ThrustTorqueQuadrotor
from hint_policy.envs.base import Env, StepInfo


@dataclasses.dataclass(frozen=True)
class StabilizeTaskConfig:
    #: half widths of the uniform start box of (x, z, theta, xdot, zdot, thetadot)
    start_half_width: tuple[float, ...] = (2.0, 2.0, 1.0, 3.0, 3.0, 0.3)
    physics_period: float = 0.05
    max_steps: int = 100
    #: reward weights: cost = ||x||^2 + input_weight ((thrust - m g)^2 + torque_weight torque^2)
    input_weight: float = 0.5
    torque_weight: float = 0.2
    #: full-state norm under which the final state counts as at the origin
    origin_radius: float = 0.1


class QuadrotorStabilizeEnv(Env):
    """Seeded stabilization task; see the module docstring."""

    name = "quadrotor_stabilize"
    state_names = ThrustTorqueQuadrotor.state_names
    input_names = ThrustTorqueQuadrotor.input_names
    control_stride = 1

    def __init__(self, config: StabilizeTaskConfig | None = None, render_scale: int = 80) -> None:
        self.config = config or StabilizeTaskConfig()
        self.physics_period = self.config.physics_period
        self.max_steps = self.config.max_steps
        self.model = ThrustTorqueQuadrotor(period=self.physics_period)
        self.render_scale = render_scale
        self._state = np.zeros(6)
        self.steps = 0
        self.total_reward = 0.0
        self.trace: list[np.ndarray] = []

    def initial_state(self, seed: int) -> np.ndarray:
        half = np.asarray(self.config.start_half_width, dtype=float)
        return np.random.default_rng(seed).uniform(-half, half)

    def reset(self, seed: int) -> np.ndarray:
        return self.reset_to(self.initial_state(seed))

    def reset_to(self, state: np.ndarray) -> np.ndarray:
        self._state = np.array(state, dtype=float)
        self.steps = 0
        self.total_reward = 0.0
        self.trace = [self._state[:2].copy()]
        return self._state.copy()

    @property
    def state(self) -> np.ndarray:
        return self._state.copy()

    def step_cost(self, state: np.ndarray, u: np.ndarray) -> np.ndarray:
        """cost_t of the module docstring; batched over leading axes."""
        state, u = np.asarray(state, float), np.asarray(u, float)
        c = self.config
        inputs = (u[..., 0] - self.model.hover_thrust) ** 2 + c.torque_weight * u[..., 1] ** 2
        return np.sum(state**2, axis=-1) + c.input_weight * inputs

    def step(self, u: np.ndarray) -> tuple[np.ndarray, StepInfo]:
        """Apply (thrust, torque), clipped to the model's limits, for one period."""
        u = self.model.clamp(np.asarray(u, dtype=float))
        reward = float(np.exp(-self.step_cost(self._state, u)))
        self.total_reward += reward
        self._state = self.model.step(self._state, u)
        self.steps += 1
        self.trace.append(self._state[:2].copy())
        timeout = self.steps >= self.max_steps
        return self._state.copy(), StepInfo(reward=reward, success=timeout and self.at_origin(self._state),
                                            timeout=timeout)

    def at_origin(self, state: np.ndarray) -> bool:
        return bool(np.linalg.norm(state) < self.config.origin_radius)

    def episode_metrics(self) -> dict[str, float]:
        return {"total_reward": self.total_reward, "reached_origin": float(self.at_origin(self._state)),
                "final_distance": float(np.linalg.norm(self._state))}

    def render(self) -> np.ndarray:
        """RGB frame: the origin's cross, the path so far and the vehicle (a 0.4 m bar, rotor posts)."""
        s, half = self.render_scale, 3.0
        size = int(2 * half * s)
        image = np.full((size, size, 3), 255, dtype=np.uint8)

        def pixel(x: float, z: float) -> tuple[int, int]:
            return int(round((x + half) * s)), int(round((half - z) * s))

        cv2.drawMarker(image, pixel(0.0, 0.0), (60, 160, 60), cv2.MARKER_CROSS, 24, 2)
        if len(self.trace) > 1:
            points = np.array([pixel(*p) for p in self.trace], dtype=np.int32)
            cv2.polylines(image, [points], False, (100, 149, 237), 1, cv2.LINE_AA)
        x, z, theta = self._state[:3]
        direction = np.array([np.cos(theta), np.sin(theta)])
        up = np.array([-np.sin(theta), np.cos(theta)])
        left, right = np.array([x, z]) - 0.2 * direction, np.array([x, z]) + 0.2 * direction
        cv2.line(image, pixel(*left), pixel(*right), (30, 30, 30), 3, cv2.LINE_AA)
        for end in (left, right):
            cv2.line(image, pixel(*end), pixel(*(end + 0.06 * up)), (65, 105, 225), 2, cv2.LINE_AA)
        return image
