"""The launch files and the launch-free runner describe the same nodes and parameters."""

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from hint_bringup.graphs import COMMON_ARGUMENTS, GRAPHS, graph, parse_names
from hint_bringup.run import parse_arguments, process_specs

LAUNCH_DIR = Path(__file__).resolve().parents[1] / "hint_bringup" / "launch"


def with_required(name: str, arguments: dict[str, str]) -> dict[str, str]:
    """`arguments` plus a checkpoint for graphs that ship none (hardware): it is required there."""
    return arguments if graph(name).checkpoint or "checkpoint" in arguments else {"checkpoint": "/tmp/arm.pt", **arguments}


def runner_view(name: str, arguments: dict[str, str]) -> dict[str, dict]:
    """node name -> module, parameters and topic remappings, read back from the runner's command lines."""
    view = {}
    for spec in process_specs(graph(name), with_required(name, arguments)):
        command = list(spec.command)
        module = command[command.index("-m") + 1]
        rules = [tuple(command[i + 1].split(":=", 1)) for i, item in enumerate(command) if item == "-r"]
        special = dict(rule for rule in rules if rule[0].startswith("__"))
        node_name = special.get("__ns", "").rstrip("/") + "/" + special["__node"]
        ros_arguments = [(item, command[i + 1]) for i, item in enumerate(command) if item in ("--params-file", "-p")]
        view[spec.node] = {
            "module": module, "parameters": parameters_from_ros_arguments(ros_arguments, node_name),
            "remappings": [rule for rule in rules if not rule[0].startswith("__")],
        }
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


def test_pusht_samples_without_inference_noise_unless_told_and_the_others_with_their_training_sigma():
    assert runner_view("pusht_sim", {})["policy"]["parameters"]["sigma"] == 0.0
    assert runner_view("pusht_sim", {"sigma": "-1"})["policy"]["parameters"]["sigma"] == -1.0
    for name in ("quadrotor_sim", "arm_sim", "can_sim", "square_sim"):
        assert graph(name).launched_parameters("policy")["sigma"] == -1.0
    launched = graph("pusht_sim").launched_parameters("policy", {"sigma": "0.05"})
    assert launched["sigma"] == 0.05 and launched["exec_knots"] == graph("pusht_sim").parameters()["policy"]["exec_knots"]


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
    context.launch_configurations.update(with_required(name, arguments))
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
            "remappings": [tuple(rule) for rule in node.expanded_remapping_rules or []],
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


class RclParameterLoader(yaml.SafeLoader):
    """Reads parameter files as rcl does: launch_ros dumps list values as `!!python/tuple`, whose
    tag rcl ignores (a sequence is an array)."""


RclParameterLoader.add_constructor("tag:yaml.org,2002:python/tuple", yaml.SafeLoader.construct_sequence)


def parameters_from_ros_arguments(ros_arguments: list[tuple[str, str]], node_name: str) -> dict:
    """The parameters a node named `node_name` (fully qualified) gets from --params-file / -p, in order."""
    parameters = {}
    for flag, argument in ros_arguments:
        if flag == "-p":
            key, _, value = argument.partition(":=")
            parameters[key] = yaml.safe_load(value)
            continue
        with open(argument) as stream:
            content = yaml.load(stream, Loader=RclParameterLoader) or {}
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

    from launch import LaunchContext
    from launch.utilities import perform_substitutions

    declared = {entity.name: perform_substitutions(LaunchContext(), entity.default_value)
                for entity in _load_launch_file(name).generate_launch_description().entities
                if hasattr(entity, "default_value")}
    assert declared == {argument: default for argument, (default, _) in launch_arguments(graph(name)).items()}

    arguments = {"use_sim_time": "false", "sigma": "0.2"}
    launched = launch_view(name, arguments)
    runner = runner_view(name, arguments)
    executables = {node.name: node.executable for node in graph(name).nodes}
    assert set(launched) == set(runner) == set(executables)
    for node_name, node in launched.items():
        assert node["executable"] == executables[node_name]
        assert node["parameters"] == runner[node_name]["parameters"], node_name
        assert node["remappings"] == runner[node_name]["remappings"], node_name
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


