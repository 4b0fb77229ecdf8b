"""The policy node on a ros2_control arm: observes sensor_msgs/JointState and the forward command
controller's std_msgs/Float64MultiArray, publishes composite actions over DDS."""

import numpy as np
import pytest

pytestmark = pytest.mark.ros

from policy_test_utils import train_tiny_arm  # noqa: E402  (same folder)

#: the forward command controller's joint order, unlike the model's joint1, joint2, joint3
JOINT_ORDER = ("joint3", "joint1", "joint2")


@pytest.fixture(scope="module")
def arm_checkpoint(tmp_path_factory):
    path, _ = train_tiny_arm(tmp_path_factory.mktemp("policy_node_arm"))
    return path


def start_policy(spawn, checkpoint, *extra):
    return spawn("-m", "hint_policy.policy_node", "--ros-args", "-p", f"checkpoint:={checkpoint}",
                 "-p", "exec_knots:=2", "-p", "seed:=3", "-p", "state_source:=joint_state",
                 "-p", "command_format:=float64_multi_array", "-p", "command_interface:=effort", *extra)


def arm_feeder(ros, joints=("gripper", "joint2", "joint3", "joint1"), command_size=3):
    """A test node publishing the arm's JointState (in `joints` order) and the applied command at 100 Hz."""
    from hint_msgs.msg import CompositeAction
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray

    node = ros.node("policy_arm_feeder")
    chunks = []
    node.create_subscription(CompositeAction, "composite_action", chunks.append,
                             QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    state_pub = node.create_publisher(JointState, "/joint_states", 10)
    command_pub = node.create_publisher(Float64MultiArray, "/effort_controller/commands", 10)
    positions = {"gripper": 0.0, "joint1": 0.2, "joint2": -0.1, "joint3": 0.3}

    def publish():
        state_pub.publish(JointState(name=list(joints), position=[positions[j] for j in joints],
                                     velocity=[0.0] * len(joints)))
        command_pub.publish(Float64MultiArray(data=[-1.0, -20.0, -6.0][:command_size]))

    node.create_timer(0.01, publish)
    return chunks, state_pub


def remapped(*extra):
    """The hardware graph's remappings: ros2_control's topics."""
    return ("-r", "state:=/joint_states", "-r", "command:=/effort_controller/commands", *extra)


def test_policy_node_plans_from_joint_states_and_forward_commands(ros, spawn, arm_checkpoint):
    from hint_controller.dynamics.manipulator import Manipulator
    from hint_msgs.conversions import composite_action_from_msg

    process = start_policy(spawn, arm_checkpoint, "-p", f"joint_names:=[{','.join(JOINT_ORDER)}]", *remapped())
    chunks, _ = arm_feeder(ros)
    assert ros.spin_until(lambda: len(chunks) >= 3, timeout=60), (
        f"{len(chunks)} chunks; node output: {process.stdout.read() if process.poll() is not None else 'running'}"
    )
    model = Manipulator()
    parsed = [composite_action_from_msg(c, state_names=model.state_names, input_names=model.input_names) for c in chunks]
    assert all(p.x_ref.shape == (4, 6) and p.u_ff.shape == (4, 3) and p.gains.shape == (4, 3, 6) for p in parsed)
    assert all(np.all(np.isfinite(p.x_ref)) and np.all(np.isfinite(p.gains)) for p in parsed)
    sequences = [p.sequence for p in parsed]
    assert sequences == sorted(sequences) and sequences[0] >= 1


def test_command_array_of_the_wrong_size_is_reported(ros, spawn, arm_checkpoint):
    process = start_policy(spawn, arm_checkpoint, *remapped())
    _, state_pub = arm_feeder(ros, command_size=2)
    assert ros.spin_until(lambda: state_pub.get_subscription_count() > 0, timeout=60)
    ros.spin_for(1.5)
    assert process.poll() is None
    process.send_signal(2)
    output = process.communicate(timeout=10)[0]
    assert "command does not match the policy" in output and "2 values, expected 3" in output


def test_joint_state_missing_a_joint_is_reported_and_nothing_published(ros, spawn, arm_checkpoint):
    process = start_policy(spawn, arm_checkpoint, *remapped())
    chunks, state_pub = arm_feeder(ros, joints=("joint1", "joint2"))
    assert ros.spin_until(lambda: state_pub.get_subscription_count() > 0, timeout=60)
    ros.spin_for(1.5)
    assert process.poll() is None and chunks == []
    process.send_signal(2)
    output = process.communicate(timeout=10)[0]
    assert "joint_state does not match the policy" in output and "lacks joints ['joint3']" in output


def test_joint_names_that_do_not_fit_the_policy_stop_the_node_with_a_clear_error(spawn, arm_checkpoint):
    process = start_policy(spawn, arm_checkpoint, "-p", "joint_names:=[joint1,joint2]")
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 1
    assert "leave the model inputs ['joint3/effort'] uncommanded" in output


def test_poses_the_policy_cannot_use_are_refused_in_one_line(ros, arm_checkpoint):
    from rclpy.parameter import Parameter

    from hint_controller.pose import PoseError
    from hint_policy.policy_node import PolicyNode

    def make(**parameters):
        overrides = [Parameter(k, value=v) for k, v in {"checkpoint": str(arm_checkpoint), **parameters}.items()]
        return PolicyNode(context=ros.context, parameter_overrides=overrides)

    with pytest.raises(ValueError, match=r"poses \['object'\] need state_source joint_state"):
        make(poses=["object"])
    with pytest.raises(PoseError, match=r"the policy observes no coordinate of the poses \['object'\]"):
        make(poses=["object"], state_source="joint_state")
