"""The controller node in its own process, driven over DDS."""

import math

import numpy as np
import pytest

pytestmark = pytest.mark.ros

RATE_HZ = 200.0


@pytest.fixture
def quadrotor():
    from hint_controller.dynamics.planar_quadrotor import PlanarQuadrotor

    return PlanarQuadrotor(period=0.01)


@pytest.fixture
def rig(ros, spawn, quadrotor):
    """A controller node process plus a test node that feeds it state and chunks."""
    from hint_msgs.msg import CompositeAction, ControllerStatus, InputVector, StateVector
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    process = spawn(
        "-m", "hint_controller.controller_node", "--ros-args",
        "-p", "model:=planar_quadrotor", "-p", f"rate_hz:={RATE_HZ}", "-p", "state_timeout:=0.5",
        "-p", "grace_period:=0.2",
    )
    node = ros.node("controller_test_driver")
    rig = type("Rig", (), {})()
    rig.process, rig.node, rig.model = process, node, quadrotor
    rig.commands, rig.statuses = [], []
    best_effort = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    rig.state_pub = node.create_publisher(StateVector, "state", best_effort)
    rig.chunk_pub = node.create_publisher(CompositeAction, "composite_action", QoSProfile(depth=4, reliability=ReliabilityPolicy.RELIABLE))
    node.create_subscription(InputVector, "command", rig.commands.append, QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT))
    node.create_subscription(
        ControllerStatus, "controller_status", rig.statuses.append,
        QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL),
    )
    rig.x = np.array([0.1, 1.0, 0.05, 0.0, 0.0, 0.0])

    def publish_state():  # built by hand: the tests also send states that conversions would refuse
        msg = StateVector(names=list(quadrotor.state_names), values=rig.x.tolist())
        msg.header.stamp = node.get_clock().now().to_msg()
        rig.state_pub.publish(msg)

    rig.publish_state = publish_state
    rig.state_timer = node.create_timer(0.01, publish_state)  # cancel() stops the state stream, reset() restarts it
    assert ros.spin_until(lambda: rig.chunk_pub.get_subscription_count() > 0 and len(rig.commands) > 5, 30), (
        "controller node did not come up: " + (process.stdout.read() if process.poll() is not None else "still running")
    )
    return rig


def now(node) -> float:
    return node.get_clock().now().nanoseconds * 1e-9


def hover_chunk(model, start_time: float, length: int = 100, sequence: int = 1):
    """A hover chunk at (0, 1) with LQR-like gains: a valid composite action."""
    from hint_controller.composite_action import CompositeAction

    rng = np.random.default_rng(sequence)
    x_ref = np.tile([0.0, 1.0, 0.0, 0.0, 0.0, 0.0], (length, 1)) + rng.normal(scale=0.01, size=(length, 6))
    u_ff = np.full((length, 2), model.hover_thrust)
    gains = rng.normal(scale=0.5, size=(length, 2, 6))
    return CompositeAction(x_ref, u_ff, gains, period=0.02, start_time=start_time,
                           state_names=model.state_names, input_names=model.input_names, sequence=sequence)


def to_msg(action):
    from hint_controller.action_messages import action_to_msg

    return action_to_msg(action)


def assert_commands_safe(commands, model):
    values = np.array([c.values for c in commands])
    assert values.size and np.all(np.isfinite(values))
    assert np.all(values >= model.input_lower - 1e-12) and np.all(values <= model.input_upper + 1e-12)


