"""Planar quadrotor flying past an obstacle to a goal region (x-z plane, z up).

The vehicle is hint_controller's :class:`PlanarQuadrotor` (RK4, 0.01 s), stepped by rotor
thrusts. Geometry (metres, defaults of :class:`QuadrotorTaskConfig`)::

    z = 3.2  ceiling  -------------------------------------------------
             start box                 .---.               goal box
             x in [-2.2, -1.6]        ( obs )              centre (1.9, 1.6)
             z in [0.9, 2.3]           '---'               half size (0.35, 0.45)
    z = 0    ground   -------------------------------------------------
             x = -2.6                  x = 0                x = 2.6

The obstacle is a disc (centre (0, 1.6), radius 0.45); the vehicle is a disc of radius 0.25 (its
arm length) for collision checks. Flying from the start box (left) to the goal box (right) it
passes the obstacle above or below: two homotopy classes. Seen in the direction of travel (+x)
with z up, the left-hand side is +z, so **"left" = passing above the obstacle** and "right" =
passing below (:func:`passes_left`).

An episode *passes the obstacle* when the vehicle's disc gets entirely past the obstacle's disc in
x (x > obstacle x + obstacle radius + vehicle radius) without a collision before
(:meth:`PlanarQuadrotorObstacleEnv.episode_metrics`, ``passed_obstacle``). An episode ends with ``collision`` (obstacle, ground, ceiling or side walls), ``success`` (centre
inside the goal box with speed below ``success_speed``) or ``timeout`` (``max_steps``).
Reward: 1 on success, else 0.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from hint_controller.dynamics.planar_quadrotor import PlanarQuadrotor
from hint_policy.envs.base import Env, StepInfo


@dataclasses.dataclass(frozen=True)
class QuadrotorTaskConfig:
    x_limits: tuple[float, float] = (-2.6, 2.6)
    z_limits: tuple[float, float] = (0.0, 3.2)  # ground, ceiling
    start_x: tuple[float, float] = (-2.2, -1.6)
    start_z: tuple[float, float] = (0.9, 2.3)
    obstacle_center: tuple[float, float] = (0.0, 1.6)
    obstacle_radius: float = 0.45
    goal_center: tuple[float, float] = (1.9, 1.6)
    goal_half_size: tuple[float, float] = (0.35, 0.45)
    vehicle_radius: float = 0.25
    success_speed: float = 0.5  # m/s
    max_time: float = 8.0  # s
    physics_period: float = 0.01
    control_stride: int = 5  # 20 Hz knots


def passes_left(states: np.ndarray, config: QuadrotorTaskConfig = QuadrotorTaskConfig()) -> bool:
    """Whether a trajectory (rows x, z, ...) passes above ("left" of) the obstacle.

    Decided at the first crossing of the obstacle's x coordinate (or at the closest approach in
    x when it never crosses)."""
    x, z = states[:, 0], states[:, 1]
    cx, cz = config.obstacle_center
    crossing = np.flatnonzero(x >= cx)
    index = int(crossing[0]) if len(crossing) else int(np.argmin(np.abs(x - cx)))
    return bool(z[index] > cz)


class PlanarQuadrotorObstacleEnv(Env):
    """Seeded planar-quadrotor obstacle task; see the module docstring."""

    name = "quadrotor"
    state_names = PlanarQuadrotor.state_names
    input_names = PlanarQuadrotor.input_names

    def __init__(self, config: QuadrotorTaskConfig | None = None, render_scale: int = 100) -> None:
        self.config = config or QuadrotorTaskConfig()
        self.physics_period = self.config.physics_period
        self.control_stride = self.config.control_stride
        self.max_steps = int(round(self.config.max_time / self.physics_period))
        self.model = PlanarQuadrotor(period=self.physics_period)
        self.render_scale = render_scale
        self._state = np.zeros(6)
        self.steps = 0
        self.trace: list[np.ndarray] = []
        self._collision_step: int | None = None

    # ------------------------------------------------------------------ episode
    def initial_state(self, seed: int) -> np.ndarray:
        """Hover at rest at a point of the start box drawn from `seed`."""
        rng = np.random.default_rng(seed)
        c = self.config
        return np.array([rng.uniform(*c.start_x), rng.uniform(*c.start_z), 0.0, 0.0, 0.0, 0.0])

    def reset(self, seed: int) -> np.ndarray:
        return self.reset_to(self.initial_state(seed))

    def reset_to(self, state: np.ndarray) -> np.ndarray:
        self._state = np.array(state, dtype=float)
        self.steps = 0
        self.trace = [self._state[:2].copy()]
        self._collision_step = None
        return self._state.copy()

    @property
    def state(self) -> np.ndarray:
        return self._state.copy()

    def step(self, u: np.ndarray) -> tuple[np.ndarray, StepInfo]:
        """Apply rotor thrusts u [N] (clipped to the model's limits) for one physics period."""
        u = self.model.clamp(np.asarray(u, dtype=float))
        self._state = self.model.step(self._state, u)
        self.steps += 1
        self.trace.append(self._state[:2].copy())
        collision = self.in_collision(self._state)
        if collision and self._collision_step is None:
            self._collision_step = len(self.trace) - 1
        success = not collision and self.in_goal(self._state)
        return self._state.copy(), StepInfo(
            reward=float(success), success=success, collision=collision, timeout=self.steps >= self.max_steps
        )

    def episode_metrics(self) -> dict[str, float]:
        """``passed_obstacle``: 1.0 once the vehicle is past the obstacle with no collision before."""
        c = self.config
        past = c.obstacle_center[0] + c.obstacle_radius + c.vehicle_radius
        beyond = np.flatnonzero(np.array(self.trace)[:, 0] > past)
        if not len(beyond):
            return {"passed_obstacle": 0.0}
        return {"passed_obstacle": float(self._collision_step is None or self._collision_step > beyond[0])}

    # ------------------------------------------------------------------ geometry
    def in_collision(self, state: np.ndarray) -> bool:
        c = self.config
        x, z = float(state[0]), float(state[1])
        r = c.vehicle_radius
        if not (c.x_limits[0] + r <= x <= c.x_limits[1] - r and c.z_limits[0] + r <= z <= c.z_limits[1] - r):
            return True
        return bool(np.hypot(x - c.obstacle_center[0], z - c.obstacle_center[1]) < c.obstacle_radius + r)

    def in_goal(self, state: np.ndarray) -> bool:
        c = self.config
        offset = np.abs(state[:2] - np.asarray(c.goal_center))
        inside = bool(np.all(offset <= np.asarray(c.goal_half_size)))
        return inside and float(np.hypot(state[3], state[4])) < c.success_speed

    # ------------------------------------------------------------------ rendering
    def _pixel(self, x: float, z: float) -> tuple[int, int]:
        c, s = self.config, self.render_scale
        return int(round((x - c.x_limits[0]) * s)), int(round((c.z_limits[1] - z) * s))

    def render(self) -> np.ndarray:
        """RGB frame (OpenCV rasterizer): ground, goal box, obstacle, path so far, vehicle."""
        c, s = self.config, self.render_scale
        width = int(round((c.x_limits[1] - c.x_limits[0]) * s))
        height = int(round((c.z_limits[1] - c.z_limits[0]) * s))
        image = np.full((height, width, 3), 255, dtype=np.uint8)
        gx, gz = c.goal_center
        hx, hz = c.goal_half_size
        cv2.rectangle(image, self._pixel(gx - hx, gz + hz), self._pixel(gx + hx, gz - hz), (144, 238, 144), -1)
        cv2.rectangle(image, self._pixel(c.start_x[0], c.start_z[1]), self._pixel(c.start_x[1], c.start_z[0]), (220, 220, 220), 1)
        cv2.circle(image, self._pixel(*c.obstacle_center), int(round(c.obstacle_radius * s)), (205, 92, 92), -1, cv2.LINE_AA)
        cv2.line(image, (0, height - 1), (width - 1, height - 1), (90, 90, 90), 3)  # ground
        cv2.line(image, (0, 0), (width - 1, 0), (90, 90, 90), 3)  # ceiling
        if len(self.trace) > 1:
            points = np.array([self._pixel(x, z) for x, z in self.trace], dtype=np.int32)
            cv2.polylines(image, [points], False, (100, 149, 237), 1, cv2.LINE_AA)
        self._draw_vehicle(image)
        return image

    def _draw_vehicle(self, image: np.ndarray) -> None:
        x, z, theta = self._state[:3]
        arm = self.model.arm_length
        direction = np.array([np.cos(theta), np.sin(theta)])
        up = np.array([-np.sin(theta), np.cos(theta)])
        left = np.array([x, z]) - arm * direction
        right = np.array([x, z]) + arm * direction
        cv2.line(image, self._pixel(*left), self._pixel(*right), (30, 30, 30), 3, cv2.LINE_AA)
        for end in (left, right):
            top = end + 0.06 * up
            cv2.line(image, self._pixel(*end), self._pixel(*top), (30, 30, 30), 2, cv2.LINE_AA)
            a, b = top - 0.09 * direction, top + 0.09 * direction
            cv2.line(image, self._pixel(*a), self._pixel(*b), (65, 105, 225), 2, cv2.LINE_AA)
