"""robomimic Can and Square with the Panda behind robosuite's operational-space pose controller:
the setting of Diffusion Policy's robomimic runs with absolute actions (``abs_action``).

**Input.** The absolute target pose of the end effector in the world frame and the finger
command: ``eef_target/x``..``eef_target/z`` [m] (the target of ``eef/x``..``eef/z``, robosuite's
grip site) and ``eef_target/r00``, ``r10``, ``r20``, ``r01``, ``r11``, ``r21``: the first two
columns of the target rotation matrix of the frame whose orientation the state's
``eef/qx``..``eef/qw`` give (robosuite's ``robot0_eef_quat``), entry ``rIJ`` = row I, column J.
Two columns are the continuous 6-D rotation representation Diffusion Policy's absolute actions are
learned in; axis-angle, robosuite's own absolute input, jumps between +-pi about the gripper's
pointing-down orientation. The env orthonormalizes the two columns (Gram-Schmidt), turns the
frame into the grip site's (a fixed rotation of the Panda's hand), and hands the pose to robosuite's
OSC_POSE controller (its default ``osc_pose`` part configuration: critical damping, nullspace
posture; ``input_type`` absolute, ``input_ref_frame`` world) as position and axis-angle.
``panda_finger_joint1/position`` is the finger command as in the joint-position tasks. Nothing is
learned about the controller: it has fixed gains.

**Stiffness.** kp is :data:`DEFAULT_KP` = 300, the top of robosuite's own ``kp_limits`` [0, 300],
in place of the configuration's 150. Demos of these tasks are pose targets derived from the
joint-position experts' recorded end-effector poses (hint_policy.experts.osc_targets), not the
targets of an operator who watched the arm trail them; at kp 150 the arm trails them by 2-3 cm
and 2-8 degrees around the grasp and 18 of the first 20 Can demos (16 of 20 Square demos) replay
open-loop to success, at kp 300 all 20 (Square 18).

**Everything else** (state vector, physics, seeding, success, episode limit, rendering) is the
joint-position task's (:mod:`hint_policy.envs.robosuite_tasks`).

**Model.** hint's trainer and chunk executor take the input's names and limits from a
:class:`~hint_controller.dynamics.base.DynamicsModel`; :class:`OSCPoseTargetModel` is the ideal
tracker of the pose target (the end effector and finger reach the commanded pose within one
period). Policies trained with ``data.action_content: feedforward`` use only its names and
limits: they output the targets, executed with zero gains; it makes no claim on the arm's
response.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hint_controller.dynamics.base import DynamicsModel, SafeMode
from hint_policy.envs.robosuite_tasks import (
    EEF_STATE_NAMES,
    FINGER_JOINT,
    FINGER_RANGE,
    CanEnv,
    RobosuiteTaskConfig,
    SquareEnv,
    _import_robosuite,
)

#: the rotation columns of the target: entry (row, column) of the rotation matrix
ROTATION_ENTRIES = ((0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1))
TARGET_INPUT_NAMES = (*(f"eef_target/{c}" for c in "xyz"), *(f"eef_target/r{i}{j}" for i, j in ROTATION_ENTRIES),
                      f"{FINGER_JOINT}/position")
#: the model's state: the end-effector pose the target commands, and the finger
TARGET_STATE_NAMES = (*EEF_STATE_NAMES, f"{FINGER_JOINT}/position")
#: the OSC stiffness of the arm's pose (module docstring)
DEFAULT_KP = 300.0
#: the target positions the controller accepts [m], world frame: a box around the Panda's
#: workspace over the table and bins of Can and Square (their demos stay well inside it)
POSITION_LOWER = (-0.8, -0.8, 0.7)
POSITION_UPPER = (0.6, 0.8, 1.5)


def osc_pose_controller_config(kp: float | None = None) -> dict:
    """robosuite's BASIC composite controller with the arm on its OSC_POSE controller (the default
    ``osc_pose`` part configuration) taking absolute world-frame pose targets, and the GRIP
    gripper controller; `kp` replaces the default stiffness (150) when given."""
    robosuite = _import_robosuite()
    from robosuite.controllers import load_composite_controller_config

    config = load_composite_controller_config(controller="BASIC", robot="Panda")
    parts = Path(robosuite.__file__).parent / "controllers" / "config" / "default" / "parts"
    arm = json.loads((parts / "osc_pose.json").read_text())
    arm["input_type"] = "absolute"
    arm["input_ref_frame"] = "world"
    if kp is not None:
        arm["kp"] = float(kp)
    arm["gripper"] = config["body_parts"]["right"]["gripper"]
    config["body_parts"]["right"] = arm
    return config


# ---------------------------------------------------------------------- rotations


def quaternion_to_matrix(quaternion: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of quaternions (..., 4) ordered x y z w (normalized here;
    a zero quaternion gives the identity)."""
    q = np.asarray(quaternion, dtype=float)
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    q = np.where(norm > 1e-12, q / np.where(norm > 1e-12, norm, 1.0), np.array([0.0, 0.0, 0.0, 1.0]))
    x, y, z, w = np.moveaxis(q, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], axis=-1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], axis=-1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], axis=-1),
    ], axis=-2)


