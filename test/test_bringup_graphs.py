"""The launch files and the launch-free runner describe the same nodes and parameters."""

import importlib.util
from pathlib import Path

import pytest
import yaml

from hint_bringup.graphs import COMMON_ARGUMENTS, GRAPHS, graph
from hint_bringup.run import parse_arguments, process_specs

LAUNCH_DIR = Path(__file__).resolve().parents[1] / "hint_bringup" / "launch"


def runner_view(name: str, arguments: dict[str, str]) -> dict[str, dict]:
    """node name -> module and parameters, read back from the runner's command lines."""
    view = {}
    for spec in process_specs(graph(name), arguments):
        command = list(spec.command)
        module = command[command.index("-m") + 1]
        params_file = command[command.index("--params-file") + 1] if "--params-file" in command else None
        overrides = {}
        for i, item in enumerate(command):
            if item == "-p":
                key, _, value = command[i + 1].partition(":=")
                overrides[key] = yaml.safe_load(value)
        parameters = dict(graph(name).parameters().get(spec.node, {})) if params_file else {}
        parameters.update(overrides)
        view[spec.node] = {"module": module, "parameters": parameters}
    return view


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_every_graph_has_a_launch_file_and_a_parameter_section_per_node(name):
    g = graph(name)
    assert (LAUNCH_DIR / f"{name}.launch.py").is_file()
    sections = g.parameters()
    for node in g.nodes:
        assert node.name in sections, f"{g.config_file} lacks a section for node {node.name}"
        assert importlib.util.find_spec(node.module) is not None, f"{node.module} is not importable"


def test_runner_applies_launch_arguments_as_parameters():
    view = runner_view("pusht_sim", {"checkpoint": "/tmp/x.pt", "sigma": "0.1", "use_sim_time": "false", "seed": "7"})
    assert set(view) == {"sim", "controller", "policy"}
    assert view["policy"]["parameters"]["checkpoint"] == "/tmp/x.pt"
    assert view["policy"]["parameters"]["sigma"] == 0.1
    assert view["sim"]["parameters"]["seed"] == 7
    assert all(node["parameters"]["use_sim_time"] is False for node in view.values())
    assert view["controller"]["parameters"]["model"] == "pusht_agent"


def test_record_true_adds_the_recorder_and_bad_arguments_are_refused():
    assert "recorder" in runner_view("pusht_sim", {"record": "true"})
    with pytest.raises(ValueError, match="unknown arguments"):
        process_specs(graph("pusht_sim"), {"chekpoint": "x"})
    with pytest.raises(ValueError, match="name:=value"):
        parse_arguments(["checkpoint=x"])
    with pytest.raises(ValueError, match="true or false"):
        process_specs(graph("pusht_sim"), {"use_sim_time": "maybe"})


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_launch_file_starts_the_runners_nodes_with_the_same_parameters(name):
    pytest.importorskip("launch", reason="ROS 2 launch is not installed")
    pytest.importorskip("launch_ros", reason="ROS 2 launch_ros is not installed")
    from hint_bringup.launch_description import launch_arguments, node_actions

    spec = importlib.util.spec_from_file_location("launch_file", LAUNCH_DIR / f"{name}.launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    declared = {entity.name for entity in description.entities if hasattr(entity, "default_value")}
    assert declared == set(launch_arguments(graph(name)))

    values = {arg: default for arg, (default, _) in launch_arguments(graph(name)).items()}
    values.update(use_sim_time="false", sigma="0.2")
    actions = node_actions(graph(name), values)
    runner = runner_view(name, {"use_sim_time": "false", "sigma": "0.2"})
    nodes = {node.name: node for node in graph(name).nodes}
    assert len(actions) == len(runner)
    for action in actions:
        # launch_ros Node keeps what it was given; compare with the runner's command line
        node_name = action._Node__node_name
        assert nodes[node_name].executable == action._Node__node_executable
        parameters = {}
        for entry in action._Node__parameters:
            if isinstance(entry, dict):
                parameters.update({k if isinstance(k, str) else "".join(s.text for s in k): v for k, v in entry.items()})
            else:
                parameters.update(graph(name).parameters()[node_name])
        flattened = {k: (v if not isinstance(v, (list, tuple)) or not v or not hasattr(v[0], "text") else "".join(s.text for s in v))
                     for k, v in parameters.items()}
        assert yaml.safe_load(str(flattened)) == yaml.safe_load(str(runner[node_name]["parameters"]))


def test_common_arguments_are_documented():
    for name, (default, description) in COMMON_ARGUMENTS.items():
        assert description and isinstance(default, str)
