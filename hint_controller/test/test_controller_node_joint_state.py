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


@pytest.mark.parametrize("interface", ["position", "velocity"])
def test_position_and_velocity_interfaces_hold_the_arm_then_send_the_chunks_commands(ros, spawn, interface):
    """A servoed arm behind a position or velocity forward command controller: the controller's model
    is the servo (model:=<interface>_servo), its safe command holds the joints, and a composite
    action's commands arrive in the array's joint order."""
    from hint_controller.action_messages import action_to_msg
    from hint_controller.composite_action import CompositeAction
    from hint_controller.dynamics import make_model
    from hint_controller.qos import CHUNK_QOS
    from hint_msgs.msg import CompositeAction as CompositeActionMsg

    process = spawn(
        "-m", "hint_controller.controller_node", "--ros-args", "-p", f"model:={interface}_servo",
        "-p", "state_source:=joint_state", "-p", "command_format:=float64_multi_array",
        "-p", f"command_interface:={interface}", "-p", "rate_hz:=100.0", "-p", "state_timeout:=0.5",
        "-p", f"joint_names:=[{','.join(JOINT_ORDER)}]",
    )
    commands, _ = arm_driver(ros, ("joint2", "joint3", "joint1"))
    assert ros.spin_until(lambda: len(commands) >= 5, timeout=30), (
        process.stdout.read() if process.poll() is not None else "no commands"
    )
    held = [POSITIONS[j] for j in JOINT_ORDER] if interface == "position" else [0.0, 0.0, 0.0]
    np.testing.assert_allclose(commands[-1].data, held, atol=1e-12)  # safe: the joints stay where they are

    model = make_model(f"{interface}_servo")
    x = np.array([POSITIONS["joint1"], POSITIONS["joint2"], POSITIONS["joint3"], 0.0, 0.0, 0.0])
    target = np.array([0.1, 0.2, 0.3])  # joint1..3 commands, model order
    gains = np.zeros((20, 3, 6))
    gains[:, :, :3] = -0.5 * np.eye(3)  # u = u_ff - 0.5 (q - q_ref)
    node = ros.node("chunk_source")
    publisher = node.create_publisher(CompositeActionMsg, "composite_action", CHUNK_QOS)
    assert ros.spin_until(lambda: publisher.get_subscription_count() > 0, timeout=10)
    x_ref = np.tile(x - np.r_[0.1, 0.0, 0.0, 0, 0, 0], (20, 1))  # joint1 0.1 rad beyond its reference
    start = node.get_clock().now().nanoseconds * 1e-9
    publisher.publish(action_to_msg(CompositeAction(x_ref, np.tile(target, (20, 1)), gains, 0.05, start,
                                                    model.state_names, model.input_names, sequence=1)))
    expected = (target - 0.5 * np.r_[0.1, 0.0, 0.0])[[2, 0, 1]]  # in the array's joint order
    assert ros.spin_until(lambda: np.allclose(commands[-1].data, expected, atol=1e-9), timeout=10), commands[-1].data


def test_after_an_episode_start_nothing_is_commanded_until_the_new_episodes_state(ros, spawn):
    """A simulator teleports the arm at a reset: a hold built on the last state before the START
    would command the old pose (a position-servoed arm jumps back). The controller waits for a
    state stamped at or after the START."""
    from hint_controller.qos import EVENT_QOS
    from hint_msgs.msg import EpisodeEvent
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray

    process = spawn(
        "-m", "hint_controller.controller_node", "--ros-args", "-p", "model:=''", "-p", "state_source:=joint_state",
        "-p", "command_format:=float64_multi_array", "-p", "command_interface:=position", "-p", "rate_hz:=100.0",
        "-p", "state_timeout:=5.0",
    )
    node = ros.node("reset_driver")
    commands = []
    node.create_subscription(Float64MultiArray, "command", commands.append,
                             QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT))
    states = node.create_publisher(JointState, "state", 10)
    events = node.create_publisher(EpisodeEvent, "episode_event", EVENT_QOS)

    def publish_state(stamp_s: float, q: list[float]) -> None:
        message = JointState(name=["joint1", "joint2", "joint3"], position=q, velocity=[0.0] * 3)
        message.header.stamp.sec, message.header.stamp.nanosec = int(stamp_s), int(round(stamp_s % 1 * 1e9))
        states.publish(message)

    old_pose, new_pose = [0.4, -0.3, 0.2], [-0.5, 0.6, 0.1]
    assert ros.spin_until(lambda: (publish_state(100.0, old_pose), len(commands) >= 3)[1], timeout=30), (
        process.stdout.read() if process.poll() is not None else "no commands")
    np.testing.assert_allclose(commands[-1].data, old_pose)  # model from command_interface: position_servo holds
    events.publish(_start_event(EpisodeEvent, 101))
    ros.spin_for(1.0)  # the START arrives; the latest state (stamped 100 s) is the old episode's
    count = len(commands)
    ros.spin_for(0.5)
    assert len(commands) == count  # nothing commanded on the old pose
    publish_state(101.01, new_pose)
    assert ros.spin_until(lambda: len(commands) > count and np.allclose(commands[-1].data, new_pose), timeout=10)


def _start_event(message_type, stamp_s: int):
    event = message_type(event=message_type.EVENT_START, episode_index=1, seed=7)
    event.header.stamp.sec = stamp_s
    return event
