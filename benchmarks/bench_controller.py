"""Controller node timing and memory: the real node process, driven over DDS.

* ``*.500hz`` / ``*.1000hz``: 10 s while a driver node sends the planar quadrotor's state at
  200 Hz and a composite action every 0.1 s (:func:`_measure`), the default command loop.
* ``*.1000hz_fifo`` (``realtime_priority:=50``) and ``*.500hz_flood`` (default scheduler): the
  shipped quadrotor policy's node samples the chunks (``checkpoints/quadrotor.pt``, replanning
  every 2 knots) while a process of its own publishes FLOOD_HZ junk composite actions a second
  (:func:`_flood`); ``*.arm_500hz``: the Panda behind its position interface with the shipped arm
  policy's node sampling (:func:`_measure_arm`); ``rss_growth_mb.flood_60s``: the node's resident
  memory (its loop process included) over 60 s of the policy and the flood. Each of these is
  measured for ``command_loop:=process`` (no suffix) and ``command_loop:=thread``
  (``.inprocess``) in the same run, one after the other.
* ``valid_chunks_lost_under_flood``: valid chunks lost under a flood of malformed ones
  (:func:`measure_flood`).

Periods are measured from the commands' header stamps (taken by the command loop when it
computes each command), so DDS delivery jitter does not count; commands the driver does not
receive do count, as gaps. The ``loop_*`` figures are the loop's own record of its publish times,
which the node logs at shutdown (no DDS delivery and no loss in the driver). The arm's commands
(Float64MultiArray) carry no stamp: its periods are arrival times in the driver.
"""

from __future__ import annotations

import os
import re
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
    os.environ.setdefault("RMW_FASTRTPS_USE_QOS_FROM_XML", "1")


def _rss_mb(pid: int) -> float:
    """Resident memory [MB] of process `pid` and its children (the controller's loop process)."""
    total = 0.0
    pids = [pid]
    try:
        pids += [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def _drive_controller(parameters: list[str], setup, remappings: tuple[str, ...] = (), *, duration: float = DURATION_S,
                      policy: list[str] | None = None, flood: bool = False,
                      flood_without: tuple[str, ...] = ()) -> tuple[list[int], str, dict]:
    """Start the controller node with `parameters` (``name:=value``) and `remappings`
    (``from:=to``), let `setup(node, now)` create
    the driver's publishers, timers and its command subscription (it returns the list that
    subscription fills with arrival or stamp times [ns]), spin for `duration` after start-up;
    returns (those times, the controller's log, extras: the controller's RSS [MB] at the start and
    end of the measurement, its last status). With `policy` (``--ros-args`` arguments of a
    policy node process) a policy samples the chunks; with `flood` a process of its own publishes
    FLOOD_HZ junk composite actions a second (:func:`_flood`, less the JUNK_KINDS in
    `flood_without`) from before the start."""
    import rclpy
    from hint_controller.qos import STATUS_QOS
    from hint_msgs.msg import ControllerStatus
    from rclpy.executors import SingleThreadedExecutor

    _isolate_ros_traffic()
    log = tempfile.TemporaryFile(mode="w+")
    arguments = [item for parameter in parameters for item in ("-p", parameter)]
    arguments += [item for remapping in remappings for item in ("-r", remapping)]
    process = subprocess.Popen([sys.executable, "-m", "hint_controller.controller_node", "--ros-args", *arguments],
                               stdout=log, stderr=subprocess.STDOUT)
    helpers = []
    if policy is not None:
        helpers.append(subprocess.Popen([sys.executable, "-m", "hint_policy.policy_node", "--ros-args", *policy],
                                        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT))
    if flood:
        helpers.append(subprocess.Popen([sys.executable, "-m", "benchmarks.bench_controller", "--flood", *flood_without],
                                        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT))
    rclpy.init()
    node = rclpy.create_node("controller_bench_driver")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    statuses: list = []
    node.create_subscription(ControllerStatus, "controller_status", statuses.append, STATUS_QOS)
    stamps = setup(node, lambda: node.get_clock().now().nanoseconds * 1e-9)
    extras: dict = {}
    try:
        deadline = time.monotonic() + 60
        # discovery and start-up; with a policy: until its chunks arrive
        while (len(stamps) < 50 or (policy is not None and not (statuses and statuses[-1].chunks_accepted))) \
                and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.01)
        stamps.clear()
        extras["rss_start_mb"] = _rss_mb(process.pid)
        accepted = statuses[-1].chunks_accepted if statuses else 0
        end = time.monotonic() + duration
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.01)
        extras["rss_end_mb"] = _rss_mb(process.pid)
        if statuses:
            extras["chunks_accepted"] = statuses[-1].chunks_accepted - accepted
            extras["chunks_rejected"] = statuses[-1].chunks_rejected
    finally:
        for helper in helpers:
            helper.send_signal(subprocess.signal.SIGINT)
        process.send_signal(subprocess.signal.SIGINT)
        for child in (*helpers, process):
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown()
    log.seek(0)
    output = log.read()
    log.close()
    record = re.search(r"\|period error\| over the last [^:]+: p99 ([\d.]+) ms, max ([\d.]+) ms", output)
    if record:  # the loop's own record of its publish times, logged by the node at shutdown
        extras["loop_p99_ms"], extras["loop_max_ms"] = float(record.group(1)), float(record.group(2))
    return stamps, output, extras


