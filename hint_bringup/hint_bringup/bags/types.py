"""The message types of a hint bag: hint_msgs registered in a rosbags type store, and builders of
the messages the simulator, controller and recorder exchange."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from hint_bringup.simulation import NS

STATE_TYPE = "hint_msgs/msg/StateVector"
INPUT_TYPE = "hint_msgs/msg/InputVector"
EVENT_TYPE = "hint_msgs/msg/EpisodeEvent"
COMPOSITE_ACTION_TYPE = "hint_msgs/msg/CompositeAction"

#: the topics the recorder records by default and their types
DEFAULT_TOPICS: dict[str, str] = {
    "state": STATE_TYPE,
    "applied_input": INPUT_TYPE,
    "command": INPUT_TYPE,
    "composite_action": COMPOSITE_ACTION_TYPE,
    "episode_event": EVENT_TYPE,
}


def hint_msgs_dir() -> Path:
    """The folder holding hint_msgs' .msg files.

    Looked up in this order: $HINT_MSGS_DIR, the ament index (the installed package), the
    source checkout next to this package.
    """
    candidates: list[Path] = []
    if os.environ.get("HINT_MSGS_DIR"):
        candidates.append(Path(os.environ["HINT_MSGS_DIR"]))
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

        try:
            candidates.append(Path(get_package_share_directory("hint_msgs")) / "msg")
        except PackageNotFoundError:
            pass
    except ImportError:
        pass
    candidates += [parent / "hint_msgs" / "msg" for parent in Path(__file__).resolve().parents]
    for candidate in candidates:
        if (candidate / "StateVector.msg").is_file():
            return candidate
    raise FileNotFoundError(
        "cannot find hint_msgs' .msg files: build the workspace (make setup) or set HINT_MSGS_DIR"
    )


@functools.lru_cache(maxsize=1)
def make_typestore() -> Typestore:
    """A rosbags type store of ROS 2 Jazzy's standard messages plus hint_msgs (from the .msg text).

    The type hashes (RIHS01) equal those of the colcon-built hint_msgs, so rclpy, ros2 bag and
    rosbags agree on the types.
    """
    store = get_typestore(Stores.ROS2_JAZZY)
    types: dict[str, Any] = {}
    for path in sorted(hint_msgs_dir().glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"hint_msgs/msg/{path.stem}"))
    store.register(types)
    event = store.types[EVENT_TYPE]
    if (event.EVENT_START, event.EVENT_SUCCESS, event.EVENT_COLLISION, event.EVENT_TIMEOUT, event.EVENT_STOP) != (
        0, 1, 2, 3, 4,
    ):
        raise RuntimeError("hint_msgs/EpisodeEvent constants changed; update hint_bringup.simulation's EVENT_* codes")
    return store


def stamp_ns(stamp: Any) -> int:
    """Integer nanoseconds of a builtin_interfaces/Time (rosbags or rclpy object)."""
    return int(stamp.sec) * NS + int(stamp.nanosec)


def header_message(store: Typestore, nanoseconds: int) -> Any:
    """A std_msgs/Header stamped `nanoseconds`, with an empty frame_id."""
    stamp = store.types["builtin_interfaces/msg/Time"](sec=nanoseconds // NS, nanosec=nanoseconds % NS)
    return store.types["std_msgs/msg/Header"](stamp=stamp, frame_id="")


def topic_name(name: str) -> str:
    """The fully qualified topic name: "state" -> "/state"."""
    return "/" + name.strip().lstrip("/")


def state_message(store: Typestore, names: Sequence[str], values: np.ndarray, t_ns: int) -> Any:
    return store.types[STATE_TYPE](
        header=header_message(store, t_ns), names=list(names), values=np.asarray(values, dtype=np.float64)
    )


def input_message(store: Typestore, names: Sequence[str], values: np.ndarray, t_ns: int) -> Any:
    return store.types[INPUT_TYPE](
        header=header_message(store, t_ns), names=list(names), values=np.asarray(values, dtype=np.float64)
    )


def event_message(
    store: Typestore, event: int, t_ns: int, *, environment: str, seed: int, episode_index: int,
    score: float = 0.0, detail: str = "",
) -> Any:
    return store.types[EVENT_TYPE](
        header=header_message(store, t_ns), event=int(event), environment=environment, seed=int(seed),
        episode_index=int(episode_index), score=float(score), detail=detail,
    )
