"""Record hint episodes into a rosbag2 bag (MCAP) without rosbag2, using `rosbags`.

    python -m hint_bringup.recorder_node --ros-args -p operator:=teleop -p output_dir:=bags \
        [-p bag_name:=my_session] [-p max_episodes:=50] [-p use_sim_time:=true]

Records the topics state, applied_input, command, composite_action and episode_event (parameter
`topics`) into ``<output_dir>/<bag_name>/`` (default name ``<operator>_<environment>_<date-time>``);
see :mod:`hint_bringup.bags` for the layout and the metadata stored in the bag's custom_data
(operator, environment, the finished episodes). Convert with
``python -m hint_bringup.bag_to_dataset <output_dir> --out data/x.npz``.

Like ``ros2 bag record``, it subscribes to a topic once a publisher of it is discovered and takes
the publishers' QoS: RELIABLE when every publisher offers it (so no state is lost), otherwise
BEST_EFFORT; TRANSIENT_LOCAL when every publisher offers it. Messages arrive as raw CDR bytes
(no deserialization) and are stamped with the node clock's receive time (sim time with
use_sim_time). The bag is closed (metadata.yaml written) on SIGINT / SIGTERM (after taking
for `DRAIN_S` what already arrived) or after `max_episodes` finished episodes. Crash safety:
every `flush_period` (0.5 s) the pending MCAP chunk is written and fsynced and metadata.yaml
(written at start) is updated, so SIGKILL or a power loss costs at most that much data;
``python -m hint_bringup.bag_to_dataset --repair`` (:func:`hint_bringup.bags.repair_bag`)
restores such a bag. Discovery runs on
wall time, so a simulator that waits for the recorder before starting its clock
(``wait_for_subscribers``) is found.
"""

from __future__ import annotations

import datetime
import importlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from hint_controller.node_main import run_node
from hint_controller.parameter_schema import (
    AT_LEAST_ONE, DOUBLE, INTEGER, NON_NEGATIVE, STRING, STRING_ARRAY, ParameterSpec, Range, declare_checked
)
from hint_bringup.bags import DEFAULT_CHUNK_SIZE, DEFAULT_TOPICS, EVENT_TYPE, BagWriter
from hint_bringup.simulation import EVENT_NAMES, EVENT_START

#: wall seconds the recorder keeps taking messages after SIGINT / SIGTERM before it closes the bag
DRAIN_S = 0.3

PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("operator", STRING, "expert", None, "Who acts in the recorded episodes: expert, teleop, policy ... (the demos' source).", non_empty=True),
    ParameterSpec("environment", STRING, "", None, "Environment name for the metadata; empty = taken from the first episode event."),
    ParameterSpec("output_dir", STRING, "bags", None, "Folder in which the bag directory is created.", non_empty=True),
    ParameterSpec("bag_name", STRING, "", None, "Bag directory name; empty = <operator>_<environment>_<date-time>."),
    ParameterSpec("topics", STRING_ARRAY, list(DEFAULT_TOPICS), None, "Topics to record (relative names resolve in the node's namespace).", non_empty=True),
    ParameterSpec("storage", STRING, "mcap", None, "rosbag2 storage plugin.", choices=("mcap", "sqlite3")),
    ParameterSpec("queue_depth", INTEGER, 1000, AT_LEAST_ONE, "Subscription queue depth per topic."),
    ParameterSpec("max_episodes", INTEGER, 0, NON_NEGATIVE, "Close the bag and exit after this many finished episodes; 0 = until interrupted."),
    # a flush writes a chunk, fsyncs and rewrites metadata.yaml: more often than 100 Hz only costs disk time
    ParameterSpec("flush_period", DOUBLE, 0.5, Range(0.01, also=(0.0,)), "Seconds between flushes to disk (MCAP chunk written, fsync, metadata.yaml updated): the most a crash of the recorder loses; 0 = only full chunks."),
    ParameterSpec("chunk_size", INTEGER, DEFAULT_CHUNK_SIZE, AT_LEAST_ONE, "Bytes of messages per MCAP chunk at most (smaller chunks: less lost in a crash between flushes, a larger index)."),
)


def message_class(type_name: str) -> type:
    """The rclpy message class of "pkg/msg/Name"."""
    package, _, name = type_name.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), name)