def _rate_and_errors(stamps: list[int], rate_hz: float) -> tuple[float, np.ndarray]:
    """(achieved / requested rate, |period errors| [ms]) of command times [ns]."""
    received = np.array(sorted(stamps), dtype=np.int64)
    if len(received) < 2:
        return 0.0, np.array([np.nan])
    achieved = (len(received) - 1) / ((received[-1] - received[0]) * 1e-9)
    return achieved / rate_hz, np.abs(np.diff(received) * 1e-6 - 1000.0 / rate_hz)


def _measure(rate_hz: float, realtime_priority: int = 0, *, loop: str = "process", policy: bool = False,
             flood: bool = False, flood_without: tuple[str, ...] = (),
             duration: float = DURATION_S) -> tuple[float, np.ndarray, str, dict]:
    """The planar quadrotor (StateVector in, InputVector out): (achieved / requested rate, |period
    errors| [ms] from the commands' stamps, the controller's log, :func:`_drive_controller`'s
    extras with ``max_gap_ms``). The chunks come from the driver (a new one every 0.1 s) or, with
    `policy`, from the shipped quadrotor policy's node (replanning every 2 knots, as
    quadrotor_sim)."""
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
        if not policy:
            node.create_timer(0.1, publish_chunk)
        return stamps

    policy_args = ["-p", f"checkpoint:={ROOT / 'hint_bringup/checkpoints/quadrotor.pt'}", "-p", "exec_knots:=2",
                   "-p", "seed:=0"] if policy else None
    stamps, output, extras = _drive_controller(
        [f"rate_hz:={rate_hz}", f"realtime_priority:={realtime_priority}", f"command_loop:={loop}"], setup,
        duration=duration, policy=policy_args, flood=flood, flood_without=flood_without)
    extras["max_gap_ms"] = float(np.max(np.diff(np.sort(np.array(stamps, dtype=np.int64))))) * 1e-6 if len(stamps) > 1 else float("nan")
    return (*_rate_and_errors(stamps, rate_hz), output, extras)


