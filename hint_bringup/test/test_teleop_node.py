"""Teleoperation: Joy sticks and target points move PushT's agent through the controller over DDS;
the ROS-free target tracker builds TVLQR track-target chunks."""

from __future__ import annotations

import time

import numpy as np
import pytest

from hint_controller.dynamics import make_model

pytestmark = pytest.mark.ros  # teleop_node imports rclpy


def pusht_tracker(chunk_knots: int = 8):
    from hint_bringup.teleop_node import TargetTracker

    model = make_model("pusht_agent", period=0.01)
    return TargetTracker(model, ["agent_x", "agent_y"], ["agent_vx", "agent_vy"], [15.0, 15.0], [497.0, 497.0],
                         knot_period=0.1, chunk_knots=chunk_knots)


def test_tracker_chunks_track_a_moving_target_with_pd_like_gains():
    tracker = pusht_tracker()
    tracker.place([100.0, 600.0])
    assert tracker.target.tolist() == [100.0, 497.0]  # clipped to the workspace
    action = tracker.chunk(np.array([200.0, 0.0]), start_time=3.0)
    assert (action.length, action.period, action.start_time) == (8, pytest.approx(0.1), 3.0)
    np.testing.assert_allclose(action.x_ref[:, 0], 100.0 + 20.0 * np.arange(8))  # 200 px/s, knots 0.1 s apart
    np.testing.assert_allclose(action.x_ref[:, 1:], np.tile([497.0, 200.0, 0.0], (8, 1)))
    np.testing.assert_array_equal(action.u_ff, 0.0)  # the agent's hold input at rest
    kp, kd = -action.gains[0, 0, 0], -action.gains[0, 0, 2]
    assert 80 < kp < 110 and 15 < kd < 25 and abs(action.gains[0, 0, 1]) < 1e-6
    tracker.move([0.0, 1000.0], seconds=1.0)
    assert tracker.target.tolist() == [100.0, 497.0]


def test_tracker_holds_the_quadrotor_at_hover():
    from hint_bringup.teleop_node import TargetTracker

    model = make_model("planar_quadrotor", period=0.01)
    tracker = TargetTracker(model, ["x", "z"], ["xdot", "zdot"], [-2.3, 0.3], [2.3, 2.9], 0.05, 4)
    tracker.place([0.5, 1.0])
    action = tracker.chunk(np.zeros(2), start_time=0.0)
    np.testing.assert_allclose(action.u_ff, np.full((4, 2), model.hover_thrust))
    np.testing.assert_allclose(action.x_ref, np.tile([0.5, 1.0, 0, 0, 0, 0], (4, 1)))


def test_stick_velocity_mapping():
    from hint_bringup.teleop_node import stick_velocity

    np.testing.assert_allclose(stick_velocity([-1.0, 0.02, 0.5], [0, 1], [-200.0, -200.0], 0.05), [200.0, 0.0])
    np.testing.assert_allclose(stick_velocity([0.5], [0, 3], [1.0, 1.0], 0.05), [0.5, 0.0])  # missing axis: 0
    np.testing.assert_allclose(stick_velocity([], [0, 1], [1.0, 1.0], 0.05), [0.0, 0.0])


def test_joy_and_target_points_move_the_agent_over_dds(ros, spawn):
    from geometry_msgs.msg import Point
    from hint_msgs.msg import StateVector
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Joy

    from hint_bringup.graphs import graph

    config = str(graph("pusht_sim").config_path())
    spawn("-m", "hint_bringup.sim_node", "--ros-args", "--params-file", config, "-r", "__node:=sim",
          "-p", "seed:=0", "-p", "image_rate_hz:=0.0")
    spawn("-m", "hint_controller.controller_node", "--ros-args", "--params-file", config, "-r", "__node:=controller",
          "-p", "use_sim_time:=true")
    teleop = spawn("-m", "hint_bringup.teleop_node", "--ros-args", "--params-file", config, "-r", "__node:=teleop",
                   "-p", "use_sim_time:=true")
    node = ros.node("teleop_probe")
    joy = node.create_publisher(Joy, "joy", 10)
    target = node.create_publisher(Point, "teleop_target", 10)
    states: list[StateVector] = []
    node.create_subscription(StateVector, "state", states.append, QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))

    def agent() -> np.ndarray:
        return np.array(states[-1].values[:2])

    def stick(axes: list[float], seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:  # 20 Hz, like the joy node's autorepeat
            joy.publish(Joy(axes=axes, buttons=[]))
            ros.spin_for(0.05)

    assert ros.spin_until(lambda: node.count_subscribers("joy") >= 1 and len(states) > 0, 30), teleop.stdout.read()
    assert ros.spin_until(lambda: node.count_publishers("composite_action") >= 1, 30)
    stick([0.0, 0.0], 1.0)  # sticks at rest: the agent holds where the episode put it
    start = agent()
    np.testing.assert_allclose(start, [390.0, 304.0], atol=1.0)  # seed 0's start
    stick([-1.0, 0.0], 0.4)  # right at 200 px/s on the image: +x
    stick([0.0, 0.0], 0.6)
    moved = agent() - start
    assert 40.0 < moved[0] < 110.0 and abs(moved[1]) < 5.0, moved

    target.publish(Point(x=300.0, y=150.0, z=0.0))
    assert ros.spin_until(lambda: np.linalg.norm(agent() - [300.0, 150.0]) < 3.0, 5), agent()
