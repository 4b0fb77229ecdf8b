"""Live node graph: does the controller ever wait for the policy? (policy.chunk_slack_ms.*)

Starts the PushT simulation graph (simulator, controller, policy with the shipped checkpoint;
the processes of ``python -m hint_bringup.run pusht_sim``) on a private ROS domain for
``DURATION`` seconds of wall time and watches ``composite_action`` and ``/clock``.

Chunk i is stamped with the time of the observation it was conditioned on and holds
``chunk_length`` knots; the controller runs out of reference when the sim clock passes the end of
the chunk it executes. The slack of chunk i is the end of chunk i - 1's reference minus the sim
time at which chunk i arrived here (a subscriber on the same machine as the controller):
positive means the controller still had reference left, never negative means it never waited.
"""

from __future__ import annotations

import os
import time

import numpy as np

DURATION = 25.0  # s of wall time, about 30 chunks at 0.8 s per chunk


def _watch(duration: float) -> tuple[list[tuple[float, float, int, float]], int]:
    """(arrival sim time, stamp, knots, period) per chunk, and how many clock messages arrived."""
    import rclpy
    from hint_msgs.msg import CompositeAction
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from hint_msgs.conversions import stamp_to_seconds
    from rosgraph_msgs.msg import Clock

    rclpy.init()
    node = rclpy.create_node("hint_bench_slack")
    clock = {"now": float("nan"), "count": 0}
    chunks: list[tuple[float, float, int, float]] = []

    def on_clock(msg: Clock) -> None:
        clock["now"] = stamp_to_seconds(msg.clock)
        clock["count"] += 1

    def on_chunk(msg: CompositeAction) -> None:
        chunks.append((clock["now"], stamp_to_seconds(msg.header.stamp), int(msg.length), float(msg.knot_period)))

    node.create_subscription(Clock, "/clock", on_clock, QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT))
    node.create_subscription(CompositeAction, "composite_action", on_chunk,
                             QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    deadline = time.monotonic() + duration
    try:
        while time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return chunks, clock["count"]


def chunk_slack_ms(chunks: list[tuple[float, float, int, float]]) -> np.ndarray:
    """Slack (ms) of every chunk after the first: end of the previous chunk's reference - arrival."""
    slack = [
        1000.0 * (previous[1] + previous[2] * previous[3] - current[0])
        for previous, current in zip(chunks[:-1], chunks[1:])
    ]
    return np.array(slack)


def run(report) -> None:
    from hint_bringup.graphs import graph
    from hint_bringup.run import GraphProcesses, process_specs

    os.environ["ROS_DOMAIN_ID"] = str(100 + os.getpid() % 100)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    processes = GraphProcesses(process_specs(graph("pusht_sim"), {}), quiet=True)
    try:
        chunks, clocks = _watch(DURATION)
    finally:
        exited = processes.exited()
        processes.stop()
    if exited:
        raise RuntimeError(f"graph processes exited early: {exited}")
    slack = chunk_slack_ms([c for c in chunks if np.isfinite(c[0])])
    if len(slack) < 5:
        raise RuntimeError(f"only {len(chunks)} chunks ({clocks} clock messages) in {DURATION} s")
    note = (f"pusht_sim graph with the shipped checkpoint, {len(slack)} chunks over {DURATION:.0f} s wall; "
            "end of the previous chunk's reference minus the sim time a chunk arrived")
    report("policy.chunk_slack_ms.min", float(slack.min()), "ms", "minimum; " + note)
    report("policy.chunk_slack_ms.median", float(np.median(slack)), "ms", "median; " + note)
