"""JointState and forward-command arrays <-> hint's named vectors (hint_controller.joint_state)."""

from types import SimpleNamespace

import numpy as np
import pytest

from hint_controller.joint_state import ForwardCommandLayout, JointStateError, joint_state_to_vector, vector_to_joint_state

ARM_STATES = ("joint1/position", "joint2/position", "joint3/position",
              "joint1/velocity", "joint2/velocity", "joint3/velocity")
ARM_INPUTS = ("joint1/effort", "joint2/effort", "joint3/effort")


def joint_state(name, position=(), velocity=(), effort=()):
    """A JointState-shaped message (the conversions read fields only)."""
    return SimpleNamespace(name=list(name), position=list(position), velocity=list(velocity), effort=list(effort))


def test_joints_are_matched_by_name_in_any_order_and_extra_joints_are_ignored():
    msg = joint_state(["gripper", "joint3", "joint1", "joint2"], position=[9.0, 0.3, 0.1, 0.2],
                      velocity=[9.0, -3.0, -1.0, -2.0], effort=[0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(joint_state_to_vector(msg, ARM_STATES), [0.1, 0.2, 0.3, -1.0, -2.0, -3.0])
    np.testing.assert_array_equal(joint_state_to_vector(msg, ("joint2/velocity", "joint1/effort")), [-2.0, 0.0])


def test_missing_joints_and_fields_are_named():
    with pytest.raises(JointStateError, match=r"lacks joints \['joint3'\].*'joint1', 'joint2'"):
        joint_state_to_vector(joint_state(["joint1", "joint2"], [0, 0], [0, 0]), ARM_STATES)
    with pytest.raises(JointStateError, match="carries no velocity"):
        joint_state_to_vector(joint_state(["joint1", "joint2", "joint3"], [0, 0, 0]), ARM_STATES)
    with pytest.raises(JointStateError, match="3 names but 2 velocity values"):
        joint_state_to_vector(joint_state(["joint1", "joint2", "joint3"], [0, 0, 0], [0, 0]), ARM_STATES)
    with pytest.raises(JointStateError, match="non-finite values for \\['joint2/velocity'\\]"):
        joint_state_to_vector(joint_state(["joint1", "joint2", "joint3"], [0, 0, 0], [0, np.nan, 0]), ARM_STATES)
    with pytest.raises(JointStateError, match="twice"):
        joint_state_to_vector(joint_state(["joint1", "joint1"], [0, 0], [0, 0]), ("joint1/position",))
    with pytest.raises(JointStateError, match="not a '<joint>/<field>' name"):
        joint_state_to_vector(joint_state(["joint1"], [0]), ("agent_x",))
    with pytest.raises(JointStateError, match=r"fields \['acceleration'\]"):
        joint_state_to_vector(joint_state(["joint1"], [0]), ("joint1/acceleration",))


def test_vector_to_joint_state_is_the_inverse():
    pytest.importorskip("sensor_msgs.msg", reason="sensor_msgs (ROS 2) is not installed")
    values = np.array([0.1, 0.2, 0.3, -1.0, -2.0, -3.0])
    msg = vector_to_joint_state(values, ARM_STATES, stamp=12.25)
    assert list(msg.name) == ["joint1", "joint2", "joint3"] and len(msg.effort) == 0
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (12, 250_000_000)
    np.testing.assert_array_equal(joint_state_to_vector(msg, ARM_STATES), values)
    shuffled = ARM_STATES[::-1]
    np.testing.assert_array_equal(joint_state_to_vector(vector_to_joint_state(values, ARM_STATES), shuffled), values[::-1])
    with pytest.raises(JointStateError, match=r"joints \['joint3'\] lack some of the fields"):
        vector_to_joint_state(values[:5], ARM_STATES[:5])
    with pytest.raises(JointStateError, match="expected 6 values"):
        vector_to_joint_state(values[:5], ARM_STATES)


def test_forward_command_layout_orders_the_array_by_joint_names():
    layout = ForwardCommandLayout(ARM_INPUTS, ("joint3", "joint1", "joint2"), "effort")
    inputs = np.array([1.0, 2.0, 3.0])
    assert layout.to_array(inputs) == [3.0, 1.0, 2.0]
    np.testing.assert_array_equal(layout.from_array([3.0, 1.0, 2.0]), inputs)
    identity = ForwardCommandLayout(ARM_INPUTS)
    assert identity.to_array(inputs) == [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(identity.from_array([1.0, 2.0, 3.0]), inputs)


def test_forward_command_layout_refuses_what_does_not_fit_the_model():
    with pytest.raises(JointStateError, match=r"no inputs \['joint1/velocity'"):
        ForwardCommandLayout(ARM_INPUTS, ("joint1", "joint2", "joint3"), "velocity")
    with pytest.raises(JointStateError, match=r"no inputs \['wrist/effort'\]"):
        ForwardCommandLayout(ARM_INPUTS, ("joint1", "joint2", "wrist"), "effort")
    with pytest.raises(JointStateError, match=r"leave the model inputs \['joint3/effort'\] uncommanded"):
        ForwardCommandLayout(ARM_INPUTS, ("joint1", "joint2"), "effort")
    with pytest.raises(JointStateError, match="twice"):
        ForwardCommandLayout(ARM_INPUTS, ("joint1", "joint1", "joint2", "joint3"), "effort")
    with pytest.raises(JointStateError, match="command_interface must be one of"):
        ForwardCommandLayout(ARM_INPUTS, (), "torque")
    layout = ForwardCommandLayout(ARM_INPUTS, ("joint1", "joint2", "joint3"))
    with pytest.raises(JointStateError, match=r"2 values, expected 3 \(for \['joint1', 'joint2', 'joint3'\]\)"):
        layout.from_array([1.0, 2.0])
    with pytest.raises(JointStateError, match="non-finite"):
        layout.from_array([1.0, np.inf, 2.0])
