"""Franka Emika Panda reaching a Cartesian goal point behind a joint-position interface.

The arm is the published Panda description (:data:`hint_controller.robots.ROBOTS` ``panda``: 7
revolute joints, the gripper's fingers frozen) behind ros2_control's position command interface:
the plant is hint_controller's :class:`~hint_controller.dynamics.servo.JointServo`, each joint's
own servo loop following the commanded position as a second-order system (natural frequency
`natural_frequency`, damping ratio `damping`, what ``python -m hint_bringup.fit_servo`` identifies
on a real arm), stepped exactly at `physics_period`. Kinematics (for the task, not the plant) are
Drake's MultibodyPlant of the same URDF: the end effector is the frame ``panda_hand_tcp`` (the
gripper's tool centre point).

**Task.** Each seed draws a start configuration at rest, Franka's "ready" pose plus a uniform
offset of up to `start_spread` rad per joint (kept `limit_margin` inside the joint limits), and a
goal point uniform in the box [`goal_low`, `goal_high`] in front of the robot (base frame, metres),
at least `min_goal_distance` from the start's end effector and reachable by a configuration
`limit_margin` inside the limits (:meth:`SpatialArmKinematics.inverse`, redrawn otherwise).

**State** (what a policy observes): the 7 joint positions and velocities (the model's names,
``"<joint>/position"``, ``"<joint>/velocity"``) followed by the goal point ``goal_x``, ``goal_y``,
``goal_z`` [m], constant over an episode. **Input**: the commanded joint positions
``"<joint>/position"`` [rad], clamped to the joint limits (what a forward position controller
accepts).

**Episode end.** ``success``: the end effector within `goal_tolerance` of the goal with every joint
speed below `rest_speed`; ``collision``: a joint beyond its position limit or faster than its
velocity limit (what trips a real arm's safety monitor); ``timeout`` after `max_time`. **Reward**:
1 on success, else the progress clip(1 - d / d_0, 0, 1) of the end effector's distance d to the
goal (d_0 at the start).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
from pydrake.multibody.inverse_kinematics import InverseKinematics
from pydrake.solvers import Solve

from hint_controller.dynamics.servo import JointServo
from hint_controller.robots import ROBOTS, Robot, load_plant
from hint_policy.envs.reach import ReachEnv

#: the goal point's coordinates, appended to the model's state
GOAL_STATE_NAMES = ("goal_x", "goal_y", "goal_z")
#: Franka's "ready" configuration (franka_ros, MoveIt's panda "ready" state) [rad]
PANDA_READY = (0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785)


class SpatialArmKinematics:
    """Forward and inverse kinematics of a known robot's tip frame (Drake MultibodyPlant)."""

    def __init__(self, robot: Robot) -> None:
        self.robot = robot
        self.plant = load_plant(robot.urdf_path, robot.base_link, robot.joints)
        self.context = self.plant.CreateDefaultContext()
        self.tip = self.plant.GetFrameByName(robot.tip_frame)
        #: model joint order -> the plant's position index
        self.position_index = np.array([self.plant.GetJointByName(j).position_start() for j in robot.joints])
        #: the base and each commanded joint's child link, in chain order (for drawing)
        self._chain = [self.plant.GetFrameByName(robot.base_link),
                       *(self.plant.GetJointByName(j).child_body().body_frame() for j in robot.joints)]

    def _set(self, q: np.ndarray) -> None:
        positions = np.zeros(self.plant.num_positions())
        positions[self.position_index] = q
        self.plant.SetPositions(self.context, positions)

    def end_effector(self, q: np.ndarray) -> np.ndarray:
        """(x, y, z) of the tip frame's origin in the base frame [m]."""
        self._set(np.asarray(q, dtype=float))
        return self.plant.CalcPointsPositions(self.context, self.tip, np.zeros(3), self.plant.world_frame())[:, 0]

    def chain_points(self, q: np.ndarray) -> np.ndarray:
        """(k, 3) positions of the link frames along the arm and the tip (for drawing)."""
        self._set(np.asarray(q, dtype=float))
        world = self.plant.world_frame()
        frames = [*self._chain, self.tip]
        return np.array([self.plant.CalcPointsPositions(self.context, f, np.zeros(3), world)[:, 0] for f in frames])

    def inverse(self, point: np.ndarray, start: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                tolerance: float = 1e-4) -> np.ndarray | None:
        """The configuration within [lower, upper] closest to `start` (joint space, least squares)
        whose tip is within `tolerance` [m] of `point` in each axis (Drake InverseKinematics,
        solved from `start`); None when the solver finds none."""
        point = np.asarray(point, dtype=float)
        ik = InverseKinematics(self.plant, with_joint_limits=False)
        q = ik.q()[self.position_index]
        program = ik.prog()
        ik.AddPositionConstraint(self.tip, np.zeros(3), self.plant.world_frame(), point - tolerance, point + tolerance)
        program.AddBoundingBoxConstraint(lower, upper, q)
        program.AddQuadraticErrorCost(np.eye(len(q)), np.asarray(start, dtype=float), q)
        guess = np.zeros(self.plant.num_positions())
        guess[self.position_index] = np.clip(start, lower, upper)
        result = Solve(program, guess)
        if not result.is_success():
            return None
        return np.asarray(result.GetSolution(ik.q()))[self.position_index]


