"""BagWriter: a rosbag2 bag being written, topic by topic, with hint's custom metadata, durable up
to its last :meth:`BagWriter.flush`."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from io import StringIO
from pathlib import Path
from typing import Any

from rosbags.rosbag2.metadata import dump_qos_v9
from ruamel.yaml import YAML

from hint_bringup.bags.storage import DEFAULT_CHUNK_SIZE, METADATA_VERSION, ROS_DISTRO, STORAGES, Topic
from hint_bringup.bags.types import make_typestore, topic_name

#: the prefix of hint's entries in a bag's custom_data
CUSTOM_PREFIX = "hint."


class BagWriter:
    """A rosbag2 bag being written: topics, raw CDR or rosbags messages, custom metadata.

    The bag directory must not exist yet (nothing is ever overwritten). Use as a context manager
    or call :meth:`close`, which finishes the storage file and writes metadata.yaml. For crash
    safety call :meth:`flush` periodically: it writes the pending MCAP chunk (or commits the
    sqlite3 transaction), fsyncs the storage file and writes a metadata.yaml snapshot, so a killed
    writer loses only what arrived since the last flush and :func:`repair_bag` can recover the
    rest. An MCAP chunk is also written out once it holds more than `chunk_size` bytes.
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
        self.path.mkdir(mode=0o755, parents=True)
        storage_class = STORAGES[storage]
        self._file = storage_class(self.path / (self.path.name + storage_class.suffix), self.chunk_size)
        self._topics: dict[str, Topic] = {}
        self._qos: dict[str, list[Any]] = {}
        self._custom: dict[str, str] = {}
        self._first_ns: int | None = None
        self._last_ns = 0
        self.message_counts: dict[str, int] = {}

    def add_topic(self, topic: str, msgtype: str, *, msgdef: str | None = None, rihs01: str | None = None,
                  qos: Sequence[Any] = ()) -> None:
        """Declare `topic` of type `msgtype` ("pkg/msg/Name").

        The definition comes from the bag type store, or from `msgdef` and `rihs01` (a type the
        store does not know, e.g. when repairing a foreign bag); otherwise KeyError. `qos`: the
        offered QoS profiles (rosbags Qos objects) stored with the topic.
        """
        topic = topic_name(topic)
        if topic in self._topics:
            return
        if msgtype in self.store.types:
            msgdef, _ = self.store.generate_msgdef(msgtype, ros_version=2)
            rihs01 = self.store.hash_rihs01(msgtype)
        elif msgdef is None or not rihs01:
            raise KeyError(f"message type {msgtype} is unknown to the bag type store")
        self._qos[topic] = list(qos)
        self._topics[topic] = Topic(
            id=len(self._topics) + 1, name=topic, msgtype=msgtype, msgdef=msgdef, rihs01=rihs01,
            serialization_format="cdr", offered_qos_profiles=_yaml_text(dump_qos_v9(self._qos[topic])),
        )
        self._file.add_topic(self._topics[topic])
        self.message_counts[topic] = 0

    def has_topic(self, topic: str) -> bool:
        return topic_name(topic) in self._topics

    def write_raw(self, topic: str, timestamp_ns: int, data: bytes) -> None:
        """Write CDR bytes (e.g. from an rclpy raw subscription) received at `timestamp_ns`."""
        topic = topic_name(topic)
        timestamp_ns = int(timestamp_ns)
        self._file.write(self._topics[topic], timestamp_ns, data)
        self.message_counts[topic] += 1
        self._first_ns = timestamp_ns if self._first_ns is None else min(self._first_ns, timestamp_ns)
        self._last_ns = max(self._last_ns, timestamp_ns)

    def write(self, topic: str, timestamp_ns: int, message: Any) -> None:
        """Serialize a rosbags message object and write it."""
        self.write_raw(topic, timestamp_ns, self.store.serialize_cdr(message, message.__msgtype__))

    def set_custom(self, key: str, value: Any) -> None:
        """Store `value` (str, or JSON-encoded otherwise) as custom_data "hint.<key>"."""
        self._custom[CUSTOM_PREFIX + key] = value if isinstance(value, str) else json.dumps(value)

    def flush(self) -> None:
        """Make everything written so far survive a crash of this process (and of the machine)."""
        self._file.flush()
        self._write_metadata()

    def close(self) -> Path:
        """Finish the storage file and write metadata.yaml."""
        self._file.close(_yaml_text(self._information()))
        self._write_metadata()
        return self.path

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def _information(self) -> dict[str, Any]:
        """rosbag2_bagfile_information of what was written so far."""
        count = sum(self.message_counts.values())
        start = self._first_ns if self._first_ns is not None else 0
        duration = self._last_ns - start if count else 0
        file_name = self._file.path.name
        return {
            "version": METADATA_VERSION,
            "storage_identifier": self.storage,
            "relative_file_paths": [file_name],
            "duration": {"nanoseconds": duration},
            "starting_time": {"nanoseconds_since_epoch": start},
            "message_count": count,
            "topics_with_message_count": [
                {
                    "topic_metadata": {
                        "name": t.name, "type": t.msgtype, "serialization_format": t.serialization_format,
                        "offered_qos_profiles": dump_qos_v9(self._qos[t.name]),
                        "type_description_hash": t.rihs01,
                    },
                    "message_count": self.message_counts[t.name],
                }
                for t in self._topics.values()
            ],
            "compression_format": "",
            "compression_mode": "",
            "files": [{"path": file_name, "starting_time": {"nanoseconds_since_epoch": start},
                       "duration": {"nanoseconds": duration}, "message_count": count}],
            "custom_data": dict(self._custom) or None,
            "ros_distro": ROS_DISTRO,
        }

    def _write_metadata(self) -> None:
        """metadata.yaml, replaced atomically and fsynced."""
        path = self.path / "metadata.yaml"
        temporary = path.with_name(path.name + ".tmp")
        with temporary.open("w", encoding="utf8") as stream:
            stream.write(_yaml_text({"rosbag2_bagfile_information": self._information()}) + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)


def _yaml_text(content: Any) -> str:
    """Block-style YAML, as rosbag2 writes metadata."""
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    text = StringIO()
    yaml.dump(content, text)
    return text.getvalue().strip()
