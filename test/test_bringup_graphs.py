"""The launch files and the launch-free runner describe the same nodes and parameters."""

import importlib.util
import re
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
        remaps = dict(command[i + 1].split(":=", 1) for i, item in enumerate(command) if item == "-r")
        node_name = remaps.get("__ns", "").rstrip("/") + "/" + remaps["__node"]
        ros_arguments = [(item, command[i + 1]) for i, item in enumerate(command) if item in ("--params-file", "-p")]
        view[spec.node] = {"module": module, "parameters": parameters_from_ros_arguments(ros_arguments, node_name)}
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
    with pytest.raises(ValueError, match="true or false"):
        process_specs(graph("pusht_sim"), {"record": "yes please"})


def launch_view(name: str, arguments: dict[str, str]) -> dict[str, dict]:
    """node name -> executable and parameters, as launch_ros resolves the launch file's Node actions.

    Visits the launch description in a LaunchContext like LaunchService does (declared arguments
    take their defaults, the OpaqueFunction yields the Node actions) but starts no process: each
    Node only performs its substitutions, which writes its parameter files and extends its command.
    """
    from launch import LaunchContext
    from launch.actions import ExecuteProcess
    from launch.utilities import perform_substitutions
    from launch_ros.actions import Node

    module = _load_launch_file(name)
    context = LaunchContext()
    context.launch_configurations.update(arguments)
    pending = list(module.generate_launch_description().entities)
    nodes = []
    while pending:
        entity = pending.pop(0)
        if isinstance(entity, ExecuteProcess):  # Node included: resolved below, never started
            nodes.append(entity)
        else:
            pending[:0] = entity.visit(context) or []

    assert all(isinstance(node, Node) for node in nodes), "the launch file starts a non-ROS process"
    view = {}
    for node in nodes:
        node._perform_substitutions(context)
        flags = [_text_of(item, context, perform_substitutions) for item in node.cmd]
        ros_arguments = [(flag, _text_of(node.cmd[i + 1], context, perform_substitutions))
                         for i, flag in enumerate(flags) if flag in ("--params-file", "-p")]
        view[node.node_name.lstrip("/")] = {
            "executable": node.node_executable,
            "parameters": parameters_from_ros_arguments(ros_arguments, node.node_name),
        }
        for flag, argument in ros_arguments:  # launch_ros writes dict parameters to temporary files
            if flag == "--params-file" and Path(argument).name.startswith("launch_params_"):
                Path(argument).unlink()
    return view


def _load_launch_file(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_launch", LAUNCH_DIR / f"{name}.launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _text_of(item, context, perform_substitutions) -> str | None:
    """The text of one command-line item made only of TextSubstitutions (else None)."""
    from launch.substitutions import TextSubstitution

    if all(isinstance(part, TextSubstitution) for part in item):
        return perform_substitutions(context, list(item))
    return None


def parameters_from_ros_arguments(ros_arguments: list[tuple[str, str]], node_name: str) -> dict:
    """The parameters a node named `node_name` (fully qualified) gets from --params-file / -p, in order."""
    parameters = {}
    for flag, argument in ros_arguments:
        if flag == "-p":
            key, _, value = argument.partition(":=")
            parameters[key] = yaml.safe_load(value)
            continue
        with open(argument) as stream:
            content = yaml.safe_load(stream) or {}
        for key, section in content.items():
            if _node_key_matches(key, node_name):
                parameters.update(section.get("ros__parameters", {}))
    return parameters


def _node_key_matches(key: str, node_name: str) -> bool:
    """rcl's rule for a parameter file's node key: '/' prefixed if missing, '*' and '**' wildcards."""
    key = key if key.startswith("/") else "/" + key
    pattern = re.escape(key).replace(r"/\*\*", "(/[^/]+)*").replace(r"\*", "[^/]*")
    return re.fullmatch(pattern, node_name) is not None


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_launch_file_starts_the_runners_nodes_with_the_same_parameters(name):
    pytest.importorskip("launch", reason="ROS 2 launch is not installed")
    pytest.importorskip("launch_ros", reason="ROS 2 launch_ros is not installed")
    from hint_bringup.launch_description import launch_arguments

    declared = {entity.name for entity in _load_launch_file(name).generate_launch_description().entities
                if hasattr(entity, "default_value")}
    assert declared == set(launch_arguments(graph(name)))

    arguments = {"use_sim_time": "false", "sigma": "0.2"}
    launched = launch_view(name, arguments)
    runner = runner_view(name, arguments)
    executables = {node.name: node.executable for node in graph(name).nodes}
    assert set(launched) == set(runner) == set(executables)
    for node_name, node in launched.items():
        assert node["executable"] == executables[node_name]
        assert node["parameters"] == runner[node_name]["parameters"], node_name
        assert node["parameters"]["use_sim_time"] is False
        assert node["parameters"] == {**graph(name).parameters()[node_name], **node["parameters"]}


def test_common_arguments_are_documented():
    for name, (default, description) in COMMON_ARGUMENTS.items():
        assert description and isinstance(default, str)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_config_applies_under_a_namespace(name):
    plain = runner_view(name, {})
    namespaced = runner_view(name, {"namespace": "robot1"})
    for node in graph(name).nodes:
        assert namespaced[node.name]["parameters"] == plain[node.name]["parameters"]
        assert graph(name).parameters()[node.name].items() <= namespaced[node.name]["parameters"].items()
