"""Teleoperation over DDS: Joy sticks and target points move PushT's agent through the controller
(the ROS-free tracker: test_teleop.py)."""

from __future__ import annotations

import time

import numpy as np
import pytest


pytestmark = pytest.mark.ros  # teleop_node imports rclpy


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
    np.testing.assert_allclose(agent(), [390.0, 304.0], atol=1.0)  # seed 0's start
    # the chain joy -> teleop -> controller -> sim is matched in DDS one pair at a time: nudge the
    # stick until the agent answers (a loaded machine may take seconds), then measure from rest
    primed = agent()
    deadline = time.monotonic() + 30.0
    while np.linalg.norm(agent() - primed) < 1.0 and time.monotonic() < deadline:
        stick([-0.2, 0.0], 0.1)
    assert np.linalg.norm(agent() - primed) >= 1.0, "the agent never answered the stick"
    stick([0.0, 0.0], 1.0)
    start = agent()
    stick([-1.0, 0.0], 0.4)  # right at 200 px/s on the image: +x
    stick([0.0, 0.0], 0.6)
    moved = agent() - start
    assert 40.0 < moved[0] < 110.0 and abs(moved[1]) < 5.0, moved

    target.publish(Point(x=300.0, y=150.0, z=0.0))
    assert ros.spin_until(lambda: np.linalg.norm(agent() - [300.0, 150.0]) < 3.0, 5), agent()
