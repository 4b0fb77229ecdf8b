"""The storage files of a rosbag2 bag, written with public APIs: MCAP with the `mcap` package's
Writer, sqlite3 with Python's sqlite3 module.

Both lay a bag out as rosbag2 does (Jazzy, metadata version 9), so ``ros2 bag``, rosbags, `mcap`
and Foxglove read it. Each can make what was written so far durable
(:meth:`flush`) without closing the file, which lets a recorder survive being killed.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from pathlib import Path

from mcap.writer import CompressionType
from mcap.writer import Writer as McapFileWriter

#: bytes of messages after which the pending MCAP chunk is written out (rosbag2's resilient
#: preset uses 768 KiB)
DEFAULT_CHUNK_SIZE = 786_432

#: the rosbag2 metadata version the storages and metadata.yaml follow
METADATA_VERSION = 9
ROS_DISTRO = "jazzy"


@dataclasses.dataclass(frozen=True)
class Topic:
    """A topic as rosbag2 stores it: id (from 1, in the order added), name, type and definition."""

    id: int
    name: str
    msgtype: str
    msgdef: str
    rihs01: str
    serialization_format: str
    offered_qos_profiles: str  # YAML text, as rosbag2 stores it with the topic

    @property
    def msgdef_encoding(self) -> str:
        return "ros2idl" if self.msgdef.startswith("=" * 80 + "\nIDL: ") else "ros2msg"


class McapStorage:
    """An MCAP file of uncompressed chunks of at most about `chunk_size` bytes of records.

    A chunk is complete on disk once written out: when it outgrows `chunk_size`, at
    :meth:`flush` and at :meth:`close`. A file cut short (killed writer) therefore holds every
    chunk written before; schemas and channels travel in the chunk of their first messages.
    """

    suffix = ".mcap"

    def __init__(self, path: Path, chunk_size: int) -> None:
        self.path = path
        self._stream = path.open("xb")
        self._writer = McapFileWriter(self._stream, chunk_size=chunk_size, compression=CompressionType.NONE)
        self._writer.start(profile="ros2")
        self._schemas: dict[str, int] = {}
        self._channels: dict[int, int] = {}

    def add_topic(self, topic: Topic) -> None:
        if topic.msgtype not in self._schemas:
            self._schemas[topic.msgtype] = self._writer.register_schema(
                topic.msgtype, topic.msgdef_encoding, topic.msgdef.encode()
            )
        self._channels[topic.id] = self._writer.register_channel(
            topic.name, topic.serialization_format, self._schemas[topic.msgtype],
            {"offered_qos_profiles": topic.offered_qos_profiles},
        )

    def write(self, topic: Topic, timestamp_ns: int, data: bytes | memoryview) -> None:
        self._writer.add_message(self._channels[topic.id], timestamp_ns, bytes(data), timestamp_ns)

    def flush(self) -> None:
        """Write the pending chunk (if it holds messages) and fsync the file."""
        self._writer.flush()
        os.fsync(self._stream.fileno())

    def close(self, metadata: str) -> None:
        """Write the last chunk, the rosbag2 metadata record, the summary and the footer."""
        self._writer.flush()
        self._writer.add_metadata("rosbag2", {"serialized_metadata": metadata})
        self._writer.finish()
        self._stream.close()


class Sqlite3Storage:
    """An sqlite3 database in rosbag2's schema 4; writes stay in one transaction until :meth:`flush`."""

    suffix = ".db3"
    SCHEMA = f"""
    CREATE TABLE schema(schema_version INTEGER PRIMARY KEY, ros_distro TEXT NOT NULL);
    CREATE TABLE metadata(id INTEGER PRIMARY KEY, metadata_version INTEGER NOT NULL, metadata TEXT NOT NULL);
    CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
                        serialization_format TEXT NOT NULL, offered_qos_profiles TEXT NOT NULL,
                        type_description_hash TEXT NOT NULL);
    CREATE TABLE message_definitions(id INTEGER PRIMARY KEY, topic_type TEXT NOT NULL, encoding TEXT NOT NULL,
                                     encoded_message_definition TEXT NOT NULL,
                                     type_description_hash TEXT NOT NULL);
    CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, timestamp INTEGER NOT NULL,
                          data BLOB NOT NULL);
    CREATE INDEX timestamp_idx ON messages (timestamp ASC);
    INSERT INTO schema(schema_version, ros_distro) VALUES (4, '{ROS_DISTRO}');
    """

    def __init__(self, path: Path, chunk_size: int) -> None:
        del chunk_size  # sqlite3 has no chunks
        self.path = path
        self._connection = sqlite3.connect(f"file:{path}?mode=rwc", uri=True)
        self._connection.executescript(self.SCHEMA)
        self._types: set[str] = set()

    def add_topic(self, topic: Topic) -> None:
        if topic.msgtype not in self._types:
            self._connection.execute(
                "INSERT INTO message_definitions (topic_type, encoding, encoded_message_definition, "
                "type_description_hash) VALUES (?, ?, ?, ?)",
                (topic.msgtype, topic.msgdef_encoding, topic.msgdef, topic.rihs01),
            )
            self._types.add(topic.msgtype)
        self._connection.execute(
            "INSERT INTO topics VALUES (?, ?, ?, ?, ?, ?)",
            (topic.id, topic.name, topic.msgtype, topic.serialization_format, topic.offered_qos_profiles, topic.rihs01),
        )

    def write(self, topic: Topic, timestamp_ns: int, data: bytes | memoryview) -> None:
        self._connection.execute(
            "INSERT INTO messages (topic_id, timestamp, data) VALUES (?, ?, ?)", (topic.id, timestamp_ns, data)
        )

    def flush(self) -> None:
        """Commit the open transaction (sqlite3 makes a commit durable)."""
        self._connection.commit()

    def close(self, metadata: str) -> None:
        self._connection.execute(
            "INSERT INTO metadata (metadata_version, metadata) VALUES (?, ?)", (METADATA_VERSION, metadata)
        )
        self._connection.commit()
        self._connection.execute("PRAGMA optimize")
        self._connection.close()


STORAGES: dict[str, type[McapStorage] | type[Sqlite3Storage]] = {"mcap": McapStorage, "sqlite3": Sqlite3Storage}