ARM_ARGUMENTS = {
    "checkpoint": "/tmp/my_arm.pt", "joint_names": "[shoulder, elbow, wrist]", "state_topic": "/arm/joint_states",
    "command_topic": "/arm/effort_controller/commands", "command_interface": "effort",
    "urdf_path": "/tmp/my_arm.urdf", "controller_rate": "1000", "sigma": "0.1", "realtime_priority": "50",
}


def test_hardware_graph_wires_the_controller_and_policy_to_ros2_control_topics():
    view = runner_view("hardware", ARM_ARGUMENTS)
    assert set(view) == {"controller", "policy"}  # no simulator
    controller, policy = view["controller"]["parameters"], view["policy"]["parameters"]
    topics = [("state", "/arm/joint_states"), ("command", "/arm/effort_controller/commands")]
    assert view["controller"]["remappings"] == view["policy"]["remappings"] == topics
    for parameters in (controller, policy):
        assert parameters["joint_names"] == ["shoulder", "elbow", "wrist"]
        assert parameters["command_interface"] == "effort"
        assert parameters["state_source"] == "joint_state" and parameters["command_format"] == "float64_multi_array"
        assert parameters["use_sim_time"] is False  # the hardware graph's default
    # empty: the controller takes the model of its command interface (manipulator for effort)
    assert controller["model"] == "" and controller["urdf_path"] == "/tmp/my_arm.urdf"
    assert controller["rate_hz"] == 1000.0 and isinstance(controller["rate_hz"], float)
    assert controller["realtime_priority"] == 50 and "realtime_priority" not in policy
    assert policy["checkpoint"] == "/tmp/my_arm.pt" and policy["sigma"] == 0.1


def test_hardware_servo_arguments_reach_the_controller_as_double_arrays():
    view = runner_view("hardware", {**ARM_ARGUMENTS, "command_interface": "position", "urdf_path": "panda",
                                    "servo_natural_frequency": "[18, 19.5, 20, 21, 22, 23, 24]", "servo_damping": "0.9",
                                    "model_joints": "panda_joint1,panda_joint2"})
    controller, policy = view["controller"]["parameters"], view["policy"]["parameters"]
    assert controller["servo_natural_frequency"] == [18.0, 19.5, 20.0, 21.0, 22.0, 23.0, 24.0]
    assert controller["servo_damping"] == [0.9] and "servo_time_constant" not in controller
    assert controller["model_joints"] == ["panda_joint1", "panda_joint2"] and "servo_damping" not in policy
    assert controller["command_interface"] == policy["command_interface"] == "position"
    with pytest.raises(ValueError):
        runner_view("hardware", {**ARM_ARGUMENTS, "servo_damping": "[stiff]"})


def test_hardware_defaults_and_recording():
    defaults = runner_view("hardware", {"checkpoint": "/tmp/my_arm.pt"})
    controller = defaults["controller"]["parameters"]
    assert defaults["controller"]["remappings"] == [("state", "/joint_states"), ("command", "/effort_controller/commands")]
    assert "joint_names" not in controller and "urdf_path" not in controller  # empty: the model's own order and URDF
    assert controller["rate_hz"] == 500.0 and controller["use_sim_time"] is False
    assert controller["realtime_priority"] == 0
    recorder = runner_view("hardware", {**ARM_ARGUMENTS, "record": "true"})["recorder"]["parameters"]
    assert "/arm/joint_states" in recorder["topics"] and "/arm/effort_controller/commands" in recorder["topics"]
    assert "state" not in recorder["topics"] and recorder["use_sim_time"] is False


def test_hardware_needs_a_checkpoint_and_well_formed_arguments():
    with pytest.raises(ValueError, match="hardware ships no policy: pass checkpoint:="):
        process_specs(graph("hardware"), {"joint_names": "a,b"})
    with pytest.raises(ValueError):
        process_specs(graph("hardware"), {"checkpoint": "/tmp/x.pt", "controller_rate": "fast"})
    with pytest.raises(ValueError, match="unknown arguments"):
        process_specs(graph("pusht_sim"), {"joint_names": "a,b"})


@pytest.mark.parametrize("text, names", [
    ("a,b,c", ["a", "b", "c"]), ("[a, b, c]", ["a", "b", "c"]), (" ['a', \"b\"] ", ["a", "b"]),
    ("joint1", ["joint1"]), ("", []), ("[]", []),
])
def test_joint_names_are_parsed_from_comma_or_yaml_lists(text, names):
    assert parse_names(text) == names


