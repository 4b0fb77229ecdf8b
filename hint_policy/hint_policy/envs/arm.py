"""Planar three-link arm reaching a goal point with its end effector and coming to rest there.

The arm is hint_controller's :class:`~hint_controller.dynamics.manipulator.Manipulator` (Drake
MultibodyPlant from ``models/arm3.urdf``, RK4 at 0.01 s), stepped by joint efforts. Its joints
turn about the world's y axis, so the arm moves in the x-z plane (z up, gravity along -z)::

                 z
                 |        * goal (goal_x, goal_z)
                 |       /
                 |  link2   link3 (tip = end effector, `tip_offset` from joint3)
                 | /
        base ----o----------- x      joint1 at the origin, link lengths 0.5, 0.4, 0.3 m
               link1

A joint angle theta about +y turns the link from +x towards -z, so in the plane the links point at
the cumulative angles psi_i = -(theta_1 + ... + theta_i), measured from +x towards +z
(:class:`PlanarArmKinematics`).

**Task.** Each seed draws a start configuration at rest and a goal *point* for the end effector
(not a goal configuration: the arm has one redundant degree of freedom, and every goal point is
reachable in many ways, e.g. elbow up or down). Both configurations are drawn uniformly within
`configuration_fraction` of the joint limits; the goal point is the end effector of the goal draw,
so it is always reachable, at least `min_goal_distance` from the start's end effector.

**State** (what a policy observes): the arm's joint positions and velocities (the names of the
model, ``"<joint>/position"``, ``"<joint>/velocity"``; :meth:`Env.controlled_state` picks them)
followed by the goal point ``goal_x``, ``goal_z`` [m], constant over an episode.

**Episode end.** ``success``: the end effector within `goal_tolerance` of the goal point with
every joint speed below `rest_speed`; ``collision``: a joint beyond its URDF position limit (the
model itself does not enforce limits; link-link contact is not modelled); ``timeout`` after
`max_time`. **Reward**: 1 on success, else the progress towards the goal point,
clip(1 - d / d_0, 0, 1) with d the end effector's distance to the goal and d_0 that distance at the
start (so an episode's score, its maximum reward, is its closest approach).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np

from hint_controller.dynamics.manipulator import Manipulator
from hint_policy.envs.reach import ReachEnv

#: the goal point's coordinates, appended to the model's state
GOAL_STATE_NAMES = ("goal_x", "goal_z")
#: the plane's axis of rotation in the world (URDF joint axes must be this)
PLANE_NORMAL = np.array([0.0, 1.0, 0.0])


@dataclasses.dataclass(frozen=True)
class ArmTaskConfig:
    urdf_path: str | None = None  # None = hint_controller's shipped arm3.urdf
    #: end effector: the point this far along the last link's x axis from its joint [m]
    tip_offset: float = 0.3
    #: start and goal configurations are drawn within this fraction of each joint's limits
    configuration_fraction: float = 0.8
    min_goal_distance: float = 0.3  # m between the start's end effector and the goal point
    goal_tolerance: float = 0.03  # m
    rest_speed: float = 0.1  # rad/s, every joint
    max_time: float = 6.0  # s
    physics_period: float = 0.01
    control_stride: int = 5  # 20 Hz knots


@dataclasses.dataclass(frozen=True)
class PlanarArmKinematics:
    """Forward and inverse kinematics of a planar serial arm in the x-z plane (see the module doc)."""

    #: joint i+1 sits link_lengths[i] along link i's x axis; the last entry is the tip offset
    link_lengths: tuple[float, ...]

    @classmethod
    def from_manipulator(cls, model: Manipulator, tip_offset: float) -> PlanarArmKinematics:
        """The kinematics of `model`'s URDF; raises ValueError unless it is a planar chain of
        revolute joints about y, each placed along its parent link's x axis, with no rotation."""
        plant = model.plant
        joints = [plant.GetJointByName(name.removesuffix("/position")) for name in model.state_names[: plant.num_positions()]]
        for parent_joint, joint in zip(joints[:-1], joints[1:]):
            if joint.parent_body().index() != parent_joint.child_body().index():
                raise ValueError(f"{model.urdf_path}: joint {joint.name()} does not follow {parent_joint.name()} in one chain")
        offsets = [_planar_joint_offset(joint, model.urdf_path) for joint in joints]
        if offsets[0] != 0.0:
            raise ValueError(f"{model.urdf_path}: the first joint {joints[0].name()} must sit at the base origin")
        if not tip_offset > 0:
            raise ValueError(f"tip_offset must be > 0, got {tip_offset}")
        return cls(tuple(offsets[1:]) + (float(tip_offset),))

    def link_angles(self, q: np.ndarray) -> np.ndarray:
        """psi_i, the planar direction of each link (from +x towards +z), shape (..., n)."""
        return -np.cumsum(np.asarray(q, dtype=float), axis=-1)

    def joint_points(self, q: np.ndarray) -> np.ndarray:
        """(x, z) of the base, every further joint and the end effector, shape (..., n + 1, 2)."""
        psi = self.link_angles(q)
        lengths = np.asarray(self.link_lengths)
        points = np.cumsum(np.stack([lengths * np.cos(psi), lengths * np.sin(psi)], axis=-1), axis=-2)
        zero = np.zeros((*points.shape[:-2], 1, 2))
        return np.concatenate([zero, points], axis=-2)

    def end_effector(self, q: np.ndarray) -> np.ndarray:
        """(x, z) of the end effector, shape (..., 2)."""
        return self.joint_points(q)[..., -1, :]

    def inverse(self, point: np.ndarray, tip_angles: np.ndarray, elbow: float) -> tuple[np.ndarray, np.ndarray]:
        """Configurations putting the end effector of a three-link arm at `point` with its last
        link pointing at each of `tip_angles` (psi_3, rad), elbow sign(theta_2) = sign(`elbow`).

        Returns (q (k, 3) wrapped to (-pi, pi], reachable (k,)): rows of unreachable angles are NaN."""
        if len(self.link_lengths) != 3:
            raise ValueError(f"inverse kinematics is for three links, this arm has {len(self.link_lengths)}")
        l1, l2, l3 = self.link_lengths
        phi = np.atleast_1d(np.asarray(tip_angles, dtype=float))
        wrist = np.asarray(point, dtype=float)[None] - l3 * np.stack([np.cos(phi), np.sin(phi)], axis=-1)
        cos_elbow = (np.sum(wrist**2, axis=-1) - l1**2 - l2**2) / (2 * l1 * l2)
        reachable = np.abs(cos_elbow) <= 1.0
        beta2 = -np.sign(elbow or 1.0) * np.arccos(np.clip(cos_elbow, -1.0, 1.0))  # theta_2 = -beta2
        beta1 = np.arctan2(wrist[:, 1], wrist[:, 0]) - np.arctan2(l2 * np.sin(beta2), l1 + l2 * np.cos(beta2))
        beta3 = phi - beta1 - beta2
        q = -np.stack([beta1, beta2, beta3], axis=-1)
        q = np.angle(np.exp(1j * q))  # wrap to (-pi, pi]
        q[~reachable] = np.nan
        return q, reachable


