"""The policy node in its own process, over DDS."""

import numpy as np
import pytest

pytestmark = pytest.mark.ros

from policy_test_utils import AGENT_STATES, FULL_STATES, INPUTS, train_tiny  # noqa: E402  (same folder)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path, _ = train_tiny(tmp_path_factory.mktemp("policy_node"))
    return path


def start_policy(spawn, checkpoint, *extra):
    return spawn("-m", "hint_policy.policy_node", "--ros-args", "-p", f"checkpoint:={checkpoint}",
                 "-p", "exec_knots:=2", "-p", "seed:=3", *extra)


def feeder(ros, names=FULL_STATES):
    """A test node publishing a PushT-like state at 100 Hz and the applied input; collects chunks."""
    from hint_msgs.conversions import vector_to_msg
    from hint_msgs.msg import CompositeAction, InputVector, StateVector
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    node = ros.node("policy_test_feeder")
    chunks = []
    node.create_subscription(CompositeAction, "composite_action", chunks.append, QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    state_pub = node.create_publisher(StateVector, "state", 10)
    input_pub = node.create_publisher(InputVector, "command", 10)
    state = np.array([200.0, 300.0, 0.0, 0.0, 250.0, 250.0, 0.3])[: len(names)]

    def publish():
        now = node.get_clock().now().nanoseconds * 1e-9
        state_pub.publish(vector_to_msg(StateVector, names, state, stamp=now))
        input_pub.publish(vector_to_msg(InputVector, INPUTS, np.array([10.0, -5.0]), stamp=now))

    node.create_timer(0.01, publish)
    return node, chunks, state_pub


def test_policy_node_publishes_valid_composite_actions_at_chunk_rate(ros, spawn, checkpoint):
    from hint_msgs.conversions import composite_action_from_msg

    process = start_policy(spawn, checkpoint)
    node, chunks, _ = feeder(ros)
    assert ros.spin_until(lambda: len(chunks) >= 6, timeout=60), (
        f"{len(chunks)} chunks; node output: {process.stdout.read() if process.poll() is not None else 'running'}"
    )
    parsed = [composite_action_from_msg(c, state_names=AGENT_STATES, input_names=INPUTS) for c in chunks]
    assert all(p.x_ref.shape == (4, 4) and p.gains.shape == (4, 2, 4) for p in parsed)
    assert all(p.knot_period == pytest.approx(0.05) and p.sigma == pytest.approx(0.05) for p in parsed)
    assert all(min(p.certificate) >= 0 and p.certificate[1] >= p.certificate[0] for p in parsed)  # certified
    sequences = [p.sequence for p in parsed]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences) and sequences[0] >= 1
    starts = np.array([p.start_time for p in parsed])
    gaps = np.diff(starts)
    # exec_knots 2 x 0.05 s: a chunk every 0.1 s, each stamped when its observation was taken
    assert np.all(gaps > 0) and np.median(gaps) == pytest.approx(0.1, abs=0.03)
    now = node.get_clock().now().nanoseconds * 1e-9
    assert abs(starts[-1] - now) < 1.0


def test_inpainting_hand_over_starts_each_chunk_on_the_previous_one(ros, spawn, checkpoint):
    from hint_msgs.conversions import composite_action_from_msg

    start_policy(spawn, checkpoint, "-p", "handover:=inpaint")
    node, chunks, _ = feeder(ros)
    assert ros.spin_until(lambda: len(chunks) >= 5, timeout=60)
    parsed = [composite_action_from_msg(c) for c in chunks]
    checked = 0
    for previous, new in zip(parsed, parsed[1:]):
        shift = round((new.start_time - previous.start_time) / previous.knot_period)
        if 0 < shift < len(previous.x_ref):  # knot 0 of the new chunk = the previous chunk's knot at that time
            np.testing.assert_allclose(new.x_ref[0], previous.x_ref[shift], rtol=1e-4, atol=1e-2)
            np.testing.assert_allclose(new.u_ff[0], previous.u_ff[shift], rtol=1e-4, atol=1e-2)
            checked += 1
    assert checked >= 3  # chunks every 2 of 4 knots: nearly every pair overlaps


def test_state_that_does_not_match_the_model_is_reported_and_nothing_published(ros, spawn, checkpoint):
    process = start_policy(spawn, checkpoint)
    _, chunks, state_pub = feeder(ros, names=("x", "y", "z"))
    assert ros.spin_until(lambda: state_pub.get_subscription_count() > 0, timeout=60)
    ros.spin_for(2.0)
    assert process.poll() is None and chunks == []
    process.send_signal(2)
    output = process.communicate(timeout=10)[0]
    assert "does not match the model" in output and "agent_x" in output


def test_missing_checkpoint_exits_with_one_line_and_status_1(spawn, tmp_path):
    missing = tmp_path / "nope.pt"
    process = start_policy(spawn, missing)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 1
    assert output.strip().splitlines() == [f"hint_policy: {missing}: checkpoint does not exist"], output


def test_corrupt_checkpoint_exits_with_one_line_and_status_1(spawn, tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    process = start_policy(spawn, corrupt)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 1
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"hint_policy: {corrupt}: truncated or corrupt checkpoint"), output