class RecorderNode(Node):
    """Writes the subscribed topics' raw messages into a :class:`hint_bringup.bags.BagWriter`."""

    def __init__(self, **node_kwargs: Any) -> None:
        super().__init__("recorder", **node_kwargs)
        p = declare_checked(self, PARAMETERS)
        self.operator = p["operator"]
        self.environment = p["environment"]
        self.queue_depth = p["queue_depth"]
        self.max_episodes = p["max_episodes"]
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        name = p["bag_name"] or f"{self.operator}_{self.environment or 'hint'}_{stamp}"
        self.bag = BagWriter(Path(p["output_dir"]) / name, storage=p["storage"], chunk_size=p["chunk_size"])
        self.pending = {self.resolve_topic_name(t): t for t in p["topics"]}
        self.episodes: list[dict[str, Any]] = []
        self.finished = False
        self._subscriptions_by_topic: dict[str, Any] = {}
        # discovery runs on wall time: with use_sim_time a simulator that waits for this recorder
        # (wait_for_subscribers) publishes no /clock yet, and a sim-time timer would never fire
        self._discovery_timer = self.create_timer(0.2, self._discover, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self._discover()
        self._write_custom_data()
        self.bag.flush()  # metadata.yaml from the start: a killed recorder leaves a bag that repair_bag restores
        if p["flush_period"] > 0:
            self._flush_timer = self.create_timer(
                p["flush_period"], self.bag.flush, clock=Clock(clock_type=ClockType.STEADY_TIME)
            )
        self.get_logger().info(f"recording {sorted(self.pending)} into {self.bag.path} (operator {self.operator})")

    # ------------------------------------------------------------------ subscriptions
    def _discover(self) -> None:
        """Subscribe to each pending topic once a publisher of it is known, with matching QoS."""
        for topic in list(self.pending):
            publishers = self.get_publishers_info_by_topic(topic)
            if not publishers:
                continue
            type_name = publishers[0].topic_type
            try:
                self.bag.add_topic(topic, type_name)
                msg_class = message_class(type_name)
            except (KeyError, ImportError, AttributeError, ValueError) as error:
                self.get_logger().error(f"not recording {topic} ({type_name}): {error}")
                del self.pending[topic]
                continue
            offered = [info.qos_profile for info in publishers]
            qos = QoSProfile(
                history=HistoryPolicy.KEEP_LAST,
                depth=self.queue_depth,
                reliability=ReliabilityPolicy.RELIABLE
                if all(q.reliability == ReliabilityPolicy.RELIABLE for q in offered)
                else ReliabilityPolicy.BEST_EFFORT,
                durability=DurabilityPolicy.TRANSIENT_LOCAL
                if all(q.durability == DurabilityPolicy.TRANSIENT_LOCAL for q in offered)
                else DurabilityPolicy.VOLATILE,
            )
            callback = (lambda data, t=topic: self._on_message(t, data))
            if type_name == EVENT_TYPE:
                callback = (lambda data, t=topic: self._on_event(t, data))
            self._subscriptions_by_topic[topic] = self.create_subscription(msg_class, topic, callback, qos, raw=True)
            del self.pending[topic]
            self.get_logger().info(
                f"recording {topic} ({type_name}, {qos.reliability.name.lower()}, {qos.durability.name.lower()})"
            )

    # ------------------------------------------------------------------ messages
    def _on_message(self, topic: str, data: bytes) -> None:
        if not self.finished:
            self.bag.write_raw(topic, self.get_clock().now().nanoseconds, data)

    def _on_event(self, topic: str, data: bytes) -> None:
        if self.finished:
            return
        self._on_message(topic, data)
        event = self.bag.store.deserialize_cdr(data, EVENT_TYPE)
        if not self.environment and event.environment:
            self.environment = event.environment
        if event.event == EVENT_START:
            return
        self.episodes.append(
            {"episode_index": int(event.episode_index), "seed": int(event.seed),
             "event": EVENT_NAMES.get(int(event.event), str(event.event)), "score": float(event.score)}
        )
        self.get_logger().info(
            f"episode {event.episode_index} (seed {event.seed}) {self.episodes[-1]['event']}, "
            f"score {event.score:.3f}; {len(self.episodes)} recorded"
        )
        self._write_custom_data()
        if self.max_episodes and len(self.episodes) >= self.max_episodes:
            self.finished = True

    # ------------------------------------------------------------------ closing
    def _write_custom_data(self) -> None:
        """The bag's hint.* metadata (written to disk with the next flush and at close)."""
        self.bag.set_custom("operator", self.operator)
        self.bag.set_custom("environment", self.environment)
        self.bag.set_custom("episodes", self.episodes)
        self.bag.set_custom("recorder", "hint_bringup.recorder_node")

    def close(self) -> Path:
        """Write the metadata and close the bag (idempotent)."""
        if self.bag is None:
            return Path()
        self._write_custom_data()
        path = self.bag.close()
        counts = ", ".join(f"{t} {n}" for t, n in self.bag.message_counts.items())
        self.get_logger().info(f"closed {path}: {len(self.episodes)} finished episode(s); messages: {counts or 'none'}")
        self.bag = None
        return path

    def destroy_node(self) -> None:
        self.close()
        super().destroy_node()


def _drain(node: RecorderNode) -> None:
    """Take for DRAIN_S what already arrived (e.g. the simulator's last end event)."""
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    drain_until = time.monotonic() + DRAIN_S
    while rclpy.ok() and not node.finished and time.monotonic() < drain_until:
        executor.spin_once(timeout_sec=0.02)
    executor.remove_node(node)


def main(args: Sequence[str] | None = None) -> None:
    # run_node: a signal only sets a flag, so no write is cut in half; destroy_node closes the bag
    run_node(RecorderNode, args, name="recorder", done=lambda node: node.finished, before_shutdown=_drain)


if __name__ == "__main__":
    main(sys.argv)