def _planar_joint_offset(joint, urdf_path: Path) -> float:
    """How far along its parent link's x axis a revolute joint about y sits; ValueError for any
    other joint (another axis or type, an offset off the x axis, a rotated joint frame)."""
    if joint.type_name() != "revolute" or not np.allclose(joint.revolute_axis(), PLANE_NORMAL):
        raise ValueError(f"{urdf_path}: joint {joint.name()} must be revolute about y for a planar arm")
    on_parent = joint.frame_on_parent().GetFixedPoseInBodyFrame()
    on_child = joint.frame_on_child().GetFixedPoseInBodyFrame()
    identity = np.eye(3)
    if not (np.allclose(on_parent.rotation().matrix(), identity) and np.allclose(on_parent.translation()[1:], 0.0)
            and np.allclose(on_child.rotation().matrix(), identity) and np.allclose(on_child.translation(), 0.0)):
        raise ValueError(f"{urdf_path}: joint {joint.name()} must sit on its parent's x axis without rotation")
    return float(on_parent.translation()[0])


class ArmReachEnv(ReachEnv):
    """Seeded reaching task of the planar three-link arm; see the module docstring."""

    name = "arm"
    goal_state_names = GOAL_STATE_NAMES

    def __init__(self, config: ArmTaskConfig | None = None, render_scale: int = 200) -> None:
        self.config = config or ArmTaskConfig()
        c = self.config
        if not 0 < c.configuration_fraction <= 1:
            raise ValueError(f"configuration_fraction must be in (0, 1], got {c.configuration_fraction}")
        self.physics_period = c.physics_period
        self.control_stride = c.control_stride
        self.max_steps = int(round(c.max_time / c.physics_period))
        self.model = Manipulator(urdf_path=Path(c.urdf_path) if c.urdf_path else None, period=c.physics_period)
        self.kinematics = PlanarArmKinematics.from_manipulator(self.model, c.tip_offset)
        self.num_joints = self.model.plant.num_positions()
        self.render_scale = render_scale
        self._init_episode()

    # ------------------------------------------------------------------ episode
    @property
    def joint_lower(self) -> np.ndarray:
        return self.model.position_lower

    @property
    def joint_upper(self) -> np.ndarray:
        return self.model.position_upper

    def initial_state(self, seed: int) -> np.ndarray:
        """Start configuration at rest and goal point drawn from `seed` (see the module docstring)."""
        rng = np.random.default_rng(seed)
        c = self.config
        low, high = c.configuration_fraction * self.joint_lower, c.configuration_fraction * self.joint_upper
        start = rng.uniform(low, high)
        start_point = self.kinematics.end_effector(start)
        for _ in range(1000):
            goal = self.kinematics.end_effector(rng.uniform(low, high))
            if np.linalg.norm(goal - start_point) >= c.min_goal_distance:
                return np.concatenate([start, np.zeros(self.num_joints), goal])
        raise RuntimeError(f"seed {seed}: no goal point {c.min_goal_distance} m away from the start in 1000 draws")

    # ------------------------------------------------------------------ rendering
    @property
    def reach(self) -> float:
        return float(sum(self.kinematics.link_lengths))

    def _pixel(self, point: np.ndarray) -> tuple[int, int]:
        half = 1.1 * self.reach
        s = self.render_scale
        return int(round((point[0] + half) * s)), int(round((half - point[1]) * s))

    def render(self) -> np.ndarray:
        """RGB frame (OpenCV rasterizer): reach circle, goal with its tolerance, tip trace, arm."""
        s = self.render_scale
        size = int(round(2 * 1.1 * self.reach * s))
        image = np.full((size, size, 3), 255, dtype=np.uint8)
        centre = self._pixel(np.zeros(2))
        cv2.circle(image, centre, int(round(self.reach * s)), (225, 225, 225), 1, cv2.LINE_AA)
        cv2.line(image, (0, centre[1]), (size - 1, centre[1]), (235, 235, 235), 1)
        goal = self._pixel(self.goal)
        cv2.circle(image, goal, max(3, int(round(self.config.goal_tolerance * s))), (144, 238, 144), -1, cv2.LINE_AA)
        cv2.drawMarker(image, goal, (34, 139, 34), cv2.MARKER_CROSS, 14, 2)
        if len(self.trace) > 1:
            points = np.array([self._pixel(p) for p in self.trace], dtype=np.int32)
            cv2.polylines(image, [points], False, (100, 149, 237), 1, cv2.LINE_AA)
        cv2.rectangle(image, (centre[0] - s // 10, centre[1]), (centre[0] + s // 10, centre[1] + s // 20), (90, 90, 90), -1)
        joints = [self._pixel(p) for p in self.kinematics.joint_points(self._state[: self.num_joints])]
        for a, b in zip(joints[:-1], joints[1:]):
            cv2.line(image, a, b, (70, 70, 70), max(2, s // 25), cv2.LINE_AA)
        for point in joints[:-1]:
            cv2.circle(image, point, max(3, s // 30), (205, 92, 92), -1, cv2.LINE_AA)
        cv2.circle(image, joints[-1], max(2, s // 50), (65, 105, 225), -1, cv2.LINE_AA)
        return image
