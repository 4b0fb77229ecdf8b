"""The policy node checks every parameter at start-up against its schema, and the values only its
checkpoint bounds (exec_knots, sampler_steps) once it is loaded: a bad value raises one line naming
the parameter and what it allows, which ends the node with status 1."""

import math

import pytest

pytestmark = pytest.mark.ros

from policy_test_utils import train_tiny  # noqa: E402  (same folder)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path, _ = train_tiny(tmp_path_factory.mktemp("policy_node_parameters"))
    return str(path)


def construct(ros, **parameters):
    from rclpy.parameter import Parameter

    from hint_policy.policy_node import PolicyNode

    node = PolicyNode(context=ros.context,
                      parameter_overrides=[Parameter(name, value=value) for name, value in parameters.items()])
    ros.nodes.append(node)
    return node


@pytest.mark.parametrize(("parameters", "line"), [
    ({}, "checkpoint must be a non-empty string, got nothing"),
    ({"checkpoint": ""}, "checkpoint must be a non-empty string, got ''"),
    ({"checkpoint": "p.pt", "sigma": -0.5}, "sigma must be -1 or a finite number >= 0, got -0.5"),
    ({"checkpoint": "p.pt", "sigma": math.nan}, "sigma must be -1 or a finite number >= 0, got nan"),
    ({"checkpoint": "p.pt", "sampler": "dpm"}, "sampler must be one of ddim, ddpm, got 'dpm'"),
    ({"checkpoint": "p.pt", "sampler_steps": 0}, "sampler_steps must be an integer >= 1, got 0"),
    ({"checkpoint": "p.pt", "handover": "blend"}, "handover must be one of none, inpaint, got 'blend'"),
    ({"checkpoint": "p.pt", "torch_threads": 0}, "torch_threads must be an integer >= 1, got 0"),
    ({"checkpoint": "p.pt", "seed": -2}, "seed must be an integer >= -1, got -2"),
    ({"checkpoint": "p.pt", "certify": "no"}, "certify must be true or false, got 'no'"),
    ({"checkpoint": "p.pt", "state_source": "joints"}, "state_source must be one of state_vector, joint_state, got 'joints'"),
    ({"checkpoint": "p.pt", "device": "gpu"}, "device: Expected one of "),
])
def test_a_bad_parameter_raises_one_line_before_the_checkpoint_is_read(ros, parameters, line):
    with pytest.raises(ValueError) as raised:
        construct(ros, **parameters)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(line) if line.endswith(" ") else message == line


def test_a_missing_checkpoint_is_one_line_naming_the_file(ros, tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(ValueError) as raised:
        construct(ros, checkpoint=str(missing))
    assert str(raised.value) == f"{missing}: checkpoint does not exist"


@pytest.mark.parametrize(("parameters", "line"), [
    ({"exec_knots": 5}, "exec_knots must be 0 (half the chunk) or an integer in [1, 4] (the checkpoint's chunk length), got 5"),
    ({"sampler_steps": 31}, "{checkpoint} with sampler ddim, sampler_steps 31: DDIM steps must be in [1, 30], got 31"),
])
def test_values_the_checkpoint_bounds_are_checked_once_it_is_loaded(ros, checkpoint, parameters, line):
    with pytest.raises(ValueError) as raised:
        construct(ros, checkpoint=checkpoint, **parameters)
    assert str(raised.value) == line.format(checkpoint=checkpoint)


def test_the_schema_is_what_the_node_declares_read_only(ros, checkpoint):
    from rclpy.parameter import Parameter

    from hint_controller.parameter_schema import RCLPY_PARAMETERS
    from hint_policy.policy_node import PARAMETERS

    node = construct(ros, checkpoint=checkpoint, exec_knots=0, sigma=0)  # an integer for a double
    declared = set(node.list_parameters([], 0).names) - set(RCLPY_PARAMETERS)
    assert declared == {spec.name for spec in PARAMETERS}  # the schema, all of it
    assert node.exec_knots == 2 and node.get_parameter("sigma").value == 0.0
    assert not node.set_parameters([Parameter("sigma", value=0.1)])[0].successful
    assert node.describe_parameter("handover").additional_constraints == "one of none, inpaint"