@pytest.mark.parametrize("text", ["a,,b", "[a, b", "a,"])
def test_malformed_joint_name_lists_are_refused(text):
    with pytest.raises(ValueError):
        parse_names(text)


def test_hardware_launch_file_matches_the_runner_for_an_arm():
    pytest.importorskip("launch", reason="ROS 2 launch is not installed")
    pytest.importorskip("launch_ros", reason="ROS 2 launch_ros is not installed")
    launched = launch_view("hardware", ARM_ARGUMENTS)
    runner = runner_view("hardware", ARM_ARGUMENTS)
    assert launched.keys() == runner.keys() == {"controller", "policy"}
    for name in launched:
        assert launched[name]["parameters"] == runner[name]["parameters"], name
        assert launched[name]["remappings"] == runner[name]["remappings"], name
    assert launched["controller"]["remappings"] == [("state", "/arm/joint_states"), ("command", "/arm/effort_controller/commands")]
    assert launched["controller"]["parameters"]["rate_hz"] == 1000.0


def test_arm_sim_wires_controller_and_simulator_through_ros2_control_topics():
    from hint_controller.robots import ROBOTS
    from hint_bringup.graphs import share_directory

    view = runner_view("arm_sim", {})
    assert set(view) == {"sim", "controller", "policy"}
    sim, controller, policy = (view[node]["parameters"] for node in ("sim", "controller", "policy"))
    commands = ("command", "position_controller/commands")
    assert view["controller"]["remappings"] == [("state", "joint_states"), commands]
    assert view["sim"]["remappings"] == [commands]
    assert view["policy"]["remappings"] == [("command", "applied_input")]  # StateVector on state, with the goal
    assert sim["joint_names"] == controller["joint_names"] == list(ROBOTS["panda"].joints)
    assert (sim["environment"], sim["state_format"], sim["command_format"]) == ("panda", "joint_state", "float64_multi_array")
    assert (controller["model"], controller["urdf_path"], controller["command_interface"]) == ("position_servo", "panda", "position")
    assert (controller["state_source"], controller["command_format"]) == ("joint_state", "float64_multi_array")
    assert controller["safe_mode"] == "zero"  # the position servo's hold
    assert policy["checkpoint"] == str(share_directory() / "checkpoints" / "arm.pt")  # the shipped policy
    renamed = runner_view("arm_sim", {"command_topic": "/arm/commands", "record": "true"})
    assert renamed["controller"]["remappings"][-1] == renamed["sim"]["remappings"][-1] == ("command", "/arm/commands")
    assert "/arm/commands" in renamed["recorder"]["parameters"]["topics"]


def test_hardware_graph_shuts_down_with_the_controller_and_respawns_the_policy_only_on_request():
    hardware = graph("hardware")
    assert hardware.shutdown_on_exit == ("controller",)
    specs = hardware.argument_specs()
    assert specs["respawn_policy"][0] == "false" and float(specs["respawn_delay"][0]) > 0
    assert hardware.respawn_delays({}) == {}
    assert hardware.respawn_delays({"respawn_policy": "true", "respawn_delay": "3"}) == {"policy": 3.0}
    with pytest.raises(ValueError, match="needs ros2 launch"):
        process_specs(hardware, {"checkpoint": "/x.pt", "respawn_policy": "true"})
    assert [s.node for s in process_specs(hardware, {"checkpoint": "/x.pt"})] == ["controller", "policy"]


def test_launch_command_lines_with_unknown_arguments_are_refused_in_one_line():
    from hint_bringup.launch_description import command_line_argument_names

    names = command_line_argument_names(["--debug", "driverr:=expert", "seed:=3", "record:=true"])
    assert names == ["driverr", "seed", "record"]
    with pytest.raises(ValueError, match=r"unknown arguments \['driverr'\] for pusht_sim; known: .*driver"):
        graph("pusht_sim").check_argument_names(names)
    graph("pusht_sim").check_argument_names(["driver", "seed", "record"])


@pytest.mark.parametrize("name", ["pusht_sim", "quadrotor_sim", "arm_sim", "can_sim", "square_sim"])
def test_a_simulation_graph_ends_when_a_node_it_needs_exits(name):
    g = graph(name)
    assert {"sim", "controller", *g.drivers} <= set(g.shutdown_on_exit)
    assert "recorder" not in g.shutdown_on_exit
