"""Two processes exchange CompositeAction messages over real rclpy and Fast DDS."""

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.ros

ECHO = Path(__file__).with_name("composite_action_echo.py")


def test_composite_actions_cross_processes_unchanged(ros, spawn):
    from hint_msgs.conversions import composite_action_from_msg, composite_action_to_msg
    from hint_msgs.msg import CompositeAction
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    echo = spawn(str(ECHO))
    node = ros.node("composite_action_sender")
    qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    publisher = node.create_publisher(CompositeAction, "chunks_in", qos)
    received = {}
    node.create_subscription(CompositeAction, "chunks_out", lambda m: received.setdefault(m.sequence, m), qos)

    assert ros.spin_until(lambda: publisher.get_subscription_count() > 0, timeout=20), "echo node not discovered"
    assert ros.spin_until(lambda: node.count_publishers("chunks_out") > 0, timeout=20)
    rng = np.random.default_rng(7)
    names_x = [f"q{i}" for i in range(7)] + [f"dq{i}" for i in range(7)]
    names_u = [f"tau{i}" for i in range(7)]
    sent = {}
    for sequence in range(1, 11):
        arrays = rng.normal(size=(16, 14)), rng.normal(size=(16, 7)), rng.normal(size=(16, 7, 14)) * 1e3
        sent[sequence] = arrays
        publisher.publish(
            composite_action_to_msg(*arrays, knot_period=0.05, stamp=100.0 + sequence, state_names=names_x,
                                    input_names=names_u, sequence=sequence, sigma=0.1)
        )
        ros.spin_for(0.02)

    assert ros.spin_until(lambda: len(received) == len(sent), timeout=20), (
        f"received {sorted(received)} of {sorted(sent)}; echo output: {echo.stdout.read() if echo.poll() is not None else 'running'}"
    )
    for sequence, (x_ref, u_ff, gains) in sent.items():
        chunk = composite_action_from_msg(received[sequence], state_names=names_x, input_names=names_u)
        np.testing.assert_array_equal(chunk.x_ref, x_ref)
        np.testing.assert_array_equal(chunk.u_ff, u_ff)
        np.testing.assert_array_equal(chunk.gains, gains)
        assert chunk.start_time == pytest.approx(100.0 + sequence)
        assert chunk.sigma == 0.1
