"""Conversions between hint's named vectors and ros2_control's messages, matched by joint name.

ros2_control publishes the measured state as sensor_msgs/JointState (``joint_state_broadcaster``)
and takes commands as std_msgs/Float64MultiArray ordered by the forward command controller's
``joints`` list. hint's models name their coordinates ``"<joint>/<field>"``: states
``<joint>/position`` and ``<joint>/velocity``, inputs ``<joint>/<interface>`` (effort, velocity or
position). These helpers translate between the two without assuming any order in the messages.

ROS-light: only numpy is imported at module level; messages are read by their fields (``name``,
``position``, ``velocity``, ``effort``), and sensor_msgs is imported only to build a JointState.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

#: JointState fields a state name "<joint>/<field>" can refer to
JOINT_STATE_FIELDS = ("position", "velocity", "effort")
#: ros2_control command interfaces a forward command controller can drive
COMMAND_INTERFACES = ("effort", "velocity", "position")


class JointStateError(ValueError):
    """A JointState or forward command that does not fit the model's names."""


def split_name(name: str) -> tuple[str, str]:
    """("joint", "field") of "joint/field" (the joint may itself contain slashes)."""
    joint, separator, field = name.rpartition("/")
    if not separator or not joint or not field:
        raise JointStateError(f"{name!r} is not a '<joint>/<field>' name")
    return joint, field


