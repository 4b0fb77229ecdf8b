"""Every parameter value the graphs pass (their YAML files, the overrides their launch arguments
imply, the recorder's parameters) lies within the schema of the node it goes to, so no graph starts
a node that stops at once on a bad value."""

import pytest

pytestmark = pytest.mark.ros  # the node modules import rclpy


def test_every_value_the_graphs_pass_lies_within_the_schemas():
    from hint_bringup import expert_node, graphs, recorder_node, sim_node, teleop_node
    from hint_controller.controller_parameters import CONTROLLER_PARAMETERS
    from hint_controller.node_main import ros2_control_parameters
    from hint_controller.parameter_schema import RCLPY_PARAMETERS, check_values
    from hint_policy import policy_node

    tables = {"sim": sim_node.PARAMETERS, "controller": CONTROLLER_PARAMETERS + ros2_control_parameters("model"),
              "policy": policy_node.PARAMETERS, "expert": expert_node.PARAMETERS,
              "teleop": teleop_node.PARAMETERS, "recorder": recorder_node.PARAMETERS}
    for name in graphs.GRAPHS:
        graph = graphs.graph(name)
        for driver in graph.drivers or [""]:
            arguments = {"record": "true", "checkpoint": "policy.pt", **({"driver": driver} if driver else {})}
            files, overrides = graph.parameters(), graph.overrides(arguments)
            overrides["recorder"] = graph.recorder_parameters(arguments)
            for node in {*files, *overrides}:
                values = {name: value for name, value in {**files.get(node, {}), **overrides.get(node, {})}.items()
                          if name not in RCLPY_PARAMETERS}
                try:
                    check_values(tables[node], values)
                except ValueError as error:
                    raise AssertionError(f"{name} (driver {driver or '-'}), node {node}: {error}") from None
