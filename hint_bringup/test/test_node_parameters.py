"""The simulator, expert, teleop and recorder nodes check every parameter at start-up against their
schema: a bad value stops the node with one line naming the parameter and what it allows (exit
status 1)."""

import math

import pytest

pytestmark = pytest.mark.ros


def node_classes():
    from hint_bringup.expert_node import ExpertNode
    from hint_bringup.recorder_node import RecorderNode
    from hint_bringup.sim_node import SimNode
    from hint_bringup.teleop_node import TeleopNode

    return {"sim": SimNode, "expert": ExpertNode, "teleop": TeleopNode, "recorder": RecorderNode}


@pytest.mark.parametrize(("node", "name", "value", "line"), [
    ("sim", "command_timeout", 0.0, "command_timeout must be a finite number > 0, got 0.0"),
    ("sim", "real_time_factor", math.nan, "real_time_factor must be a finite number in [0, 1000], got nan"),
    ("sim", "image_rate_hz", -1, "image_rate_hz must be a finite number >= 0, got -1.0"),  # an integer for a double
    ("sim", "safe_mode", "stop", "safe_mode must be one of '', zero, hover, gravity_compensation, brake, got 'stop'"),
    ("sim", "state_format", "joint_states", "state_format must be one of state_vector, joint_state, got 'joint_states'"),
    ("sim", "command_interface", "torque", "command_interface must be one of effort, velocity, position, got 'torque'"),
    ("sim", "publish_clock", "yes", "publish_clock must be true or false, got 'yes'"),
    ("sim", "environment", "nope", "environment: unknown environment 'nope', expected one of (..."),
    ("expert", "environment", "quadrotor_stabilize",
     "environment must be one of pusht, quadrotor, arm, panda, can, square, got 'quadrotor_stabilize'"),
    ("expert", "chunk_length", 0, "chunk_length must be an integer >= 1, got 0"),
    ("expert", "exec_knots", 20, "exec_knots must be an integer in [1, 16] (chunk_length), got 20"),
    ("teleop", "deadzone", 1.0, "deadzone must be a finite number in [0, 1), got 1.0"),
    ("teleop", "axes", [0, -1], "axes must be a non-empty list of integers, each an integer >= 0, got [0, -1]"),
    ("teleop", "joy_timeout", math.inf, "joy_timeout must be a finite number >= 0, got inf"),
    ("teleop", "target_states", ["agent_x", "agent_q"],
     "target_states, target_rates: names ['agent_q'] not among [..."),
    ("recorder", "storage", "rosbag", "storage must be one of mcap, sqlite3, got 'rosbag'"),
    ("recorder", "flush_period", 0.001, "flush_period must be 0 or a finite number >= 0.01, got 0.001"),
    ("recorder", "queue_depth", 0, "queue_depth must be an integer >= 1, got 0"),
    ("recorder", "output_dir", "", "output_dir must be a non-empty string, got ''"),
])
def test_constructing_a_node_with_a_bad_parameter_raises_one_line(ros, tmp_path, node, name, value, line):
    """`line` ending in "..." is the start of the line (the rest lists what the environment has)."""
    from rclpy.parameter import Parameter

    overrides = [Parameter(name, value=value)]
    if node == "recorder" and name != "output_dir":
        overrides.append(Parameter("output_dir", value=str(tmp_path)))
    with pytest.raises(ValueError) as raised:
        node_classes()[node](context=ros.context, parameter_overrides=overrides)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(line.removesuffix("...")) if line.endswith("...") else message == line


def test_the_schema_is_what_the_node_declares_read_only(ros, tmp_path):
    from rclpy.parameter import Parameter

    recorder = node_classes()["recorder"](context=ros.context, parameter_overrides=[
        Parameter("output_dir", value=str(tmp_path)), Parameter("flush_period", value=1)])  # an integer for a double
    ros.nodes.append(recorder)
    from hint_bringup.recorder_node import PARAMETERS
    from hint_controller.parameter_schema import RCLPY_PARAMETERS

    declared = set(recorder.list_parameters([], 0).names) - set(RCLPY_PARAMETERS)
    assert declared == {spec.name for spec in PARAMETERS}  # the schema, all of it
    assert recorder.get_parameter("flush_period").value == 1.0
    assert not recorder.set_parameters([Parameter("max_episodes", value=3)])[0].successful
    descriptor = recorder.describe_parameter("flush_period")
    assert descriptor.read_only and descriptor.additional_constraints == "0 or a finite number >= 0.01"


def test_a_bad_parameter_stops_the_node_with_one_line_and_status_1(spawn):
    process = spawn("-m", "hint_bringup.sim_node", "--ros-args", "-p", "command_timeout:=-0.1")
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 1, output
    assert output.strip().splitlines() == ["sim: command_timeout must be a finite number > 0, got -0.1"], output
