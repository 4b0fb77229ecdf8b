"""The controller node's parameter table: every value is checked against its range at start-up, a
bad one stops the node with one line naming the parameter and its range (exit status 1)."""

import math

import pytest

from hint_controller.controller_parameters import CONTROLLER_PARAMETERS, DOUBLE, DOUBLE_ARRAY, INTEGER

SPECS = {spec.name: spec for spec in CONTROLLER_PARAMETERS}


def test_every_default_is_allowed_and_every_number_has_a_range():
    for spec in CONTROLLER_PARAMETERS:
        assert spec.check(spec.default) is None, spec.name
        assert spec.description, spec.name
        if spec.kind in (DOUBLE, INTEGER, DOUBLE_ARRAY):
            assert spec.range is not None, spec.name


@pytest.mark.parametrize(("name", "value", "line"), [
    ("status_rate_hz", 0.0, "status_rate_hz must be a finite number in [0.01, 1000], got 0.0"),
    ("state_timeout", math.nan, "state_timeout must be a finite number > 0, got nan"),
    ("state_timeout", -1.0, "state_timeout must be a finite number > 0, got -1.0"),
    ("state_timeout", math.inf, "state_timeout must be a finite number > 0, got inf"),
    ("state_timeout", "abc", "state_timeout must be a finite number > 0, got 'abc'"),
    ("rate_hz", 0.5, "rate_hz must be a finite number in [1, 5000], got 0.5"),
    ("resume_after_states", 0, "resume_after_states must be an integer >= 1, got 0"),
    ("max_knots", 2.5, "max_knots must be an integer in [1, 1000000], got 2.5"),
    ("max_pending_chunks", True, "max_pending_chunks must be an integer in [1, 1024], got True"),
    ("grace_period", -0.1, "grace_period must be a finite number >= 0, got -0.1"),
    ("servo_damping", [1.0, -1.0], "servo_damping must be a list of numbers, each a finite number >= 0, got [1.0, -1.0]"),
    ("realtime_priority", 100, "realtime_priority must be 0 (off) or a SCHED_FIFO priority 1-99, got 100"),
    ("model", 3, "model must be a string, got 3"),
])
def test_a_value_outside_its_range_gives_one_line_naming_the_parameter_and_the_range(name, value, line):
    assert SPECS[name].check(value) == line


@pytest.mark.ros
@pytest.mark.parametrize(("name", "value", "problem"), [
    ("status_rate_hz", 0.0, "status_rate_hz must be a finite number in [0.01, 1000], got 0.0"),
    ("state_timeout", math.nan, "state_timeout must be a finite number > 0, got nan"),
    ("state_timeout", -1.0, "state_timeout must be a finite number > 0, got -1.0"),
    ("state_timeout", -1, "state_timeout must be a finite number > 0, got -1.0"),  # an integer for a double
    ("max_knot_period", math.inf, "max_knot_period must be a finite number > 0, got inf"),
    ("bound_margin", -0.5, "bound_margin must be a finite number >= 0, got -0.5"),
    ("resume_after_states", 0, "resume_after_states must be an integer >= 1, got 0"),
    ("max_pending_chunks", 2.0, "max_pending_chunks must be an integer in [1, 1024], got 2.0"),
    ("rate_hz", "fast", "rate_hz must be a finite number in [1, 5000], got 'fast'"),
])
def test_constructing_the_node_with_a_bad_parameter_raises_one_line(ros, name, value, problem):
    from rclpy.parameter import Parameter

    from hint_controller.controller_node import ControllerNode

    with pytest.raises(ValueError) as raised:
        ControllerNode(context=ros.context, parameter_overrides=[Parameter(name, value=value)])
    assert str(raised.value) == problem


@pytest.mark.ros
def test_integers_are_taken_for_doubles_and_the_parameters_are_read_only_at_run_time(ros):
    from rclpy.parameter import Parameter

    from hint_controller.controller_node import ControllerNode

    controller = ControllerNode(context=ros.context, parameter_overrides=[
        Parameter("rate_hz", value=200), Parameter("state_timeout", value=1), Parameter("resume_after_states", value=3),
    ])
    ros.nodes.append(controller)
    assert (controller.rate_hz, controller.state_timeout, controller.resume_after_states) == (200.0, 1.0, 3)
    assert controller.get_parameter("rate_hz").type_ == Parameter.Type.DOUBLE
    # read at start-up only: a change at run time is refused, not accepted and ignored
    for value in (math.nan, 0.2):
        result = controller.set_parameters([Parameter("state_timeout", value=value)])[0]
        assert not result.successful
    assert controller.get_parameter("state_timeout").value == 1.0
    descriptor = controller.describe_parameter("state_timeout")
    assert descriptor.read_only and descriptor.additional_constraints == "a finite number > 0"


@pytest.mark.ros
@pytest.mark.parametrize(("argument", "line"), [
    ("status_rate_hz:=0.0", "hint_controller: status_rate_hz must be a finite number in [0.01, 1000], got 0.0"),
    ("state_timeout:=nan", "hint_controller: state_timeout must be a finite number > 0, got nan"),
])
def test_a_bad_parameter_stops_the_node_with_one_line_and_status_1(spawn, argument, line):
    process = spawn("-m", "hint_controller.controller_node", "--ros-args", "-p", argument)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 1, output
    assert output.strip().splitlines() == [line], output
