"""rosbag2 bags of hint episodes, written and read with the pure-Python `rosbags` library (no ROS).

A hint bag is an ordinary rosbag2 bag (MCAP storage by default, sqlite3 possible) that
`ros2 bag info/play`, rosbags, `mcap` and Foxglove read. It holds some of these topics:

    /state           hint_msgs/StateVector    full env state, stamped with sim time, every physics step
    /applied_input   hint_msgs/InputVector    the input the simulator actually applied during the step
                                              that starts at its stamp (exact; published by sim_node)
    /command         hint_msgs/InputVector    the commands sent to the simulator (controller output)
    /composite_action hint_msgs/CompositeAction  the policy's chunks (kept for analysis, not converted)
    /episode_event   hint_msgs/EpisodeEvent   START ... SUCCESS | COLLISION | TIMEOUT | STOP

Episodes are delimited by episode events: a START opens episode `episode_index`, the next end
event with the same index closes it; both are stamped with the sim time of the first and of the
last state. Metadata goes into the bag's own ``custom_data`` (metadata.yaml, rosbag2 >= Iron):

    hint.operator         who acted: "expert", "teleop", "policy" (the Demo's `source`)
    hint.environment      environment name of the recorded simulator
    hint.physics_period   seconds between consecutive states
    hint.episodes         JSON list of {episode_index, seed, event, score} per finished episode
    hint.recorder         what wrote the bag

Bags recorded with ``ros2 bag record -s mcap /state /command /episode_event`` lack custom_data;
:func:`read_episodes` then takes the period from the state stamps and the source from its
argument.

Conversion to demos (:func:`read_episodes`): for each episode, the states stamped in
[START, end] (at the physics period; a gap or a late start skips the episode with a warning)
and, for each state time t_k, the input in effect during the step from t_k to t_{k+1}: the
applied input stamped t_k when /applied_input is there, else the latest /command stamped
before t_{k+1} within the episode (zero-order hold; leading states before the first command are
dropped). Problems that affect one episode are logged as warnings and that episode is skipped;
problems with the whole bag raise :class:`BagError`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from ruamel.yaml import YAML
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.rosbag2.metadata import dump_qos_v9, parse_qos
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from hint_policy.demos import Demo

from hint_bringup.simulation import (
    EVENT_COLLISION, EVENT_NAMES, EVENT_START, EVENT_STOP, EVENT_SUCCESS, EVENT_TIMEOUT, NS,
)

LOG = logging.getLogger("hint_bringup.bags")

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


CUSTOM_PREFIX = "hint."
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


class BagError(Exception):
    """A bag cannot be used as a whole; the text names the bag and the reason."""


class MissingTopicError(BagError):
    """A topic the conversion needs is not in the bag."""


class CorruptBagError(BagError):
    """The bag is truncated, unreadable or not a rosbag2 bag."""


# --------------------------------------------------------------------------- message types
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
        raise RuntimeError("hint_msgs/EpisodeEvent constants changed; update hint_bringup.bags")
    return store


def stamp_ns(stamp: Any) -> int:
    """Integer nanoseconds of a builtin_interfaces/Time (rosbags or rclpy object)."""
    return int(stamp.sec) * NS + int(stamp.nanosec)


def _time(store: Typestore, nanoseconds: int) -> Any:
    return store.types["builtin_interfaces/msg/Time"](sec=nanoseconds // NS, nanosec=nanoseconds % NS)


def _header(store: Typestore, nanoseconds: int) -> Any:
    return store.types["std_msgs/msg/Header"](stamp=_time(store, nanoseconds), frame_id="")


def topic_name(name: str) -> str:
    """The fully qualified topic name: "state" -> "/state"."""
    return "/" + name.strip().lstrip("/")


# --------------------------------------------------------------------------- writing
#: bytes of messages after which the pending MCAP chunk is written out (rosbag2's resilient
#: preset uses 768 KiB; rosbags alone waits for 1 MiB and writes nothing before that)
DEFAULT_CHUNK_SIZE = 786_432


class BagWriter:
    """A rosbag2 bag being written: topics, raw CDR or rosbags messages, custom metadata.

    The bag directory must not exist yet (nothing is ever overwritten). Use as a context manager
    or call :meth:`close`; rosbags writes the final metadata.yaml at close. For crash safety call
    :meth:`flush` periodically: it writes the pending MCAP chunk (or commits the sqlite3
    transaction), fsyncs the storage file and writes a metadata.yaml snapshot, so a killed
    writer loses only what arrived since the last flush and :func:`repair_bag` can recover the
    rest. An MCAP chunk is also written out once it holds `chunk_size` bytes.
    """

    def __init__(self, path: str | os.PathLike, *, storage: str = "mcap", chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        if storage not in STORAGES:
            raise ValueError(f"storage must be one of {sorted(STORAGES)}, got {storage!r}")
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f"{self.path} exists already; refusing to overwrite a bag")
        self.store = make_typestore()
        self.storage = storage
        self.chunk_size = int(chunk_size)
        self._writer = Writer(self.path, version=9, storage_plugin=STORAGES[storage])
        self._writer.open()
        self._connections: dict[str, Any] = {}
        self.message_counts: dict[str, int] = {}

    def add_topic(self, topic: str, msgtype: str, *, msgdef: str | None = None, rihs01: str | None = None,
                  qos: Sequence[Any] = ()) -> None:
        """Declare `topic` of type `msgtype` ("pkg/msg/Name").

        The definition comes from the bag type store, or from `msgdef` and `rihs01` (a type the
        store does not know, e.g. when repairing a foreign bag); otherwise KeyError. `qos`: the
        offered QoS profiles (rosbags Qos objects) stored with the topic.
        """
        topic = topic_name(topic)
        if topic in self._connections:
            return
        if msgtype in self.store.types:
            definition: dict[str, Any] = {"typestore": self.store}
        elif msgdef is not None and rihs01:
            definition = {"msgdef": msgdef, "rihs01": rihs01}
        else:
            raise KeyError(f"message type {msgtype} is unknown to the bag type store")
        self._connections[topic] = self._writer.add_connection(topic, msgtype, offered_qos_profiles=list(qos), **definition)
        self.message_counts[topic] = 0

    def has_topic(self, topic: str) -> bool:
        return topic_name(topic) in self._connections

    def write_raw(self, topic: str, timestamp_ns: int, data: bytes) -> None:
        """Write CDR bytes (e.g. from an rclpy raw subscription) received at `timestamp_ns`."""
        topic = topic_name(topic)
        self._writer.write(self._connections[topic], int(timestamp_ns), data)
        self.message_counts[topic] += 1
        if self.storage == "mcap" and self._writer.storage.chunk.bio.tell() >= self.chunk_size:
            self._writer.storage.close_chunk()

    def write(self, topic: str, timestamp_ns: int, message: Any) -> None:
        """Serialize a rosbags message object and write it."""
        self.write_raw(topic, timestamp_ns, self.store.serialize_cdr(message, message.__msgtype__))

    def set_custom(self, key: str, value: Any) -> None:
        """Store `value` (str, or JSON-encoded otherwise) as custom_data "hint.<key>"."""
        self._writer.set_custom_data(CUSTOM_PREFIX + key, value if isinstance(value, str) else json.dumps(value))

    def flush(self) -> None:
        """Make everything written so far survive a crash of this process (and of the machine)."""
        storage = self._writer.storage
        if self.storage == "mcap":
            # rosbags' McapWriter: a chunk is complete on disk only once close_chunk wrote it
            if storage.chunk.msgs:
                storage.close_chunk()
            storage.bio.flush()
            os.fsync(storage.bio.fileno())
        else:
            storage.conn.commit()
        self._write_metadata_snapshot()

    def _write_metadata_snapshot(self) -> None:
        """metadata.yaml as rosbags writes it at close, for what was written so far."""
        writer = self._writer
        count = sum(writer.counts.values())
        start = writer.min_timestamp if count else 0
        duration = max(0, writer.max_timestamp - writer.min_timestamp) if count else 0
        file_name = writer.storage.path.name
        information = {
            "version": writer.version,
            "storage_identifier": self.storage,
            "relative_file_paths": [file_name],
            "duration": {"nanoseconds": duration},
            "starting_time": {"nanoseconds_since_epoch": start},
            "message_count": count,
            "topics_with_message_count": [
                {
                    "topic_metadata": {
                        "name": c.topic, "type": c.msgtype, "serialization_format": c.ext.serialization_format,
                        "offered_qos_profiles": dump_qos_v9(c.ext.offered_qos_profiles),
                        "type_description_hash": c.digest,
                    },
                    "message_count": writer.counts[c.id],
                }
                for c in writer.connections
            ],
            "compression_format": "",
            "compression_mode": "",
            "files": [{"path": file_name, "starting_time": {"nanoseconds_since_epoch": start},
                       "duration": {"nanoseconds": duration}, "message_count": count}],
            "custom_data": dict(writer.custom_data) or None,
            "ros_distro": "rosbags",
        }
        _write_yaml_atomically(self.path / "metadata.yaml", {"rosbag2_bagfile_information": information})

    def close(self) -> Path:
        """Finish the storage file and write metadata.yaml."""
        self._writer.close()
        return self.path

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()


def _write_yaml_atomically(path: Path, content: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf8") as stream:
        yaml = YAML(typ="safe")
        yaml.default_flow_style = False
        yaml.dump(content, stream)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


def state_message(store: Typestore, names: Sequence[str], values: np.ndarray, t_ns: int) -> Any:
    return store.types[STATE_TYPE](
        header=_header(store, t_ns), names=list(names), values=np.asarray(values, dtype=np.float64)
    )


def input_message(store: Typestore, names: Sequence[str], values: np.ndarray, t_ns: int) -> Any:
    return store.types[INPUT_TYPE](
        header=_header(store, t_ns), names=list(names), values=np.asarray(values, dtype=np.float64)
    )


def event_message(
    store: Typestore, event: int, t_ns: int, *, environment: str, seed: int, episode_index: int,
    score: float = 0.0, detail: str = "",
) -> Any:
    return store.types[EVENT_TYPE](
        header=_header(store, t_ns), event=int(event), environment=environment, seed=int(seed),
        episode_index=int(episode_index), score=float(score), detail=detail,
    )


def write_demo_bag(
    path: str | os.PathLike,
    demos: Sequence[Demo],
    *,
    operator: str | None = None,
    storage: str = "mcap",
    start_time: float = 0.0,
    topics: Iterable[str] = ("state", "applied_input", "command", "episode_event"),
) -> Path:
    """Write `demos` as the simulator and controller would have published them.

    Episode i starts one period after episode i-1 ended (sim_node's reset also takes one period).
    States on /state, each demo input on /applied_input and /command stamped with the start of its
    step, START and end events (SUCCESS when `demo.success`, else demo.extra["end_event"] or
    TIMEOUT) on /episode_event. Used by tests and to turn a demo file back into a bag.
    """
    topics = set(topics)
    if not demos:
        raise ValueError("no demos to write")
    periods = {demo.period for demo in demos}
    if len(periods) != 1:
        raise ValueError(f"demos have different periods {sorted(periods)}; one bag has one physics period")
    period_ns = round(demos[0].period * NS)
    t_ns = round(start_time * NS)
    episodes = []
    with BagWriter(path, storage=storage) as bag:
        store = bag.store
        for topic in topics:
            bag.add_topic(topic, DEFAULT_TOPICS[topic])
        for index, demo in enumerate(demos):
            event_fields = dict(environment=demo.env, seed=demo.seed, episode_index=index)
            if "episode_event" in topics:
                bag.write("episode_event", t_ns, event_message(store, EVENT_START, t_ns, **event_fields))
            for k, state in enumerate(demo.states):
                step_t = t_ns + k * period_ns
                if k < demo.horizon:
                    for topic in ("applied_input", "command"):
                        if topic in topics:
                            bag.write(topic, step_t, input_message(store, demo.input_names, demo.inputs[k], step_t))
                if "state" in topics:
                    bag.write("state", step_t, state_message(store, demo.state_names, state, step_t))
            end_t = t_ns + demo.horizon * period_ns
            end_name = "SUCCESS" if demo.success else str(demo.extra.get("end_event", "TIMEOUT"))
            end_event = {name: code for code, name in EVENT_NAMES.items()}[end_name]
            score = float(demo.extra.get("score", 1.0 if demo.success else 0.0))
            if "episode_event" in topics:
                bag.write("episode_event", end_t, event_message(store, end_event, end_t, score=score, **event_fields))
            episodes.append({"episode_index": index, "seed": demo.seed, "event": end_name, "score": score})
            t_ns = end_t + period_ns
        bag.set_custom("operator", operator if operator is not None else demos[0].source)
        bag.set_custom("environment", demos[0].env)
        bag.set_custom("physics_period", repr(demos[0].period))
        bag.set_custom("episodes", episodes)
        bag.set_custom("recorder", "hint_bringup.bags.write_demo_bag")
    return Path(path)


# --------------------------------------------------------------------------- reading
@dataclasses.dataclass
class _Vectors:
    """Stamped named vectors of one topic, sorted by stamp."""

    stamps: np.ndarray  # int64 ns
    values: np.ndarray  # (N, d)
    names: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class _Event:
    stamp: int
    event: int
    environment: str
    seed: int
    episode_index: int
    score: float
    detail: str


def find_bags(path: str | os.PathLike) -> list[Path]:
    """Bags at or below `path`, sorted: bag directories (with metadata.yaml) and bare .mcap files
    outside them (a recorder that died leaves no metadata.yaml; rosbags reads a complete .mcap
    alone, `ros2 bag reindex` rebuilds the metadata)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if (path / "metadata.yaml").is_file() or path.is_file():
        return [path]
    bags = sorted(p.parent for p in path.rglob("metadata.yaml"))
    loose = [f for f in path.rglob("*.mcap") if not any(bag in f.parents for bag in bags)]
    for storage_file in path.rglob("*.db3"):
        if not any(bag in storage_file.parents for bag in bags):
            LOG.warning("skipping %s: an sqlite3 bag file without its metadata.yaml (try `ros2 bag reindex`)", storage_file)
    return sorted(bags + loose)


def bag_custom_data(bag_path: str | os.PathLike) -> dict[str, str]:
    """The hint.* entries of the bag's custom_data, without the prefix."""
    with open_reader(Path(bag_path)) as reader:
        return _custom_data(reader)


def _custom_data(reader: Reader) -> dict[str, str]:
    metadata = getattr(reader.storage, "metadata", None)  # absent when reading a bare .mcap file
    custom = getattr(metadata, "custom", None) or {}
    return {key[len(CUSTOM_PREFIX):]: value for key, value in custom.items() if key.startswith(CUSTOM_PREFIX)}


class open_reader:
    """rosbags Reader as a context manager that turns its errors into CorruptBagError."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reader: Reader | None = None

    def __enter__(self) -> Reader:
        try:
            self.reader = Reader(self.path)
            self.reader.open()
        except Exception as error:  # rosbags raises ReaderError, OSError, struct/mcap errors
            raise CorruptBagError(f"{self.path}: cannot open bag: {error}") from error
        return self.reader

    def __exit__(self, *exc_info) -> None:
        if self.reader is not None:
            self.reader.close()


def read_episodes(
    bag_path: str | os.PathLike,
    *,
    state_topic: str = "state",
    input_topic: str | None = None,
    event_topic: str = "episode_event",
    source: str | None = None,
) -> list[Demo]:
    """The complete episodes of one bag as demos (see the module docstring for the rules).

    input_topic: None picks /applied_input when the bag has it, else /command.
    source: the demos' `source`; None takes the bag's hint.operator, else "bag".
    Raises MissingTopicError (naming the topic and listing the bag's topics) or CorruptBagError.
    """
    bag_path = Path(bag_path)
    store = make_typestore()
    with open_reader(bag_path) as reader:
        available = {c.topic: c.msgtype for c in reader.connections}
        custom = _custom_data(reader)
        state_name = _require_topic(bag_path, available, [state_topic], STATE_TYPE, "--state-topic")
        event_name = _require_topic(bag_path, available, [event_topic], EVENT_TYPE, "--event-topic")
        candidates = [input_topic] if input_topic else ["applied_input", "command"]
        input_name = _require_topic(bag_path, available, candidates, INPUT_TYPE, "--command-topic")
        raw: dict[str, list[tuple[int, bytes]]] = {state_name: [], event_name: [], input_name: []}
        wanted = [c for c in reader.connections if c.topic in raw]
        try:
            for connection, timestamp, data in reader.messages(connections=wanted):
                raw[connection.topic].append((timestamp, bytes(data)))
        except Exception as error:
            raise CorruptBagError(f"{bag_path}: bag is truncated or corrupt: {error}") from error
    try:
        states = _vectors(store, raw[state_name], STATE_TYPE, state_name, bag_path)
        inputs = _vectors(store, raw[input_name], INPUT_TYPE, input_name, bag_path)
        events = _events(store, raw[event_name])
    except BagError:
        raise
    except Exception as error:
        raise CorruptBagError(f"{bag_path}: cannot deserialize messages: {error}") from error
    period_ns = _period_ns(custom, states, bag_path)
    source = source or custom.get("operator") or "bag"
    demos = []
    for start, end in _episode_bounds(events, bag_path):
        try:
            demos.append(_episode_demo(states, inputs, start, end, period_ns, input_name, source, bag_path))
        except ValueError as problem:
            LOG.warning("%s: skipping episode %d (seed %d): %s", bag_path, start.episode_index, start.seed, problem)
    return demos


def _require_topic(bag: Path, available: dict[str, str], names: Sequence[str], msgtype: str, option: str) -> str:
    for name in names:
        if topic_name(name) in available:
            found = available[topic_name(name)]
            if found != msgtype:
                raise MissingTopicError(f"{bag}: topic {topic_name(name)} has type {found}, expected {msgtype}")
            return topic_name(name)
    listing = ", ".join(f"{t} ({m})" for t, m in sorted(available.items())) or "none"
    same_type = [t for t, m in available.items() if m == msgtype]
    hint = f"; topics of type {msgtype}: {', '.join(sorted(same_type))} (choose with {option})" if same_type else ""
    wanted = " or ".join(topic_name(n) for n in names)
    raise MissingTopicError(f"{bag}: missing topic {wanted} ({msgtype}); the bag has: {listing}{hint}")


def _vectors(store: Typestore, raw: list[tuple[int, bytes]], msgtype: str, topic: str, bag: Path) -> _Vectors:
    """Deserialize StateVector/InputVector messages; reorder by the first message's names.

    Messages whose names do not contain the first message's names or hold non-finite values are
    dropped with one warning (the simulator rejects such commands too).
    """
    names: tuple[str, ...] | None = None
    rows: dict[int, np.ndarray] = {}
    dropped = 0
    for _, data in raw:
        message = store.deserialize_cdr(data, msgtype)
        values = np.asarray(message.values, dtype=float)
        message_names = tuple(message.names)
        if names is None:
            names = message_names
        if len(message_names) != len(values) or not set(names) <= set(message_names) or len(set(message_names)) != len(message_names):
            dropped += 1
            continue
        index = {name: i for i, name in enumerate(message_names)}
        ordered = values[[index[name] for name in names]]
        if not np.all(np.isfinite(ordered)):
            dropped += 1
            continue
        rows[stamp_ns(message.header.stamp)] = ordered  # a repeated stamp keeps the later message
    if dropped:
        LOG.warning("%s: dropped %d %s message(s) with other names or non-finite values", bag, dropped, topic)
    if not rows:
        raise MissingTopicError(f"{bag}: topic {topic} has no usable messages")
    stamps = np.array(sorted(rows), dtype=np.int64)
    return _Vectors(stamps, np.array([rows[s] for s in stamps]), names or ())


def _events(store: Typestore, raw: list[tuple[int, bytes]]) -> list[_Event]:
    events = set()
    for _, data in raw:
        m = store.deserialize_cdr(data, EVENT_TYPE)
        events.add(_Event(stamp_ns(m.header.stamp), int(m.event), m.environment, int(m.seed), int(m.episode_index), float(m.score), m.detail))
    # duplicates (a transient-local re-delivery, two recorders) collapse in the set
    return sorted(events, key=lambda e: (e.stamp, e.event != EVENT_START))


def _period_ns(custom: dict[str, str], states: _Vectors, bag: Path) -> int:
    if "physics_period" in custom:
        return round(float(custom["physics_period"]) * NS)
    diffs = np.diff(states.stamps)
    if len(diffs) == 0:
        raise CorruptBagError(f"{bag}: fewer than two states; cannot tell the physics period")
    return int(np.median(diffs))


def _episode_bounds(events: list[_Event], bag: Path) -> list[tuple[_Event, _Event]]:
    """(START, end event) pairs by episode_index; unmatched ones are warned about."""
    open_starts: dict[int, _Event] = {}
    bounds = []
    for event in events:
        if event.event == EVENT_START:
            if event.episode_index in open_starts:
                LOG.warning("%s: episode %d started twice; keeping the later start", bag, event.episode_index)
            open_starts[event.episode_index] = event
        elif event.episode_index in open_starts:
            bounds.append((open_starts.pop(event.episode_index), event))
        else:
            LOG.warning("%s: %s of episode %d without its START (recording began mid-episode); skipped",
                        bag, EVENT_NAMES.get(event.event, event.event), event.episode_index)
    for start in open_starts.values():
        LOG.warning("%s: episode %d (seed %d) has no end event (recording stopped mid-episode); skipped",
                    bag, start.episode_index, start.seed)
    return bounds


def _episode_demo(
    states: _Vectors, inputs: _Vectors, start: _Event, end: _Event, period_ns: int, input_topic: str,
    source: str, bag: Path,
) -> Demo:
    """One Demo from the states in [start, end] and the inputs in effect (raises ValueError)."""
    tolerance = max(1, period_ns // 4)
    first = np.searchsorted(states.stamps, start.stamp - tolerance, side="left")
    last = np.searchsorted(states.stamps, end.stamp + tolerance, side="right")
    stamps, values = states.stamps[first:last], states.values[first:last]
    if len(stamps) < 2:
        raise ValueError(f"{len(stamps)} state(s) between its START and {EVENT_NAMES.get(end.event)}")
    if abs(stamps[0] - start.stamp) > tolerance:
        raise ValueError(f"its first state is {(stamps[0] - start.stamp) / NS:.3f} s after START (recording began late)")
    if abs(stamps[-1] - end.stamp) > tolerance:
        raise ValueError(f"its last state is {(end.stamp - stamps[-1]) / NS:.3f} s before the end event (recording stopped early)")
    gaps = np.flatnonzero(np.abs(np.diff(stamps) - period_ns) > tolerance)
    if len(gaps):
        raise ValueError(
            f"{len(gaps)} irregular state interval(s), first after t={stamps[gaps[0]] / NS:.3f} s "
            f"(states lost; the period is {period_ns / NS} s)"
        )
    # input in effect during step k (t_k -> t_{k+1}): latest input stamped in [t_0, t_{k+1})
    in_episode = (inputs.stamps >= start.stamp - tolerance) & (inputs.stamps < end.stamp)
    input_stamps, input_values = inputs.stamps[in_episode], inputs.values[in_episode]
    if len(input_stamps) == 0:
        raise ValueError(f"no {input_topic} message stamped within the episode (are all nodes on sim time?)")
    step_ends = stamps[1:] - tolerance
    latest = np.searchsorted(input_stamps, step_ends, side="right") - 1
    commanded = np.flatnonzero(latest >= 0)
    skip = int(commanded[0])  # leading steps before the first input
    latest = latest[skip:]
    step_starts = stamps[skip:-1]
    hold = (step_starts - input_stamps[latest]) / NS
    extra = {
        "bag": str(bag),
        "episode_index": start.episode_index,
        "end_event": EVENT_NAMES.get(end.event, str(end.event)),
        "score": end.score,
        "input_topic": input_topic,
        "start_time": int(stamps[skip]) / NS,
    }
    if end.detail:
        extra["detail"] = end.detail
    if skip:
        extra["dropped_leading_states"] = skip
    if len(hold):
        extra["max_input_hold_s"] = float(max(0.0, hold.max()))
    return Demo(
        states=values[skip:], inputs=input_values[latest], period=period_ns / NS,
        state_names=states.names, input_names=inputs.names, env=start.environment, seed=start.seed,
        success=end.event == EVENT_SUCCESS, source=source, extra=extra,
    )


# --------------------------------------------------------------------------- repair
TRUNCATED_SUFFIX = ".truncated"


def repair_bag(path: str | os.PathLike) -> Path:
    """Rewrite an MCAP bag whose writer died (SIGKILL, power loss) as a complete bag.

    `path`: the bag directory or its .mcap file. Every complete MCAP chunk is kept: the storage
    file is read with the `mcap` package's stream reader up to its first incomplete record and
    written again with rosbags (summary, index and metadata.yaml included). custom_data and the
    type hashes come from the metadata.yaml snapshot the recorder keeps writing; hint.episodes
    becomes the episodes whose end event survived, so the conversion ends at the last complete
    episode (the cut one is skipped with a warning). The original files stay in
    ``<bag>.truncated/`` with the suffix .truncated (so they are not found as a bag again).
    Returns the repaired bag directory; raises CorruptBagError when nothing is recoverable.
    """
    bag_dir, storage_file = _bag_storage_file(Path(path))
    backup = bag_dir.with_name(bag_dir.name + TRUNCATED_SUFFIX)
    if backup.exists():
        raise BagError(f"{bag_dir}: {backup} exists already (repaired before?); move it away to repair again")
    snapshot = _metadata_snapshot(bag_dir)
    moves = _set_aside(bag_dir, storage_file, backup)
    try:
        messages = _recover_bag(moves[storage_file], bag_dir, snapshot)
    except BaseException:
        if bag_dir.exists():
            shutil.rmtree(bag_dir)
        _undo(moves, bag_dir, backup)
        raise
    LOG.warning("%s: repaired: kept %d message(s) of its complete chunks; originals in %s", bag_dir, messages, backup)
    return bag_dir


def _bag_storage_file(path: Path) -> tuple[Path, Path]:
    """(bag directory, its .mcap file) of a bag directory or an .mcap file."""
    if path.is_dir():
        files = sorted(path.glob("*.mcap"))
        if len(files) != 1:
            raise CorruptBagError(f"{path}: expected one .mcap file to repair, found {len(files)}")
        return path, files[0]
    if path.suffix != ".mcap" or not path.is_file():
        raise CorruptBagError(f"{path}: not an MCAP bag (only MCAP bags can be repaired)")
    return (path.parent if path.parent.name == path.stem else path.with_suffix("")), path


def _metadata_snapshot(bag_dir: Path) -> dict[str, Any]:
    """The bag's metadata.yaml as a dict ({} when absent or unreadable)."""
    try:
        with (bag_dir / "metadata.yaml").open(encoding="utf8") as stream:
            return YAML(typ="safe").load(stream)["rosbag2_bagfile_information"] or {}
    except Exception:  # noqa: BLE001 - a killed writer may have left no or a broken snapshot
        return {}


def _set_aside(bag_dir: Path, storage_file: Path, backup: Path) -> dict[Path, Path]:
    """Move the bag's files into `backup` with the .truncated suffix; original -> new path."""
    originals = [storage_file] + ([bag_dir / "metadata.yaml"] if (bag_dir / "metadata.yaml").is_file() else [])
    if storage_file.parent == bag_dir:
        bag_dir.rename(backup)
    else:
        backup.mkdir()
        storage_file.rename(backup / storage_file.name)
    moves = {}
    for original in originals:
        inside = backup / original.name
        target = inside.with_name(inside.name + TRUNCATED_SUFFIX)
        inside.rename(target)
        moves[original] = target
    return moves


def _undo(moves: dict[Path, Path], bag_dir: Path, backup: Path) -> None:
    for original, moved in moves.items():
        moved.rename(backup / original.name)
    if next(iter(moves)).parent == bag_dir:
        backup.rename(bag_dir)
    else:
        for original in moves:
            (backup / original.name).rename(original)
        backup.rmdir()


def _recover_bag(source: Path, bag_dir: Path, snapshot: dict[str, Any]) -> int:
    """Copy the complete chunks' messages of `source` into a new bag at `bag_dir`; their number."""
    from mcap.exceptions import McapError
    from mcap.records import Channel, Message, Schema
    from mcap.stream_reader import StreamReader

    hashes = {t["topic_metadata"]["name"]: t["topic_metadata"].get("type_description_hash")
              for t in snapshot.get("topics_with_message_count") or []}
    schemas: dict[int, Any] = {}
    topics: dict[int, str] = {}
    event_channels: set[int] = set()
    events: list[tuple[int, bytes]] = []
    count = 0
    with source.open("rb") as stream, BagWriter(bag_dir) as bag:
        try:
            for record in StreamReader(stream).records:
                if isinstance(record, Schema):
                    schemas[record.id] = record
                elif isinstance(record, Channel):
                    schema = schemas[record.schema_id]
                    qos = parse_qos(record.metadata.get("offered_qos_profiles", "") or [])
                    try:
                        bag.add_topic(record.topic, schema.name, msgdef=schema.data.decode(),
                                      rihs01=hashes.get(record.topic), qos=qos)
                        topics[record.id] = record.topic
                        if schema.name == EVENT_TYPE:
                            event_channels.add(record.id)
                    except KeyError as error:
                        LOG.warning("%s: dropping topic %s: %s (no type hash in metadata.yaml)", source, record.topic, error)
                elif isinstance(record, Message) and record.channel_id in topics:
                    bag.write_raw(topics[record.channel_id], record.log_time, record.data)
                    count += 1
                    if record.channel_id in event_channels:
                        events.append((record.log_time, bytes(record.data)))
        except (McapError, EOFError, ValueError, KeyError) as error:  # the first incomplete record
            LOG.info("%s: stopped at an incomplete record (%s)", source, type(error).__name__)
        if not count:
            raise CorruptBagError(f"{source}: no complete MCAP chunk with messages; nothing to recover")
        for key, value in (snapshot.get("custom_data") or {}).items():
            if key.startswith(CUSTOM_PREFIX):
                bag.set_custom(key[len(CUSTOM_PREFIX):], str(value))
        finished = [
            {"episode_index": start.episode_index, "seed": start.seed,
             "event": EVENT_NAMES.get(end.event, str(end.event)), "score": end.score}
            for start, end in _episode_bounds(_events(bag.store, events), bag_dir)
        ]
        bag.set_custom("episodes", finished)
        bag.set_custom("repaired", f"from {source.name}: {count} message(s) of its complete chunks")
    return count