@functools.lru_cache(maxsize=64)
def _state_indices(
    joints: tuple[str, ...], fields: tuple[str, ...], state_names: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """(field row, joint column) in a (field, joint) table of every wanted state name.

    `fields` are the JointState fields the message carries (one value per joint each).
    """
    joint_column = {joint: i for i, joint in enumerate(joints)}
    if len(joint_column) != len(joints):
        raise JointStateError(f"joint_state names a joint twice: {list(joints)}")
    field_row = {field: i for i, field in enumerate(fields)}
    wanted = [split_name(name) for name in state_names]
    unknown_fields = sorted({field for _, field in wanted} - set(JOINT_STATE_FIELDS))
    if unknown_fields:
        raise JointStateError(f"state names ask for fields {unknown_fields}; JointState has {list(JOINT_STATE_FIELDS)}")
    missing_joints = sorted({joint for joint, _ in wanted if joint not in joint_column})
    if missing_joints:
        raise JointStateError(f"joint_state lacks joints {missing_joints} (it has {list(joints)})")
    missing_fields = sorted({field for _, field in wanted if field not in field_row})
    if missing_fields:
        raise JointStateError(
            f"joint_state carries no {' or '.join(missing_fields)} per joint (it has {list(fields) or 'no values'})"
        )
    rows = np.array([field_row[field] for _, field in wanted], dtype=int)
    columns = np.array([joint_column[joint] for joint, _ in wanted], dtype=int)
    return rows, columns


def joint_state_to_vector(msg: Any, state_names: Sequence[str]) -> np.ndarray:
    """The values of `state_names` ("<joint>/position", "<joint>/velocity", ...) read from a JointState.

    Joints are matched by name, so the message may list them in any order and carry extra joints.
    A field counts as present when it has one value per joint (JointState leaves unused fields
    empty). Raises :class:`JointStateError` naming missing joints or fields and on non-finite values.
    """
    joints = tuple(msg.name)
    columns = {field: getattr(msg, field) for field in JOINT_STATE_FIELDS}
    present = tuple(field for field, values in columns.items() if len(values) == len(joints) and joints)
    for field, values in columns.items():
        if len(values) not in (0, len(joints)):
            raise JointStateError(f"joint_state has {len(joints)} names but {len(values)} {field} values")
    rows, joint_columns = _state_indices(joints, present, tuple(state_names))
    table = np.array([columns[field] for field in present], dtype=float).reshape(len(present), len(joints))
    values = table[rows, joint_columns]
    if not np.all(np.isfinite(values)):
        bad = [name for name, value in zip(state_names, values, strict=True) if not np.isfinite(value)]
        raise JointStateError(f"joint_state has non-finite values for {bad}")
    return values


def vector_to_joint_state(values: np.ndarray, state_names: Sequence[str], stamp: float | None = None):
    """A sensor_msgs/JointState carrying `values` of `state_names` (the inverse of joint_state_to_vector).

    Joints appear in the order they first occur in `state_names`; every joint must have the same
    fields (JointState has one array per field), e.g. the manipulator's positions then velocities.
    `stamp` [s] fills header.stamp.
    """
    from sensor_msgs.msg import JointState

    values = np.asarray(values, dtype=float)
    if values.shape != (len(state_names),):
        raise JointStateError(f"expected {len(state_names)} values for {list(state_names)}, got shape {values.shape}")
    table: dict[str, dict[str, float]] = {}
    for name, value in zip(state_names, values, strict=True):
        joint, field = split_name(name)
        if field not in JOINT_STATE_FIELDS:
            raise JointStateError(f"{name!r}: JointState has no field {field!r} (only {list(JOINT_STATE_FIELDS)})")
        table.setdefault(joint, {})[field] = float(value)
    fields = [field for field in JOINT_STATE_FIELDS if any(field in entry for entry in table.values())]
    uneven = [joint for joint, entry in table.items() if sorted(entry) != sorted(fields)]
    if uneven:
        raise JointStateError(f"joints {uneven} lack some of the fields {fields} the other joints have")
    msg = JointState(name=list(table))
    for field in fields:
        setattr(msg, field, [entry[field] for entry in table.values()])
    if stamp is not None:
        seconds = int(np.floor(stamp))
        msg.header.stamp.sec, msg.header.stamp.nanosec = seconds, min(int(round((stamp - seconds) * 1e9)), 999_999_999)
    return msg


@dataclasses.dataclass(frozen=True)
class ForwardCommandLayout:
    """How a ros2_control forward command controller's array maps onto a model's input vector.

    The array's entry i commands ``joint_names[i]`` on ``interface``, i.e. the model input named
    ``"<joint_names[i]>/<interface>"``; every model input must be commanded exactly once. Empty
    `joint_names` means the array follows the model's own input order.
    """

    input_names: tuple[str, ...]
    joint_names: tuple[str, ...] = ()
    interface: str = "effort"
    #: position in the model's input vector of each array entry
    indices: np.ndarray = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.interface not in COMMAND_INTERFACES:
            raise JointStateError(f"command_interface must be one of {list(COMMAND_INTERFACES)}, got {self.interface!r}")
        object.__setattr__(self, "input_names", tuple(self.input_names))
        object.__setattr__(self, "joint_names", tuple(self.joint_names))
        object.__setattr__(self, "indices", self._commanded_indices())

    def _commanded_indices(self) -> np.ndarray:
        if not self.joint_names:
            return np.arange(len(self.input_names))
        if len(set(self.joint_names)) != len(self.joint_names):
            raise JointStateError(f"joint_names lists a joint twice: {list(self.joint_names)}")
        commanded = [f"{joint}/{self.interface}" for joint in self.joint_names]
        unknown = [name for name in commanded if name not in self.input_names]
        if unknown:
            raise JointStateError(
                f"the model has no inputs {unknown} (joint_names with command_interface {self.interface!r}); "
                f"its inputs are {list(self.input_names)}"
            )
        uncommanded = [name for name in self.input_names if name not in commanded]
        if uncommanded:
            raise JointStateError(f"joint_names {list(self.joint_names)} leave the model inputs {uncommanded} uncommanded")
        order = {name: i for i, name in enumerate(self.input_names)}
        return np.array([order[name] for name in commanded], dtype=int)

    def to_array(self, inputs: np.ndarray) -> list[float]:
        """The forward command controller's data for the model input vector `inputs`."""
        return np.asarray(inputs, dtype=float)[self.indices].tolist()

    def from_array(self, data: Sequence[float]) -> np.ndarray:
        """The model input vector commanded by a forward command controller's `data`."""
        values = np.asarray(data, dtype=float)
        if values.shape != self.indices.shape:
            order = list(self.joint_names) or list(self.input_names)
            raise JointStateError(f"command has {values.size} values, expected {len(self.indices)} (for {order})")
        if not np.all(np.isfinite(values)):
            raise JointStateError(f"command has non-finite values: {values.tolist()}")
        inputs = np.empty(len(self.input_names))
        inputs[self.indices] = values
        return inputs