def _measure_arm(rate_hz: float, *, loop: str = "process", policy: bool = False) -> tuple[float, np.ndarray, str, dict]:
    """The Panda behind a position interface, as arm_sim and a real arm run it (JointState in,
    Float64MultiArray out, the position servo model with TVLQR gains): (achieved / requested rate,
    |period errors| [ms] from arrival times, as Float64MultiArray has no stamp; the log; the
    extras). With `policy` the shipped arm policy's node samples the chunks (it reads the full
    StateVector, goal point included, the driver also publishes)."""
    from hint_controller.composite_action import CompositeAction
    from hint_controller.action_messages import action_to_msg
    from hint_controller.dynamics import make_model
    from hint_controller.robots import ROBOTS
    from hint_controller.tvlqr import TVLQRConfig
    from hint_msgs.msg import CompositeAction as CompositeActionMsg
    from hint_msgs.msg import StateVector
    from hint_policy.envs.panda import GOAL_STATE_NAMES
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
        if policy:
            observed = StateVector(names=[*model.state_names, *GOAL_STATE_NAMES], values=[*x, 0.5, 0.0, 0.4])
            observed_pub = node.create_publisher(StateVector, "state", QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))

            def publish_observed() -> None:
                observed.header.stamp = node.get_clock().now().to_msg()
                observed_pub.publish(observed)
            node.create_timer(0.005, publish_observed)
        else:
            node.create_timer(0.1, publish_chunk)
        return arrivals

    parameters = [f"rate_hz:={rate_hz}", "model:=position_servo", "urdf_path:=panda", "state_source:=joint_state",
                  "command_format:=float64_multi_array", "command_interface:=position",
                  f"joint_names:=[{','.join(joints)}]", "state_timeout:=0.1", f"command_loop:={loop}"]
    policy_args = ["-p", f"checkpoint:={ROOT / 'hint_bringup/checkpoints/arm.pt'}", "-p", "exec_knots:=8", "-p", "seed:=0",
                   "-p", "command_format:=float64_multi_array", "-p", "command_interface:=position",
                   "-p", f"joint_names:=[{','.join(joints)}]", "-r", "command:=position_controller/commands"] if policy else None
    stamps, output, extras = _drive_controller(parameters, setup, ("state:=joint_states", "command:=position_controller/commands"),
                                               policy=policy_args)
    return (*_rate_and_errors(stamps, rate_hz), output, extras)


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


#: junk composite actions a second of the flood rows
FLOOD_HZ = 1000.0


def _flood(hz: float = FLOOD_HZ, without: tuple[str, ...] = ()) -> None:
    """Publish JUNK_KINDS (less `without`) in turn at `hz` on composite_action (CHUNK_QOS) until SIGINT: the flood
    of the ``*_flood`` rows, from a process of its own so that it loads the machine, not the
    driver recording the commands."""
    import signal

    import rclpy
    from hint_controller.composite_action import CompositeAction
    from hint_controller.dynamics.planar_quadrotor import PlanarQuadrotor
    from hint_controller.qos import CHUNK_QOS
    from hint_msgs.conversions import seconds_to_stamp
    from hint_msgs.msg import CompositeAction as CompositeActionMsg

    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    rclpy.init()
    node = rclpy.create_node("controller_bench_flood")
    publisher = node.create_publisher(CompositeActionMsg, "composite_action", CHUNK_QOS)
    model = PlanarQuadrotor(period=0.01)

    def now() -> float:
        return node.get_clock().now().nanoseconds * 1e-9

    length = 16
    valid = CompositeAction(np.tile([0.0, 1.0, 0.0, 0.0, 0.0, 0.0], (length, 1)), np.full((length, 2), model.hover_thrust),
                            np.zeros((length, 2, 6)), period=0.1, start_time=now(), state_names=model.state_names,
                            input_names=model.input_names, sequence=0)
    junk = [(kind, _junk_message(kind, valid, now())) for kind in JUNK_KINDS if kind not in without]
    begin, i = time.monotonic(), 0
    while not stop:
        kind, msg = junk[i % len(junk)]
        if kind != "stale":
            msg.header.stamp = seconds_to_stamp(now() + float(kind.removeprefix("future_") if kind.startswith("future_") else 0.0))
        msg.sequence = 1_000_000 + i
        publisher.publish(msg)
        i += 1
        delay = begin + i / hz - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    node.destroy_node()
    rclpy.try_shutdown()