def test_node_publishes_the_executors_commands_for_a_chunk(ros, rig):
    from hint_controller.executor import ChunkExecutor

    action = hover_chunk(rig.model, start_time=now(rig.node) + 0.2)
    rig.chunk_pub.publish(to_msg(action))
    ros.spin_for(1.0)
    from hint_controller.action_messages import action_from_msg

    reference = ChunkExecutor(rig.model, grace_period=0.2)
    reference.submit(action_from_msg(to_msg(action), max_length=action.length))  # as the node got it (stamp in whole ns)
    tracked = [c for c in rig.commands if action.start_time <= c.header.stamp.sec + c.header.stamp.nanosec * 1e-9 < action.end_time]
    assert len(tracked) > 0.5 * RATE_HZ * 0.8, f"only {len(tracked)} commands while tracking"
    for command in tracked:
        t = command.header.stamp.sec + command.header.stamp.nanosec * 1e-9
        expected, status = reference.command(t, rig.x)
        assert list(command.names) == list(rig.model.input_names)
        # the stamp carries t to the nanosecond, but float64 seconds since the epoch resolve only
        # 2.4e-7 s, and along this chunk (random gains on a jittered reference) the input moves by
        # up to ~5 units/s: a few 1e-6 of the node's own rounding (seen: 1.2e-6)
        np.testing.assert_allclose(command.values, expected, rtol=0, atol=5e-6)
    assert rig.statuses[-1].chunks_accepted == 1
    assert rig.statuses[-1].mode == 1  # TRACKING
    assert_commands_safe(rig.commands, rig.model)


def corrupt(kind: str, msg, node):
    if kind == "dimensions":
        msg.length = msg.length - 1
    elif kind == "names":
        msg.state_names = ["a", "b", "c", "d", "e", "f"]
    elif kind == "nan":
        msg.gains = [math.nan] + list(msg.gains)[1:]
    elif kind == "inf":
        msg.u_ff = list(msg.u_ff)[:-1] + [math.inf]
    elif kind == "stale":
        from hint_msgs.conversions import seconds_to_stamp

        msg.header.stamp = seconds_to_stamp(now(node) - 100.0)
    elif kind == "oversize":
        msg.length, msg.x_ref, msg.u_ff, msg.gains = 5000, [0.0] * 5000 * 6, [0.0] * 5000 * 2, [0.0] * 5000 * 12
    elif kind in ("period_5e-324", "period_1e-308", "period_1e300"):
        msg.knot_period = float(kind.removeprefix("period_"))
    elif kind in ("x_ref", "u_ff", "gains"):
        setattr(msg, kind, [1e300] + list(getattr(msg, kind))[1:])
    elif kind in ("future_2", "future_1e6"):
        from hint_msgs.conversions import seconds_to_stamp

        msg.header.stamp = seconds_to_stamp(now(node) + float(kind.removeprefix("future_")))
    return msg


#: the ControllerStatus rejection reason of each corruption
REASONS = {
    "dimensions": "dimensions", "names": "names", "nan": "non_finite", "inf": "non_finite", "stale": "stale",
    "oversize": "size", "period_5e-324": "knot_period", "period_1e-308": "knot_period",
    "period_1e300": "knot_period", "x_ref": "x_ref", "u_ff": "u_ff", "gains": "gains",
    "future_2": "future", "future_1e6": "future",
}


@pytest.mark.parametrize("kind", list(REASONS))
def test_malformed_chunk_is_rejected_and_the_last_valid_one_keeps_running(ros, rig, kind):
    valid = hover_chunk(rig.model, start_time=now(rig.node) + 0.1, length=150, sequence=1)
    rig.chunk_pub.publish(to_msg(valid))
    ros.spin_for(0.5)
    bad = hover_chunk(rig.model, start_time=now(rig.node) + 0.05, length=50, sequence=2)
    rig.chunk_pub.publish(corrupt(kind, to_msg(bad), rig.node))
    ros.spin_until(lambda: rig.statuses and rig.statuses[-1].chunks_rejected >= 1, 5)
    rig.commands.clear()
    ros.spin_for(0.6)
    status = rig.statuses[-1]
    assert rig.process.poll() is None, "controller node died"
    assert (status.chunks_accepted, status.chunks_rejected) == (1, 1)
    assert status.last_rejection.startswith("chunk 2")
    counts = dict(zip(status.rejection_reasons, status.rejection_counts))
    assert counts[REASONS[kind]] == 1 and sum(counts.values()) == 1, counts
    assert status.active_sequence == 1 and status.mode == 1, status.reason
    assert len(rig.commands) > 0.3 * RATE_HZ
    assert_commands_safe(rig.commands, rig.model)


