"""Controller node timing: the real node process for 10 s while chunks arrive, at 500 and 1000 Hz.

The 1000 Hz run is repeated with ``realtime_priority:=50`` (SCHED_FIFO command thread, figures
``*.1000hz_fifo``); the note says whether the system granted it.

A driver node in this process publishes the planar quadrotor's state at 200 Hz and a new
composite action every 0.1 s (as a policy would); it records every command the controller
publishes. Periods are measured from the commands' header stamps (taken by the controller when
it computes each command), so DDS delivery jitter does not count; lost commands do count against
the rate.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DURATION_S = 10.0
ROOT = Path(__file__).resolve().parents[1]


def _isolate_ros_traffic() -> None:
    """This process and its children: a domain of their own, peers on this machine only."""
    os.environ.setdefault("ROS_DOMAIN_ID", str(10 + os.getpid() % 90))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.setdefault("FASTRTPS_DEFAULT_PROFILES_FILE", str(ROOT / "test" / "fastdds_localhost.xml"))


def _measure(rate_hz: float, realtime_priority: int = 0) -> tuple[float, np.ndarray, str]:
    """(achieved / requested rate, |period errors| [ms], the controller's log)."""
    import rclpy
    from hint_controller.composite_action import CompositeAction
    from hint_controller.dynamics.planar_quadrotor import PlanarQuadrotor
    from hint_controller.action_messages import action_to_msg
    from hint_msgs.conversions import vector_to_msg
    from hint_msgs.msg import CompositeAction as CompositeActionMsg
    from hint_msgs.msg import InputVector, StateVector
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    model = PlanarQuadrotor(period=0.01)
    _isolate_ros_traffic()
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "hint_controller.controller_node", "--ros-args",
         "-p", f"rate_hz:={rate_hz}", "-p", f"realtime_priority:={realtime_priority}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    rclpy.init()
    node = rclpy.create_node("controller_bench_driver")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    stamps: list[int] = []
    best_effort = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    node.create_subscription(
        InputVector, "command", lambda m: stamps.append(m.header.stamp.sec * 10**9 + m.header.stamp.nanosec),
        QoSProfile(depth=1000, reliability=ReliabilityPolicy.BEST_EFFORT),
    )
    state_pub = node.create_publisher(StateVector, "state", best_effort)
    chunk_pub = node.create_publisher(CompositeActionMsg, "composite_action", QoSProfile(depth=4, reliability=ReliabilityPolicy.RELIABLE))
    x = np.array([0.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    sequence = [0]

    def now() -> float:
        return node.get_clock().now().nanoseconds * 1e-9

    def publish_chunk() -> None:
        sequence[0] += 1
        length = 16
        action = CompositeAction(
            np.tile(x, (length, 1)), np.full((length, 2), model.hover_thrust), np.zeros((length, 2, 6)) - 0.5,
            period=0.05, start_time=now() + 0.05, state_names=model.state_names, input_names=model.input_names,
            sequence=sequence[0],
        )
        chunk_pub.publish(action_to_msg(action))

    node.create_timer(0.005, lambda: state_pub.publish(vector_to_msg(StateVector, model.state_names, x, stamp=now())))
    node.create_timer(0.1, publish_chunk)
    try:
        deadline = time.monotonic() + 30
        while len(stamps) < 50 and time.monotonic() < deadline:  # discovery and start-up
            executor.spin_once(timeout_sec=0.01)
        stamps.clear()
        end = time.monotonic() + DURATION_S
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.01)
    finally:
        process.send_signal(subprocess.signal.SIGINT)
        process.wait(timeout=10)
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown()
    log.seek(0)
    output = log.read()
    log.close()
    received = np.array(sorted(stamps), dtype=np.int64)
    if len(received) < 2:
        return 0.0, np.array([np.nan]), output
    span = (received[-1] - received[0]) * 1e-9
    achieved = (len(received) - 1) / span
    period_error_ms = np.abs(np.diff(received) * 1e-6 - 1000.0 / rate_hz)
    return achieved / rate_hz, period_error_ms, output


def run(report) -> None:
    note = f"controller node process, {DURATION_S:.0f} s, state 200 Hz + chunk every 0.1 s; from command stamps"
    for rate, priority, suffix in ((500, 0, "500hz"), (1000, 0, "1000hz"), (1000, 50, "1000hz_fifo")):
        ratio, errors, output = _measure(float(rate), priority)
        where = note
        if priority:
            granted = "runs SCHED_FIFO" in output
            where = f"{note}; realtime_priority {priority}: " + ("granted" if granted else "REFUSED, default scheduler")
        report(f"controller.rate_ratio.{suffix}", ratio, "ratio", f"achieved/requested command rate; {where}")
        if rate == 1000:
            report(f"controller.period_err_ms.p99.{suffix}", float(np.percentile(errors, 99)), "ms", f"p99 |period - 1 ms|; {where}")
            report(f"controller.period_err_ms.max.{suffix}", float(np.max(errors)), "ms", f"max |period - 1 ms|; {where}")
