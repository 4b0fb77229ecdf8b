"""Object poses as ROS messages, and a policy observation assembled from a JointState and poses.

On a real cell the arm's joints come from ros2_control's ``joint_state_broadcaster`` and an
object's pose from a perception node (``geometry_msgs/PoseStamped``). hint names a pose's seven
coordinates ``"<pose>/x"``, ``"<pose>/y"``, ``"<pose>/z"`` (position [m]) and ``"<pose>/qx"`` ...
``"<pose>/qw"`` (orientation quaternion); a pose named ``object`` travels on the topic
``object_pose``.

ROS-light: only numpy is imported at module level; messages are read by their fields and
geometry_msgs is imported only to build a PoseStamped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from hint_controller.joint_state import JointStateError, joint_state_to_vector

#: the coordinates of a pose, in the order hint's state vectors hold them
POSE_FIELDS = ("x", "y", "z", "qx", "qy", "qz", "qw")


class PoseError(ValueError):
    """A pose message or pose name that does not fit what is expected."""


def pose_state_names(pose: str) -> tuple[str, ...]:
    """The state names of the pose named `pose` ("object" -> "object/x", ..., "object/qw")."""
    return tuple(f"{pose}/{field}" for field in POSE_FIELDS)


def pose_topic(pose: str) -> str:
    """The topic a pose named `pose` travels on ("object" -> "object_pose")."""
    return f"{pose}_pose"


def pose_to_vector(msg: Any) -> np.ndarray:
    """(x, y, z, qx, qy, qz, qw) of a geometry_msgs/PoseStamped; PoseError on non-finite values or
    an orientation that is no unit quaternion (norm off by more than 1 %)."""
    position, orientation = msg.pose.position, msg.pose.orientation
    values = np.array([position.x, position.y, position.z, orientation.x, orientation.y, orientation.z,
                       orientation.w], dtype=float)
    if not np.all(np.isfinite(values)):
        raise PoseError(f"pose has non-finite values: {values.tolist()}")
    norm = float(np.linalg.norm(values[3:]))
    if abs(norm - 1.0) > 0.01:
        raise PoseError(f"pose orientation is no unit quaternion (norm {norm:.3f})")
    return values


def vector_to_pose(values: Sequence[float], frame_id: str = "world", stamp_ns: int | None = None):
    """The geometry_msgs/PoseStamped of (x, y, z, qx, qy, qz, qw) in `frame_id`, stamped `stamp_ns`."""
    from geometry_msgs.msg import PoseStamped

    values = np.asarray(values, dtype=float)
    if values.shape != (len(POSE_FIELDS),):
        raise PoseError(f"a pose has {len(POSE_FIELDS)} values {list(POSE_FIELDS)}, got shape {values.shape}")
    msg = PoseStamped()
    msg.header.frame_id = frame_id
    if stamp_ns is not None:
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(int(stamp_ns), 1_000_000_000)
    p, q = msg.pose.position, msg.pose.orientation
    p.x, p.y, p.z, q.x, q.y, q.z, q.w = (float(v) for v in values)
    return msg


class JointStateAndPoses:
    """A policy's observation put together from the latest JointState and pose messages.

    `state_names` are the policy's observed states in order; those of the poses named in `poses`
    ("<pose>/x" ... "<pose>/qw") come from their PoseStamped messages, the rest from the JointState
    ("<joint>/position" ...). :meth:`observation` is None until every part has arrived since the
    last :meth:`clear`; its stamp is the oldest part's, so a part that predates an episode makes the
    whole observation do so.
    """

    def __init__(self, state_names: Sequence[str], poses: Sequence[str]) -> None:
        self.state_names = tuple(state_names)
        self.poses = tuple(dict.fromkeys(poses))
        pose_columns = {name: i for pose in self.poses for i, name in enumerate(pose_state_names(pose))}
        unused = [pose for pose in self.poses if not set(pose_state_names(pose)) & set(self.state_names)]
        if unused:
            raise PoseError(f"the policy observes no coordinate of the poses {unused} (it observes "
                            f"{list(self.state_names)})")
        #: (index in the observation, pose, column in the pose vector) of each pose coordinate
        self._pose_slots = [(i, name.rpartition("/")[0], pose_columns[name])
                            for i, name in enumerate(self.state_names) if name in pose_columns]
        self._joint_slots = [i for i, name in enumerate(self.state_names) if name not in pose_columns]
        #: the states read from the JointState
        self.joint_state_names = tuple(self.state_names[i] for i in self._joint_slots)
        self.clear()

    def clear(self) -> None:
        """Forget every part received (an episode starts)."""
        self._joints: np.ndarray | None = None if self._joint_slots else np.zeros(0)
        self._joint_stamp = math.inf
        self._poses: dict[str, tuple[np.ndarray, float]] = {}

    def set_joint_state(self, msg: Any, stamp: float) -> None:
        """Take the joint part from a sensor_msgs/JointState stamped `stamp` [s]; JointStateError if it does not fit."""
        if self._joint_slots:
            self._joints = joint_state_to_vector(msg, self.joint_state_names)
            self._joint_stamp = stamp

    def set_pose(self, pose: str, msg: Any, stamp: float) -> None:
        """Take the pose named `pose` from a geometry_msgs/PoseStamped stamped `stamp` [s]; PoseError if it does not fit."""
        if pose not in self.poses:
            raise PoseError(f"unknown pose {pose!r}; the observation has {list(self.poses)}")
        self._poses[pose] = (pose_to_vector(msg), stamp)

    def observation(self) -> tuple[np.ndarray, float] | None:
        """(the observed state vector, the oldest part's stamp [s]) once every part has arrived, else None."""
        if self._joints is None or len(self._poses) < len(self.poses):
            return None
        values = np.empty(len(self.state_names))
        values[self._joint_slots] = self._joints
        for index, pose, column in self._pose_slots:
            values[index] = self._poses[pose][0][column]
        stamps = [stamp for _, stamp in self._poses.values()]
        if self._joint_slots:
            stamps.append(self._joint_stamp)
        return values, min(stamps)


__all__ = ["POSE_FIELDS", "JointStateAndPoses", "PoseError", "pose_state_names", "pose_to_vector", "pose_topic",
           "vector_to_pose"]
