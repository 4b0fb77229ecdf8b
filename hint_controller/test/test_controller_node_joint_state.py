"""The controller node on a ros2_control arm: JointState in, Float64MultiArray (by joint name) out."""

import numpy as np
import pytest

pytestmark = pytest.mark.ros

#: the forward command controller's order differs from the URDF's on purpose
JOINT_ORDER = ("joint3", "joint1", "joint2")
POSITIONS = {"joint1": 0.4, "joint2": -0.3, "joint3": 0.2}


def start_controller(spawn, *extra):
    return spawn(
        "-m", "hint_controller.controller_node", "--ros-args", "-p", "model:=manipulator",
        "-p", "state_source:=joint_state", "-p", "command_format:=float64_multi_array",
        "-p", "command_interface:=effort", "-p", "rate_hz:=100.0", "-p", "state_timeout:=0.5", *extra,
    )


def arm_driver(ros, joints):
    """A test node publishing a JointState of `joints` (plus a gripper) at 100 Hz; collects commands."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray

    node = ros.node("arm_driver")
    commands = []
    node.create_subscription(Float64MultiArray, "command", commands.append,
                             QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT))
    publisher = node.create_publisher(JointState, "state", 10)
    names = ["gripper", *joints]

    def publish():
        publisher.publish(JointState(name=names, position=[0.0] + [POSITIONS[j] for j in joints],
                                     velocity=[0.0] * len(names)))

    node.create_timer(0.01, publish)
    return commands, publisher


def test_joint_state_in_and_forward_commands_out_are_matched_by_joint_name(ros, spawn):
    from hint_controller.dynamics.manipulator import Manipulator

    process = start_controller(spawn, "-p", f"joint_names:=[{','.join(JOINT_ORDER)}]")
    commands, _ = arm_driver(ros, ("joint2", "joint3", "joint1"))  # yet another order in the state
    assert ros.spin_until(lambda: len(commands) >= 5, timeout=30), (
        process.stdout.read() if process.poll() is not None else "no commands"
    )
    model = Manipulator()
    x = np.array([POSITIONS["joint1"], POSITIONS["joint2"], POSITIONS["joint3"], 0.0, 0.0, 0.0])
    # no composite action yet: the arm's safe command, gravity compensation, in the array's joint order
    expected = model.gravity_compensation(x)[[2, 0, 1]]
    np.testing.assert_allclose(commands[-1].data, expected, rtol=1e-9, atol=1e-9)
    assert np.abs(expected).min() > 0.1  # the orders are told apart


def test_joint_state_missing_a_joint_is_rejected_with_its_name(ros, spawn):
    process = start_controller(spawn)
    commands, publisher = arm_driver(ros, ("joint1", "joint2"))
    assert ros.spin_until(lambda: publisher.get_subscription_count() > 0, timeout=30)
    ros.spin_for(1.5)
    assert commands == [] and process.poll() is None
    process.send_signal(2)
    output = process.communicate(timeout=10)[0]
    assert "joint_state rejected" in output and "lacks joints ['joint3']" in output


def test_joint_names_that_do_not_fit_the_model_stop_the_node_with_a_clear_error(spawn):
    process = start_controller(spawn, "-p", "joint_names:=[joint1,joint2,wrist]")
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 1
    assert "no inputs ['wrist/effort']" in output