def matrix_to_quaternion(matrix: np.ndarray) -> np.ndarray:
    """Quaternions x y z w (..., 4) of rotation matrices (..., 3, 3), w >= 0."""
    from scipy.spatial.transform import Rotation

    matrix = np.asarray(matrix, dtype=float)
    q = Rotation.from_matrix(matrix.reshape(-1, 3, 3)).as_quat()
    q *= np.where(q[:, 3:] < 0, -1.0, 1.0)
    return q.reshape(matrix.shape[:-2] + (4,))


def matrix_to_columns(matrix: np.ndarray) -> np.ndarray:
    """The rotation input (..., 6) of rotation matrices (..., 3, 3): :data:`ROTATION_ENTRIES`."""
    matrix = np.asarray(matrix, dtype=float)
    return np.stack([matrix[..., i, j] for i, j in ROTATION_ENTRIES], axis=-1)


def columns_to_matrix(columns: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of rotation inputs (..., 6): the first column normalized,
    the second made orthogonal to it and normalized (Gram-Schmidt), the third their cross
    product. Degenerate inputs (parallel or zero columns) fall back to the identity's axes."""
    columns = np.asarray(columns, dtype=float)
    first, second = columns[..., :3], columns[..., 3:6]
    norm = np.linalg.norm(first, axis=-1, keepdims=True)
    x_axis = np.where(norm > 1e-9, first / np.where(norm > 1e-9, norm, 1.0), np.array([1.0, 0.0, 0.0]))
    second = second - np.sum(x_axis * second, axis=-1, keepdims=True) * x_axis
    norm = np.linalg.norm(second, axis=-1, keepdims=True)
    fallback = np.cross(x_axis, np.where(np.abs(x_axis[..., 2:3]) < 0.9, [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]))
    fallback = fallback / np.linalg.norm(fallback, axis=-1, keepdims=True)
    y_axis = np.where(norm > 1e-9, second / np.where(norm > 1e-9, norm, 1.0), np.cross(fallback, x_axis))
    return np.stack([x_axis, y_axis, np.cross(x_axis, y_axis)], axis=-1)


def pose_target(position: np.ndarray, quaternion: np.ndarray, finger: np.ndarray) -> np.ndarray:
    """Inputs (..., 10) that command the end-effector pose (`position` (..., 3), `quaternion`
    (..., 4) x y z w, as the state's eef/...) and the finger position `finger` (...)."""
    rotation = matrix_to_columns(quaternion_to_matrix(quaternion))
    return np.concatenate([np.asarray(position, dtype=float), rotation, np.asarray(finger, dtype=float)[..., None]],
                          axis=-1)


# ---------------------------------------------------------------------- the model


class OSCPoseTargetModel(DynamicsModel):
    """The pose-target interface as a model: names, limits, and the ideal tracker
    x_{t+1} = (target position, target orientation, finger command). Safe mode BRAKE commands the
    pose and finger the state x is at: the arm holds still."""

    name = "osc_pose_target"

    def __init__(self, period: float = 0.01) -> None:
        self.period = float(period)
        self.state_names = TARGET_STATE_NAMES
        self.input_names = TARGET_INPUT_NAMES
        self.input_lower = np.array([*POSITION_LOWER, *([-1.0] * 6), FINGER_RANGE[0]])
        self.input_upper = np.array([*POSITION_UPPER, *([1.0] * 6), FINGER_RANGE[1]])

    def step(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        u = self.clamp(np.asarray(u, dtype=float))
        return np.concatenate([u[:3], matrix_to_quaternion(columns_to_matrix(u[3:9])), u[9:]])

    def continuous_dynamics(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The rate that reaches the ideal tracker's next state in one period."""
        return (self.step(x, u) - np.asarray(x, dtype=float)) / self.period

    def jacobians(self, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A = 0, B by central differences of :meth:`step`."""
        u = np.asarray(u, dtype=float)
        b = np.zeros((self.state_dim, self.input_dim))
        for k in range(self.input_dim):
            delta = np.zeros(self.input_dim)
            delta[k] = 1e-6
            b[:, k] = (self.step(x, u + delta) - self.step(x, u - delta)) / 2e-6
        return np.zeros((self.state_dim, self.state_dim)), b

    def safe_input(self, x: np.ndarray, mode: SafeMode | str) -> np.ndarray:
        mode = SafeMode(mode)
        if mode is SafeMode.BRAKE:
            x = np.asarray(x, dtype=float)
            return self.clamp(pose_target(x[:3], x[3:7], x[7]))
        return super().safe_input(x, mode)


def make_osc_pose_target_model(period: float = 0.01) -> OSCPoseTargetModel:
    """``data.dynamics: hint_policy.envs.robosuite_osc:make_osc_pose_target_model``."""
    return OSCPoseTargetModel(period)


# ---------------------------------------------------------------------- the envs


class _OSCTask:
    """Mixin over a RobosuiteTaskEnv: the arm on OSC_POSE with absolute world-frame targets."""

    def __init__(self, config: RobosuiteTaskConfig | None = None, kp: float = DEFAULT_KP) -> None:
        self.kp = float(kp)
        super().__init__(config)
        self.name = f"{self.task}_osc"
        self.model = OSCPoseTargetModel(self.physics_period)
        self.input_names = tuple(self.model.input_names)
        sim = self.sim_env.sim
        body = sim.model.body_name2id(self.robot.robot_model.eef_name["right"])
        site = self.robot.eef_site_id["right"]
        #: the grip site's orientation in the frame of eef/q* (a constant of the Panda's hand)
        self.site_in_eef = sim.data.body_xmat[body].reshape(3, 3).T @ sim.data.site_xmat[site].reshape(3, 3)

    def _controller_config(self) -> dict:
        return osc_pose_controller_config(self.kp)

    def _arm_action(self, u_arm: np.ndarray) -> np.ndarray:
        """robosuite's OSC action: the grip site's target position and axis-angle (world frame)."""
        from scipy.spatial.transform import Rotation

        site = columns_to_matrix(u_arm[3:9]) @ self.site_in_eef
        return np.concatenate([u_arm[:3], Rotation.from_matrix(site).as_rotvec()])


class CanOSCEnv(_OSCTask, CanEnv):
    """robomimic Can with the arm on absolute end-effector pose targets (module docstring)."""


class SquareOSCEnv(_OSCTask, SquareEnv):
    """robomimic Square with the arm on absolute end-effector pose targets (module docstring)."""