#: (command_loop parameter, figure suffix) of the loops measured side by side
LOOPS = (("process", ""), ("thread", ".inprocess"))


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
    for rate in (500, 1000):
        ratio, errors, _, _ = _measure(float(rate))
        report(f"controller.rate_ratio.{rate}hz", ratio, "ratio", f"achieved/requested command rate; {note}")
        if rate == 1000:
            report("controller.period_err_ms.p99.1000hz", float(np.percentile(errors, 99)), "ms", f"p99 |period - 1 ms|; {note}")
            report("controller.period_err_ms.max.1000hz", float(np.max(errors)), "ms", f"max |period - 1 ms|; {note}")
    load = (f"the quadrotor policy node sampling (checkpoints/quadrotor.pt, every 2 knots) and {FLOOD_HZ:.0f} junk "
            f"composite actions/s from a flood process; state 200 Hz; {DURATION_S:.0f} s, from command stamps")
    for loop, suffix in LOOPS:
        ratio, errors, output, extras = _measure(1000.0, 50, loop=loop, policy=True, flood=True)
        granted = "runs SCHED_FIFO" in output
        where = (f"command_loop {loop}, realtime_priority 50 ({'granted' if granted else 'REFUSED, default scheduler'}); "
                 f"{load}; {extras.get('chunks_accepted', 0)} policy chunks accepted")
        report(f"controller.rate_ratio.1000hz_fifo{suffix}", ratio, "ratio", f"achieved/requested command rate; {where}")
        report(f"controller.period_err_ms.p99.1000hz_fifo{suffix}", float(np.percentile(errors, 99)), "ms", f"p99 |period - 1 ms|; {where}")
        report(f"controller.period_err_ms.max.1000hz_fifo{suffix}", float(np.max(errors)), "ms", f"max |period - 1 ms|; {where}")
        for statistic in ("p99", "max"):
            report(f"controller.loop_period_err_ms.{statistic}.1000hz_fifo{suffix}", extras.get(f"loop_{statistic}_ms", float("nan")), "ms",
                   f"{statistic} |period - 1 ms| of the loop's own publish times (its record, logged at shutdown: no DDS "
                   f"delivery or loss in the driver); {where}")
    for loop, suffix in LOOPS:
        ratio, errors, output, extras = _measure(500.0, loop=loop, policy=True, flood=True)
        where = f"command_loop {loop}, default scheduler; {load}; {extras.get('chunks_accepted', 0)} policy chunks accepted"
        report(f"controller.rate_ratio.500hz_flood{suffix}", ratio, "ratio", f"achieved/requested command rate; {where}")
        report(f"controller.max_gap_ms.500hz_flood{suffix}", extras["max_gap_ms"], "ms",
               f"largest interval between consecutive commands received (2 ms nominal); {where}")
        report(f"controller.loop_max_gap_ms.500hz_flood{suffix}", 2.0 + extras.get("loop_max_ms", float("nan")), "ms",
               f"largest interval between consecutive commands by the loop's own publish times; {where}")
    for loop, suffix in LOOPS:
        ratio, errors, _, extras = _measure_arm(500.0, loop=loop, policy=True)
        where = (f"command_loop {loop}; the Panda's position servo model (7 joints, 14 states), JointState 200 Hz in, "
                 f"Float64MultiArray out; the arm policy node sampling (checkpoints/arm.pt, every 8 knots), "
                 f"{extras.get('chunks_accepted', 0)} of its chunks accepted; {DURATION_S:.0f} s, from arrival times")
        report(f"controller.rate_ratio.arm_500hz{suffix}", ratio, "ratio", f"achieved/requested command rate; {where}")
        report(f"controller.period_err_ms.p99.arm_500hz{suffix}", float(np.percentile(errors, 99)), "ms",
               f"p99 |period - 2 ms| at arrival (DDS delivery and the driver's own jitter included); {where}")
        report(f"controller.loop_period_err_ms.p99.arm_500hz{suffix}", extras.get("loop_p99_ms", float("nan")), "ms",
               f"p99 |period - 2 ms| of the loop's own publish times (its record, logged at shutdown); {where}")
    for loop, suffix in LOOPS:
        _, _, _, extras = _measure(500.0, loop=loop, policy=True, flood=True, duration=60.0)
        report(f"controller.rss_growth_mb.flood_60s{suffix}", extras["rss_end_mb"] - extras["rss_start_mb"], "MB",
               f"resident memory of the controller node (with its loop process) after 60 s of the flood less at its "
               f"start ({extras['rss_start_mb']:.0f} -> {extras['rss_end_mb']:.0f} MB); command_loop {loop}, 500 Hz; "
               f"the quadrotor policy node sampling, {FLOOD_HZ:.0f} junk composite actions/s")
    _, _, _, extras = _measure(500.0, policy=True, flood=True, flood_without=("oversize",), duration=60.0)
    report("controller.rss_growth_mb.flood_60s_without_oversize", extras["rss_end_mb"] - extras["rss_start_mb"], "MB",
           f"as rss_growth_mb.flood_60s (command_loop process) with a flood of every junk kind but the 5000-knot "
           f"(800 KB) one ({extras['rss_start_mb']:.0f} -> {extras['rss_end_mb']:.0f} MB): what grows is the memory "
           f"that holds the largest messages received")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--flood"]:
        _flood(without=tuple(sys.argv[2:]))