def test_undecodable_bytes_on_the_chunk_topic_are_rejected_and_the_last_valid_one_keeps_running(ros, rig):
    from rclpy.serialization import serialize_message

    valid = hover_chunk(rig.model, start_time=now(rig.node) + 0.1, length=150, sequence=1)
    rig.chunk_pub.publish(to_msg(valid))
    ros.spin_for(0.5)
    serialized = serialize_message(to_msg(hover_chunk(rig.model, start_time=now(rig.node) + 0.05, length=50, sequence=2)))
    rig.chunk_pub.publish(serialized[: len(serialized) // 2])  # a valid header, arrays cut off: not CDR any more
    assert ros.spin_until(lambda: rig.statuses and rig.statuses[-1].chunks_rejected >= 1, 5)
    rig.commands.clear()
    ros.spin_for(0.6)
    status = rig.statuses[-1]
    assert rig.process.poll() is None, "controller node died"
    assert status.last_rejection.startswith("chunk 2: malformed CompositeAction"), status.last_rejection
    assert dict(zip(status.rejection_reasons, status.rejection_counts))["other"] == 1
    assert status.active_sequence == 1 and status.mode == 1
    assert len(rig.commands) > 0.3 * RATE_HZ


def test_tiny_knot_periods_do_not_stop_the_command_loop_and_later_chunks_run(ros, rig):
    for sequence, period in ((1, 5e-324), (2, 1e-308)):
        bad = hover_chunk(rig.model, start_time=now(rig.node), length=50, sequence=sequence)
        msg = to_msg(bad)
        msg.knot_period = period
        rig.chunk_pub.publish(msg)
    ros.spin_for(2.2)  # long enough for a knot-index overflow to kill the loop: at once (5e-324) or 1.8 s later (1e-308)
    valid = hover_chunk(rig.model, start_time=now(rig.node) + 0.05, length=50, sequence=3)
    rig.chunk_pub.publish(to_msg(valid))
    assert ros.spin_until(lambda: rig.statuses and rig.statuses[-1].active_sequence == 3 and rig.statuses[-1].mode == 1, 5)
    rig.commands.clear()
    ros.spin_for(0.5)
    assert rig.process.poll() is None
    assert len(rig.commands) > 0.3 * RATE_HZ
    assert (rig.statuses[-1].chunks_accepted, rig.statuses[-1].chunks_rejected) == (1, 2)


def test_non_finite_state_and_stale_state_give_safe_commands(ros, rig):
    rig.chunk_pub.publish(to_msg(hover_chunk(rig.model, start_time=now(rig.node), length=200)))
    rig.x = np.array([0.0, 1.0, math.nan, 0.0, 0.0, 0.0])  # rejected at the node: the last good state ages out
    ros.spin_for(1.2)
    # (on a loaded machine the status may lag: wait for it, then check the commands it reports)
    ros.spin_until(lambda: rig.statuses and rig.statuses[-1].mode == 3, timeout=10)
    assert rig.process.poll() is None
    assert rig.statuses[-1].mode == 3 and "older" in rig.statuses[-1].reason  # SAFE
    hover = rig.model.safe_input(rig.x, "hover")
    np.testing.assert_allclose(rig.commands[-1].values, hover)
    assert_commands_safe(rig.commands, rig.model)


def test_commands_stop_changing_to_safe_after_the_grace_period(ros, rig):
    action = hover_chunk(rig.model, start_time=now(rig.node), length=10)  # 0.2 s
    rig.chunk_pub.publish(to_msg(action))
    ros.spin_for(1.0)  # 0.2 s chunk + 0.2 s grace, then safe
    ros.spin_until(lambda: rig.statuses and rig.statuses[-1].mode == 3, timeout=10)
    assert rig.statuses[-1].mode == 3
    np.testing.assert_allclose(rig.commands[-1].values, rig.model.safe_input(rig.x, "hover"))
    assert_commands_safe(rig.commands, rig.model)


def stamp_seconds(msg) -> float:
    return msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9


def test_a_chunk_starting_before_the_active_one_is_rejected_and_the_active_one_keeps_running(ros, rig):
    from hint_controller.action_messages import action_from_msg
    from hint_controller.executor import ChunkExecutor

    first = hover_chunk(rig.model, start_time=now(rig.node), length=500, sequence=1)  # 10 s
    rig.chunk_pub.publish(to_msg(first))
    assert ros.spin_until(lambda: rig.statuses and rig.statuses[-1].active_sequence == 1 and rig.statuses[-1].mode == 1, 10)
    older = hover_chunk(rig.model, start_time=first.start_time - 0.1, length=500, sequence=2)  # valid, but planned earlier
    rig.chunk_pub.publish(to_msg(older))
    assert ros.spin_until(lambda: rig.statuses[-1].chunks_rejected >= 1, 10)
    rig.commands.clear()
    ros.spin_for(0.6)
    status = rig.statuses[-1]
    assert rig.process.poll() is None, "controller node died"
    assert (status.chunks_accepted, status.chunks_rejected, status.chunks_superseded) == (1, 1, 0)
    counts = dict(zip(status.rejection_reasons, status.rejection_counts))
    assert counts["older_than_active"] == 1 and sum(counts.values()) == 1, counts
    assert status.last_rejection.startswith("chunk 2: start_time"), status.last_rejection
    assert status.active_sequence == 1 and status.mode == 1
    # the commands keep following the first chunk, as an executor that only got that one computes them
    reference = ChunkExecutor(rig.model, grace_period=0.2)
    reference.submit(action_from_msg(to_msg(first), max_length=first.length))
    tracked = [c for c in rig.commands if first.start_time <= stamp_seconds(c) < first.end_time]
    assert len(tracked) > 0.3 * RATE_HZ * 0.6, f"only {len(tracked)} commands while tracking"
    for command in tracked:
        expected, _ = reference.command(stamp_seconds(command), rig.x)
        np.testing.assert_allclose(command.values, expected, rtol=0, atol=5e-6)  # as in the first test


def test_after_a_stale_state_one_late_state_does_not_resume_tracking(ros, rig):
    """state_timeout 0.5 s, resume_after_states 10 (the default): a state after a gap longer than
    state_timeout keeps the safe command until 10 states have arrived without such a gap."""
    rig.chunk_pub.publish(to_msg(hover_chunk(rig.model, start_time=now(rig.node), length=1000)))  # 20 s
    assert ros.spin_until(lambda: rig.statuses and rig.statuses[-1].mode == 1, 10), "not tracking"
    rig.state_timer.cancel()
    assert ros.spin_until(lambda: rig.statuses[-1].mode == 3 and "older" in rig.statuses[-1].reason, 10)
    hover = rig.model.safe_input(rig.x, "hover")
    ros.spin_for(0.2)  # tracking commands still in flight
    rig.commands.clear()
    seen = len(rig.statuses)
    # one late state; sent again after the next gap if it was lost (the state topic is best-effort),
    # so each one that arrives is a single state after a gap longer than state_timeout
    for _ in range(5):
        rig.publish_state()
        if ros.spin_until(lambda: any("resuming" in s.reason for s in rig.statuses[seen:]), 2.0):
            break
    else:
        pytest.fail("the controller never reported the late state")
    assert "1 of 10" in next(s.reason for s in rig.statuses[seen:] if "resuming" in s.reason)
    assert ros.spin_until(lambda: "older" in rig.statuses[-1].reason, 10), "the late state did not age out"
    ros.spin_for(0.2)
    assert rig.process.poll() is None
    assert all(s.mode == 3 for s in rig.statuses[seen:]), [(s.mode, s.reason) for s in rig.statuses[seen:]]
    assert rig.commands, "no commands after the late state"
    for command in rig.commands:
        np.testing.assert_allclose(command.values, hover)

    rig.state_timer.reset()  # the stream is back: tracking resumes after 10 states
    assert ros.spin_until(lambda: rig.statuses[-1].mode == 1, 10), (rig.statuses[-1].mode, rig.statuses[-1].reason)
    rig.commands.clear()
    ros.spin_for(0.5)
    assert any(not np.allclose(c.values, hover) for c in rig.commands), "still the safe command"
    assert_commands_safe(rig.commands, rig.model)