@dataclasses.dataclass(frozen=True)
class PandaReachConfig:
    #: servo response of each joint behind the position interface
    natural_frequency: float = 20.0  # rad/s
    damping: float = 1.0
    start_configuration: tuple[float, ...] = PANDA_READY
    start_spread: float = 0.3  # rad, uniform offset of each joint at the start
    limit_margin: float = 0.1  # rad the start and the goal configurations keep from the joint limits
    goal_low: tuple[float, float, float] = (0.3, -0.35, 0.15)  # m, base frame
    goal_high: tuple[float, float, float] = (0.65, 0.35, 0.55)
    min_goal_distance: float = 0.15  # m between the start's end effector and the goal
    goal_tolerance: float = 0.02  # m
    rest_speed: float = 0.1  # rad/s, every joint
    max_time: float = 5.0  # s
    physics_period: float = 0.01
    control_stride: int = 5  # 20 Hz knots


class PandaReachEnv(ReachEnv):
    """Seeded reaching task of the Panda behind a position interface; see the module docstring."""

    name = "panda"
    goal_state_names = GOAL_STATE_NAMES

    def __init__(self, config: PandaReachConfig | None = None, render_scale: int = 300) -> None:
        self.config = c = config or PandaReachConfig()
        robot = ROBOTS["panda"]
        self.physics_period = c.physics_period
        self.control_stride = c.control_stride
        self.max_steps = int(round(c.max_time / c.physics_period))
        self.model = JointServo.from_urdf(robot.urdf_path, "position", c.physics_period, base_link=robot.base_link,
                                          joints=robot.joints, natural_frequency=c.natural_frequency,
                                          damping=c.damping)
        self.kinematics = SpatialArmKinematics(robot)
        self.num_joints = len(robot.joints)
        self.render_scale = render_scale
        self._init_episode()

    # ------------------------------------------------------------------ episode
    @property
    def joint_lower(self) -> np.ndarray:
        return self.model.state_lower[: self.num_joints]

    @property
    def joint_upper(self) -> np.ndarray:
        return self.model.state_upper[: self.num_joints]

    @property
    def velocity_limit(self) -> np.ndarray:
        return self.model.state_upper[self.num_joints :]

    def reachable_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The joint limits narrowed by `limit_margin`: where starts and goal configurations lie."""
        return self.joint_lower + self.config.limit_margin, self.joint_upper - self.config.limit_margin

    def initial_state(self, seed: int) -> np.ndarray:
        """Start configuration at rest and goal point drawn from `seed` (see the module docstring)."""
        rng = np.random.default_rng(seed)
        c = self.config
        low, high = self.reachable_bounds()
        start = np.clip(np.asarray(c.start_configuration) + rng.uniform(-c.start_spread, c.start_spread, self.num_joints),
                        low, high)
        start_point = self.kinematics.end_effector(start)
        for _ in range(1000):
            goal = rng.uniform(c.goal_low, c.goal_high)
            if (np.linalg.norm(goal - start_point) >= c.min_goal_distance
                    and self.kinematics.inverse(goal, start, low, high) is not None):
                return np.concatenate([start, np.zeros(self.num_joints), goal])
        raise RuntimeError(f"seed {seed}: no reachable goal {c.min_goal_distance} m from the start in 1000 draws")

    def within_limits(self, state: np.ndarray) -> bool:
        """Every joint within its position limits and below its velocity limit."""
        speeds = np.abs(np.asarray(state[self.num_joints : 2 * self.num_joints]))
        return super().within_limits(state) and bool(np.all(speeds <= self.velocity_limit))

    # ------------------------------------------------------------------ rendering
    def render(self) -> np.ndarray:
        """RGB frame (OpenCV): the arm from above (x right, y up) and from the side (x right, z
        up), with the goal and its tolerance, and the end effector's trace."""
        s = self.render_scale
        size = int(round(1.2 * s))
        views = []
        for axes, title in (((0, 1), "top (x, y)"), ((0, 2), "side (x, z)")):
            image = np.full((size, size, 3), 255, dtype=np.uint8)

            top = axes[1] == 1  # top view: y in [-0.6, 0.6]; side view: z in [-0.2, 1.0]

            def pixel(point: np.ndarray, top=top) -> tuple[int, int]:
                vertical = 0.6 - point[1] if top else 1.0 - point[2]
                return int(round((point[0] + 0.3) * s)), int(round(vertical * s))

            goal = pixel(self.goal)
            cv2.circle(image, goal, max(3, int(round(self.config.goal_tolerance * s))), (144, 238, 144), -1, cv2.LINE_AA)
            cv2.drawMarker(image, goal, (34, 139, 34), cv2.MARKER_CROSS, 14, 2)
            if len(self.trace) > 1:
                trace = np.array([pixel(p) for p in self.trace], dtype=np.int32)
                cv2.polylines(image, [trace], False, (100, 149, 237), 1, cv2.LINE_AA)
            points = [pixel(p) for p in self.kinematics.chain_points(self._state[: self.num_joints])]
            for a, b in zip(points[:-1], points[1:]):
                cv2.line(image, a, b, (70, 70, 70), max(2, s // 40), cv2.LINE_AA)
            for point in points[:-1]:
                cv2.circle(image, point, max(3, s // 60), (205, 92, 92), -1, cv2.LINE_AA)
            cv2.circle(image, points[-1], max(2, s // 80), (65, 105, 225), -1, cv2.LINE_AA)
            cv2.putText(image, title, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (80, 80, 80), 1, cv2.LINE_AA)
            views.append(image)
        return np.hstack(views)
