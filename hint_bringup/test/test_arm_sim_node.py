"""The simulator behind ros2_control-style topics with the arm: JointState out on joint_states,
Float64MultiArray efforts in on command ordered by joint_names (over real DDS)."""

from __future__ import annotations

import numpy as np
import pytest
from test_sim_node import _ns, _output

pytestmark = pytest.mark.ros

URDF_JOINTS = ["joint1", "joint2", "joint3"]
COMMAND_ORDER = ["joint3", "joint1", "joint2"]  # not the URDF's order, on purpose




def test_arm_sim_publishes_joint_states_and_takes_forward_commands(ros, spawn):
    from hint_msgs.msg import InputVector, StateVector
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray

    from hint_policy.envs.arm import ArmReachEnv

    sim = spawn("-m", "hint_bringup.sim_node", "--ros-args", "-p", "environment:=arm", "-p", "seed:=0",
                "-p", "state_format:=joint_state", "-p", "command_format:=float64_multi_array",
                "-p", f"joint_names:=[{', '.join(COMMAND_ORDER)}]", "-p", "image_rate_hz:=0.0",
                "-p", "command_timeout:=5.0", "-p", "auto_reset:=false")
    node = ros.node("arm_sim_probe")
    reliable = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
    joint_states, states, applied = [], [], []
    node.create_subscription(JointState, "joint_states", joint_states.append, reliable)
    node.create_subscription(StateVector, "state", states.append, reliable)
    node.create_subscription(InputVector, "applied_input", applied.append, reliable)
    commands = node.create_publisher(Float64MultiArray, "command", QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
    assert ros.spin_until(lambda: len(joint_states) > 5 and len(states) > 5, timeout=60), f"no joint states: {_output(sim)}"

    # JointState: the URDF's joints, their positions and velocities as in the full state
    env = ArmReachEnv()
    start = env.reset(0)
    first = joint_states[0]
    assert list(first.name) == URDF_JOINTS
    assert len(first.position) == len(first.velocity) == len(first.effort) == 3
    full = {_ns(m.header.stamp): np.array(m.values) for m in states}
    assert list(states[0].names) == list(env.state_names)  # goal point included for the policy
    for msg in joint_states[:5]:
        state = full[_ns(msg.header.stamp)]
        np.testing.assert_allclose(msg.position, state[:3])
        np.testing.assert_allclose(msg.velocity, state[3:6])
    np.testing.assert_allclose(full[_ns(first.header.stamp)], start)

    # efforts in joint_names order are applied in the model's order and reported as effort
    hold = env.model.gravity_compensation(start[:6]) + np.array([0.5, -0.25, 0.125])
    command = Float64MultiArray(data=[float(hold[2]), float(hold[0]), float(hold[1])])
    assert ros.spin_until(lambda: commands.publish(command) or any(np.allclose(a.values, hold) for a in applied), 5)
    assert ros.spin_until(lambda: any(np.allclose(m.effort, hold) for m in joint_states), 2)
    # effort = the input applied over the step that ended at the JointState's stamp
    applied_at = {_ns(a.header.stamp): np.array(a.values) for a in applied}
    pairs = [(m.effort, applied_at[_ns(m.header.stamp) - 10_000_000]) for m in joint_states
             if _ns(m.header.stamp) - 10_000_000 in applied_at]
    assert len(pairs) > 5
    for effort, applied_input in pairs:
        np.testing.assert_allclose(effort, applied_input)

    # a wrong-length array is rejected and the held command stays applied
    commands.publish(Float64MultiArray(data=[1.0, 2.0]))
    applied.clear()
    ros.spin_for(0.3)
    assert applied and all(np.allclose(a.values, hold) for a in applied)

    # an episode's first state: nothing applied yet, effort zeros
    from hint_msgs.srv import ResetEpisode

    reset = node.create_client(ResetEpisode, "reset")
    assert ros.spin_until(reset.service_is_ready, timeout=10)
    future = reset.call_async(ResetEpisode.Request(seed=1))
    assert ros.spin_until(future.done, timeout=10) and future.result().success
    stamp = _ns(future.result().initial_state.header.stamp)
    assert ros.spin_until(lambda: any(_ns(m.header.stamp) == stamp for m in joint_states), 2)
    first_of_episode = next(m for m in joint_states if _ns(m.header.stamp) == stamp)
    np.testing.assert_allclose(first_of_episode.position, env.reset(1)[:3])
    np.testing.assert_array_equal(first_of_episode.effort, 0.0)
    sim.send_signal(2)
    sim.wait(timeout=10)
    assert "command rejected: command has 2 values, expected 3 (for ['joint3', 'joint1', 'joint2'])" in _output(sim)


def test_arm_sim_refuses_bad_joint_configuration(ros):
    from rclpy.parameter import Parameter

    from hint_bringup.sim_node import SimNode

    def make(**parameters):
        overrides = [Parameter(name, value=value) for name, value in {"environment": "arm", **parameters}.items()]
        return SimNode(context=ros.context, parameter_overrides=overrides)

    with pytest.raises(ValueError, match=r"the model has no inputs \['elbow/effort'\]"):
        make(command_format="float64_multi_array", joint_names=["joint1", "elbow", "joint3"])
    with pytest.raises(ValueError, match=r"leave the model inputs \['joint3/effort'\] uncommanded"):
        make(command_format="float64_multi_array", joint_names=["joint1", "joint2"])
    with pytest.raises(ValueError, match="state_format must be one of"):
        make(state_format="joint_states")
    with pytest.raises(ValueError, match="environment 'pusht': 'agent_x' is not a '<joint>/<field>' name"):
        make(environment="pusht", state_format="joint_state")


def test_the_manipulation_sim_publishes_the_object_pose_beside_the_joint_states(ros):
    """object_pose carries the state's object/x ... object/qw, stamped like the state it belongs to."""
    from geometry_msgs.msg import PoseStamped
    from hint_msgs.msg import StateVector
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from hint_bringup.sim_node import SimNode
    from hint_controller.pose import pose_state_names, pose_to_vector

    parameters = {"environment": "can", "poses": ["object"], "state_format": "joint_state", "image_rate_hz": 0.0,
                  "real_time_factor": 0.0, "publish_clock": False}
    sim = SimNode(context=ros.context, parameter_overrides=[Parameter(k, value=v) for k, v in parameters.items()])
    ros.executor.add_node(sim)
    ros.nodes.append(sim)
    probe = ros.node("object_pose_probe")
    reliable = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
    poses, states = [], []
    probe.create_subscription(PoseStamped, "object_pose", poses.append, reliable)
    probe.create_subscription(StateVector, "state", states.append, reliable)
    assert ros.spin_until(lambda: len(poses) > 5 and len(states) > 5, timeout=60)
    full = {_ns(m.header.stamp): dict(zip(m.names, m.values, strict=True)) for m in states}
    matched = [(pose, full[_ns(pose.header.stamp)]) for pose in poses if _ns(pose.header.stamp) in full]
    assert len(matched) > 5
    for pose, state in matched:
        assert pose.header.frame_id == "world"
        np.testing.assert_allclose(pose_to_vector(pose), [state[name] for name in pose_state_names("object")])
    with pytest.raises(ValueError, match=r"poses: environment 'arm' has no states \['peg/x'"):
        SimNode(context=ros.context, parameter_overrides=[Parameter("environment", value="arm"),
                                                          Parameter("poses", value=["peg"])])
