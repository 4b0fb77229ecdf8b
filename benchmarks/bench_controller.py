"""Controller node timing: the real node process for 10 s while chunks arrive, at 500 and 1000 Hz,
and the Panda behind its position interface at 500 Hz (``*.arm_500hz``, :func:`_measure_arm`);
and valid chunks lost under a flood of malformed ones (:func:`measure_flood`).

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


def _drive_controller(parameters: list[str], setup, remappings: tuple[str, ...] = ()) -> tuple[list[int], str]:
    """Start the controller node with `parameters` (``name:=value``) and `remappings`
    (``from:=to``), let `setup(node, now)` create
    the driver's publishers, timers and its command subscription (it returns the list that
    subscription fills with arrival or stamp times [ns]), spin for DURATION_S after start-up;
    returns (those times, the controller's log)."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    _isolate_ros_traffic()
    log = tempfile.TemporaryFile(mode="w+")
    arguments = [item for parameter in parameters for item in ("-p", parameter)]
    arguments += [item for remapping in remappings for item in ("-r", remapping)]
    process = subprocess.Popen([sys.executable, "-m", "hint_controller.controller_node", "--ros-args", *arguments],
                               stdout=log, stderr=subprocess.STDOUT)
    rclpy.init()
    node = rclpy.create_node("controller_bench_driver")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    stamps = setup(node, lambda: node.get_clock().now().nanoseconds * 1e-9)
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
    return stamps, output


def _rate_and_errors(stamps: list[int], rate_hz: float) -> tuple[float, np.ndarray]:
    """(achieved / requested rate, |period errors| [ms]) of command times [ns]."""
    received = np.array(sorted(stamps), dtype=np.int64)
    if len(received) < 2:
        return 0.0, np.array([np.nan])
    achieved = (len(received) - 1) / ((received[-1] - received[0]) * 1e-9)
    return achieved / rate_hz, np.abs(np.diff(received) * 1e-6 - 1000.0 / rate_hz)


def _measure(rate_hz: float, realtime_priority: int = 0) -> tuple[float, np.ndarray, str]:
    """The planar quadrotor (StateVector in, InputVector out): (achieved / requested rate, |period
    errors| [ms] from the commands' stamps, the controller's log)."""
    from hint_controller.composite_action import CompositeAction
    from hint_controller.dynamics.planar_quadrotor import PlanarQuadrotor
    from hint_controller.action_messages import action_to_msg
    from hint_msgs.conversions import vector_to_msg
    from hint_msgs.msg import CompositeAction as CompositeActionMsg
    from hint_msgs.msg import InputVector, StateVector
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    model = PlanarQuadrotor(period=0.01)
    x = np.array([0.0, 1.0, 0.0, 0.0, 0.0, 0.0])

    def setup(node, now) -> list[int]:
        stamps: list[int] = []
        best_effort = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
        node.create_subscription(
            InputVector, "command", lambda m: stamps.append(m.header.stamp.sec * 10**9 + m.header.stamp.nanosec),
            QoSProfile(depth=1000, reliability=ReliabilityPolicy.BEST_EFFORT),
        )
        state_pub = node.create_publisher(StateVector, "state", best_effort)
        chunk_pub = node.create_publisher(CompositeActionMsg, "composite_action", QoSProfile(depth=4, reliability=ReliabilityPolicy.RELIABLE))
        sequence = [0]

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
        return stamps

    stamps, output = _drive_controller([f"rate_hz:={rate_hz}", f"realtime_priority:={realtime_priority}"], setup)
    return (*_rate_and_errors(stamps, rate_hz), output)


def _measure_arm(rate_hz: float) -> tuple[float, np.ndarray, str]:
    """The Panda behind a position interface, as arm_sim and a real arm run it (JointState in,
    Float64MultiArray out, the position servo model with TVLQR gains): (achieved / requested rate,
    |period errors| [ms] from arrival times, as Float64MultiArray has no stamp; the log)."""
    from hint_controller.composite_action import CompositeAction
    from hint_controller.action_messages import action_to_msg
    from hint_controller.dynamics import make_model
    from hint_controller.robots import ROBOTS
    from hint_controller.tvlqr import TVLQRConfig
    from hint_msgs.msg import CompositeAction as CompositeActionMsg
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray

    joints = list(ROBOTS["panda"].joints)
    model = make_model("position_servo", 0.01, "panda")
    q = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])
    x = np.concatenate([q, np.zeros(7)])
    length = 16
    gains = TVLQRConfig(terminal="dare").synthesis(model)(np.tile(x, (length + 1, 1)), np.tile(q, (length, 1)))

    def setup(node, now) -> list[int]:
        arrivals: list[int] = []
        node.create_subscription(Float64MultiArray, "position_controller/commands",
                                 lambda m: arrivals.append(time.monotonic_ns()),
                                 QoSProfile(depth=1000, reliability=ReliabilityPolicy.BEST_EFFORT))
        state_pub = node.create_publisher(JointState, "joint_states", QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
        chunk_pub = node.create_publisher(CompositeActionMsg, "composite_action", QoSProfile(depth=4, reliability=ReliabilityPolicy.RELIABLE))
        sequence = [0]

        def publish_state() -> None:
            message = JointState(name=joints, position=q.tolist(), velocity=[0.0] * len(joints))
            message.header.stamp = node.get_clock().now().to_msg()
            state_pub.publish(message)

        def publish_chunk() -> None:
            sequence[0] += 1
            action = CompositeAction(np.tile(x, (length, 1)), np.tile(q, (length, 1)), gains, period=0.05,
                                     start_time=now() + 0.05, state_names=model.state_names,
                                     input_names=model.input_names, sequence=sequence[0])
            chunk_pub.publish(action_to_msg(action))

        node.create_timer(0.005, publish_state)
        node.create_timer(0.1, publish_chunk)
        return arrivals

    parameters = [f"rate_hz:={rate_hz}", "model:=position_servo", "urdf_path:=panda", "state_source:=joint_state",
                  "command_format:=float64_multi_array", "command_interface:=position",
                  f"joint_names:=[{','.join(joints)}]", "state_timeout:=0.1"]
    stamps, output = _drive_controller(parameters, setup, ("state:=joint_states", "command:=position_controller/commands"))
    return (*_rate_and_errors(stamps, rate_hz), output)


#: malformed composite actions of the flood, cycled: each breaks one limit of the controller
JUNK_KINDS = ("period_5e-324", "period_1e-308", "period_1e300", "x_ref_1e300", "u_ff_1e300", "gains_1e300",
              "future_1e6", "future_2", "stale", "dimensions", "nan", "oversize")


def _junk_message(kind: str, valid, now: float):
    """The message of `valid` (a CompositeAction) broken as `kind` says."""
    from hint_controller.action_messages import action_to_msg
    from hint_msgs.conversions import seconds_to_stamp

    msg = action_to_msg(valid)
    if kind.startswith("period_"):
        msg.knot_period = float(kind.removeprefix("period_"))
    elif kind.endswith("_1e300"):
        field = kind.removesuffix("_1e300")
        setattr(msg, field, [1e300] * len(getattr(msg, field)))
    elif kind.startswith("future_"):
        msg.header.stamp = seconds_to_stamp(now + float(kind.removeprefix("future_")))
    elif kind == "stale":
        msg.header.stamp = seconds_to_stamp(now - 100.0)
    elif kind == "dimensions":
        msg.length += 1
    elif kind == "nan":
        msg.gains = [float("nan")] * len(msg.gains)
    elif kind == "oversize":
        msg.length, msg.x_ref, msg.u_ff, msg.gains = 5000, [0.0] * 5000 * 6, [0.0] * 5000 * 2, [0.0] * 5000 * 12
    return msg


def measure_flood(junk_count: int = 10_000, valid_hz: float = 20.0, junk_hz: float = 0.0, settle_s: float = 2.0) -> dict[str, float]:
    """A real controller node process while a flood of `junk_count` malformed composite actions
    (JUNK_KINDS in turn, the same message objects reused, at `junk_hz` or with 0 as fast as one
    publisher can)
    arrives interleaved with valid chunks at `valid_hz` (16 knots of 0.1 s, as the PushT policy sends) from a second publisher (both with
    hint_controller.qos.CHUNK_QOS, as the policy node uses). Returns the valid chunks sent and
    accepted, the junk chunks sent, rejected and accepted (by the controller's status), the flood's
    duration and rate, and ``lost`` = the fraction of valid chunks not accepted. The flood starts
    once a probe from each publisher has reached the controller (``rejections`` counts the junk
    probe as one more ``stale``)."""
    import threading

    import rclpy
    from hint_controller.action_messages import action_to_msg
    from hint_controller.composite_action import CompositeAction
    from hint_controller.dynamics.planar_quadrotor import PlanarQuadrotor
    from hint_controller.qos import CHUNK_QOS, STATUS_QOS
    from hint_msgs.conversions import seconds_to_stamp, vector_to_msg
    from hint_msgs.msg import CompositeAction as CompositeActionMsg
    from hint_msgs.msg import ControllerStatus, StateVector
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    model = PlanarQuadrotor(period=0.01)
    _isolate_ros_traffic()
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen([sys.executable, "-m", "hint_controller.controller_node"], stdout=log, stderr=subprocess.STDOUT)
    context = rclpy.Context()
    rclpy.init(context=context)
    policy = rclpy.create_node("flood_valid_publisher", context=context)
    attacker = rclpy.create_node("flood_junk_publisher", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(policy)
    statuses: list = []
    policy.create_subscription(ControllerStatus, "controller_status", statuses.append, STATUS_QOS)
    state_pub = policy.create_publisher(StateVector, "state", QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
    valid_pub = policy.create_publisher(CompositeActionMsg, "composite_action", CHUNK_QOS)
    junk_pub = attacker.create_publisher(CompositeActionMsg, "composite_action", CHUNK_QOS)
    x = np.array([0.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    counts = {"valid": 0, "junk": 0}

    def now() -> float:
        return policy.get_clock().now().nanoseconds * 1e-9

    def chunk(start_time: float, sequence: int) -> CompositeAction:
        length = 16
        return CompositeAction(
            np.tile(x, (length, 1)), np.full((length, 2), model.hover_thrust), np.zeros((length, 2, 6)) - 0.5,
            period=0.1, start_time=start_time, state_names=model.state_names, input_names=model.input_names,
            sequence=sequence,
        )

    def publish_valid() -> None:
        counts["valid"] += 1
        valid_pub.publish(action_to_msg(chunk(now() + 0.02, counts["valid"])))

    def flood(junk: list) -> None:
        begin = time.monotonic()
        for i in range(junk_count):
            if junk_hz:
                delay = begin + i / junk_hz - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            kind, msg = junk[i % len(junk)]
            if kind != "stale":  # fresh stamps (future ones ahead of the receiver's clock): only the limit it breaks rejects it
                msg.header.stamp = seconds_to_stamp(now() + float(kind.removeprefix("future_") if kind.startswith("future_") else 0.0))
            msg.sequence = 1_000_000 + i
            junk_pub.publish(msg)
            counts["junk"] += 1

    policy.create_timer(0.01, lambda: state_pub.publish(vector_to_msg(StateVector, model.state_names, x, stamp=now())))
    try:
        deadline = time.monotonic() + 30
        while not (statuses and valid_pub.get_subscription_count() and junk_pub.get_subscription_count()):
            if time.monotonic() > deadline:
                raise RuntimeError("controller node not discovered")
            executor.spin_once(timeout_sec=0.05)
        junk = [(kind, _junk_message(kind, chunk(now(), 0), now())) for kind in JUNK_KINDS]
        # one probe from each publisher, seen in the status: the controller's reader has matched both
        # writers (a writer matches first; what it sends before the reader knows it is not a flood loss)
        valid_pub.publish(action_to_msg(chunk(now() + 0.02, 0)))
        junk_pub.publish(_junk_message("stale", chunk(now(), 0), now()))
        while not (statuses and statuses[-1].chunks_accepted >= 1 and statuses[-1].chunks_rejected >= 1):
            if time.monotonic() > deadline:
                raise RuntimeError("the controller did not receive the probe chunks")
            executor.spin_once(timeout_sec=0.05)
        valid_timer = policy.create_timer(1.0 / valid_hz, publish_valid)
        flooder = threading.Thread(target=flood, args=(junk,))
        start = time.monotonic()
        flooder.start()
        while flooder.is_alive():
            executor.spin_once(timeout_sec=0.01)
        flood_s = time.monotonic() - start
        valid_timer.cancel()
        end = time.monotonic() + settle_s
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)
        status = statuses[-1]
    finally:
        process.send_signal(subprocess.signal.SIGINT)
        process.wait(timeout=10)
        executor.shutdown()
        policy.destroy_node()
        attacker.destroy_node()
        rclpy.try_shutdown(context=context)
        log.close()
    accepted = min(status.chunks_accepted - 1, counts["valid"])  # less the probe
    return {
        "valid_sent": counts["valid"], "valid_accepted": accepted, "junk_sent": counts["junk"],
        "junk_rejected": status.chunks_rejected - 1, "junk_accepted": status.chunks_accepted - 1 - accepted,
        "flood_s": flood_s, "junk_rate_hz": counts["junk"] / flood_s,
        "lost": (counts["valid"] - accepted) / max(counts["valid"], 1),
        "rejections": {r: c for r, c in zip(status.rejection_reasons, status.rejection_counts) if c},
    }


def run(report) -> None:
    for junk_hz, suffix in ((1000.0, ""), (0.0, ".unpaced")):
        flood = measure_flood(junk_hz=junk_hz)
        report(
            f"controller.valid_chunks_lost_under_flood{suffix}", flood["lost"], "fraction",
            f"{flood['valid_sent'] - flood['valid_accepted']} of {flood['valid_sent']} valid chunks (20 Hz) not accepted while "
            f"{flood['junk_sent']} malformed ones went out at {flood['junk_rate_hz']:.0f} msg/s from a second publisher "
            f"({flood['junk_rejected']} reached the controller and were rejected, {flood['junk_accepted']} accepted); "
            "controller node process, real DDS",
        )
    note = f"controller node process, {DURATION_S:.0f} s, state 200 Hz + chunk every 0.1 s; from command stamps"
    for rate, priority, suffix in ((500, 0, "500hz"), (1000, 0, "1000hz"), (1000, 50, "1000hz_fifo")):
        ratio, errors, output = _measure(float(rate), priority)
        where = note
        if priority:
            granted = "runs SCHED_FIFO" in output
            where = f"{note}; realtime_priority {priority}: " + ("granted" if granted else "REFUSED, default scheduler")
        report(f"controller.rate_ratio.{suffix}", ratio, "ratio", f"achieved/requested command rate; {where}")
        if rate == 500:
            arm_ratio, arm_errors, _ = _measure_arm(float(rate))
            report("controller.rate_ratio.arm_500hz", arm_ratio, "ratio",
                   f"achieved/requested command rate, the Panda's position servo model (7 joints, 14 states), "
                   f"JointState 200 Hz in, Float64MultiArray out; {DURATION_S:.0f} s, from arrival times")
            report("controller.period_err_ms.p99.arm_500hz", float(np.percentile(arm_errors, 99)), "ms",
                   "p99 |period - 2 ms| of the arm's commands at arrival (DDS delivery jitter included)")
        if rate == 1000:
            report(f"controller.period_err_ms.p99.{suffix}", float(np.percentile(errors, 99)), "ms", f"p99 |period - 1 ms|; {where}")
            report(f"controller.period_err_ms.max.{suffix}", float(np.max(errors)), "ms", f"max |period - 1 ms|; {where}")
