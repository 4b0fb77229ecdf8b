"""The node graphs hint brings up, described once for the launch files and the launch-free runner.

A graph names its nodes (package, console script, Python module, node name) and a YAML
parameter file in ``hint_bringup/config`` whose top-level keys are the node names. Launch
arguments (checkpoint, sigma, use_sim_time, and per-graph extras) become parameter overrides
through :meth:`Graph.overrides` and topic remappings through :meth:`Graph.remappings`, so
``ros2 launch hint_bringup pusht_sim.launch.py`` and ``python -m hint_bringup.run pusht_sim``
start the same nodes with the same parameters and remappings. In the simulation graphs the
argument ``driver`` (policy | expert | teleop, :attr:`Graph.drivers`) picks the node that acts,
and the simulator starts episode 0 once the driver listens; record:=true adds hint_bringup's
recorder, named after the driver as the bag's operator, and episode 0 waits for it too.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

PACKAGE = "hint_bringup"

#: launch arguments every graph accepts, with defaults and descriptions
COMMON_ARGUMENTS: dict[str, tuple[str, str]] = {
    "checkpoint": ("", "policy checkpoint (.pt); empty = the shipped one for this graph"),
    "sigma": ("-1.0", "observation noise std added before sampling; -1 = the checkpoint's training sigma"),
    "record": ("false", "record the graph's topics into a bag (true|false)"),
    "use_sim_time": ("true", "nodes follow the simulator's /clock (false on hardware)"),
    "namespace": ("", "namespace of every node"),
    "bag_dir": ("bags", "folder for recorded bags"),
}

#: topics recorded with record:=true (relative: they resolve in the namespace)
RECORD_TOPICS = ("state", "applied_input", "command", "composite_action", "episode_event", "controller_status")


@dataclasses.dataclass(frozen=True)
class NodeSpec:
    """One node of a graph."""

    name: str  # node name, also its section in the YAML file
    package: str
    executable: str  # console script (ros2 launch / ros2 run)
    module: str  # python -m <module> (runner)
    remappings: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class GraphArgument:
    """A per-graph launch argument and what it sets on which nodes.

    kind "value": the value (YAML: 0.5, true, [a, b]) sets parameter `target` of each node;
    "float": the same as a float (a rate of 500 suits a double parameter); "floats": a list of
    floats written ``20``, ``20,25`` or ``[20, 25]`` (a double-array parameter); "text": the text as a
    string; "names": a list of names written ``a,b,c`` or ``[a, b, c]``; "remap": each node's
    topic `target` is remapped to the value (and recorded under it). An empty "text" or "names"
    value sets nothing: the parameter file or the node's default applies.
    """

    default: str
    description: str
    nodes: tuple[str, ...]
    target: str  # parameter name, or topic name for kind "remap"
    kind: str = "value"

    KINDS = ("value", "float", "floats", "text", "names", "remap")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"argument kind must be one of {self.KINDS}, got {self.kind!r}")
        object.__setattr__(self, "nodes", (self.nodes,) if isinstance(self.nodes, str) else tuple(self.nodes))

    def parameter_value(self, text: str) -> Any:
        """The parameter value of the argument's text (kinds value, float, text, names)."""
        if self.kind == "float":
            return float(text)
        if self.kind == "text":
            return str(text)
        if self.kind == "names":
            return parse_names(text)
        if self.kind == "floats":
            return [float(value) for value in parse_names(text)]
        return yaml.safe_load(text)


def parse_names(text: str) -> list[str]:
    """["a", "b", "c"] from "a,b,c", "a, b, c" or "[a, b, c]"; "" and "[]" give []."""
    text = str(text).strip()
    if text.startswith("["):
        if not text.endswith("]"):
            raise ValueError(f"expected a list like [a, b, c], got {text!r}")
        text = text[1:-1]
    names = [name.strip().strip("'\"") for name in text.split(",")] if text.strip() else []
    if any(not name for name in names):
        raise ValueError(f"empty name in the list {text!r}")
    return names


@dataclasses.dataclass(frozen=True)
class Respawn:
    """ros2 launch restarts `node` `delay` seconds after it exits when argument `enable` is true."""

    node: str
    enable: str  # launch argument name, default false
    delay: str  # launch argument name, default 2.0 s
    default_delay: str = "2.0"


@dataclasses.dataclass(frozen=True)
class Graph:
    """A set of nodes started together from one parameter file."""

    name: str
    config_file: str
    nodes: tuple[NodeSpec, ...]
    #: shipped checkpoint for the policy node, relative to this package's share folder; empty =
    #: none ships, the checkpoint argument is required
    checkpoint: str = ""
    #: extra launch arguments: name -> GraphArgument, or the shorthand (default, description,
    #: node, parameter) for one parameter of one node
    arguments: dict[str, GraphArgument | tuple[str, str, str, str]] = dataclasses.field(default_factory=dict)
    #: this graph's defaults of common arguments (e.g. use_sim_time false on hardware)
    defaults: dict[str, str] = dataclasses.field(default_factory=dict)
    #: who acts, chosen by the argument driver:=<name>: name -> node; the first one is the default
    #: and stands in `nodes`, another one takes its place there
    drivers: dict[str, NodeSpec] = dataclasses.field(default_factory=dict)
    #: nodes whose exit shuts the whole graph down (ros2 launch: on_exit Shutdown; the runner stops
    #: the graph when any node exits), so a dead node is never silent
    shutdown_on_exit: tuple[str, ...] = ()
    #: nodes ros2 launch may restart (off by default)
    respawn: tuple[Respawn, ...] = ()

    def __post_init__(self) -> None:
        arguments = {name: spec if isinstance(spec, GraphArgument) else GraphArgument(*spec)
                     for name, spec in self.arguments.items()}
        object.__setattr__(self, "arguments", arguments)
        unknown = set(self.defaults) - set(COMMON_ARGUMENTS)
        if unknown:
            raise ValueError(f"graph {self.name}: defaults for unknown common arguments {sorted(unknown)}")

    def argument_specs(self) -> dict[str, tuple[str, str]]:
        """argument -> (default, description): the common ones (with this graph's defaults), then the extras."""
        common = {name: (self.defaults.get(name, default), description)
                  for name, (default, description) in COMMON_ARGUMENTS.items()}
        if not self.checkpoint:
            common["checkpoint"] = ("", "policy checkpoint (.pt), required: no policy ships for this graph")
        if self.drivers:
            choices = " | ".join(self.drivers)
            common["driver"] = (next(iter(self.drivers)), f"who acts: {choices} (recorded as the bag's operator)")
        for r in self.respawn:
            common[r.enable] = ("false", f"restart the {r.node} node when it exits (ros2 launch only; true|false)")
            common[r.delay] = (r.default_delay, f"seconds before the {r.node} node is restarted")
        return {**common, **{name: (spec.default, spec.description) for name, spec in self.arguments.items()}}

    def check_argument_names(self, names: Iterable[str]) -> None:
        """ValueError naming the known arguments when any of `names` is not one of this graph's
        (a mistyped driverr:=expert must not silently start the policy)."""
        known = self.argument_specs()
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise ValueError(f"unknown arguments {unknown} for {self.name}; known: {', '.join(sorted(known))}")

    def respawn_delays(self, arguments: dict[str, str]) -> dict[str, float]:
        """node name -> respawn delay [s] of the nodes whose respawn argument is true."""
        values = self.resolve(arguments)
        return {r.node: float(values[r.delay]) for r in self.respawn if as_bool(values[r.enable])}

    def active_nodes(self, arguments: dict[str, str]) -> tuple[NodeSpec, ...]:
        """The nodes to start: `nodes` with the default driver replaced by the chosen one."""
        if not self.drivers:
            return self.nodes
        chosen = self.resolve(arguments)["driver"]
        if chosen not in self.drivers:
            raise ValueError(f"driver must be one of {' | '.join(self.drivers)}, got {chosen!r}")
        default = next(iter(self.drivers.values()))
        return tuple(self.drivers[chosen] if node == default else node for node in self.nodes)

    def recorder_parameters(self, arguments: dict[str, str]) -> dict[str, Any]:
        """Parameters of hint_bringup's recorder node for record:=true (the operator is the driver)."""
        values = self.resolve(arguments)
        parameters = {
            "topics": list(self.record_topics(arguments)),
            "output_dir": values["bag_dir"],
            "operator": values.get("driver", "policy"),
            "use_sim_time": as_bool(values["use_sim_time"]),
        }
        environment = self.parameters().get("sim", {}).get("environment", "")
        if environment:  # names the bag <operator>_<environment>_<date-time>
            parameters["environment"] = environment
        return parameters

    def resolve(self, arguments: dict[str, str]) -> dict[str, str]:
        """Every argument's value: `arguments` over the defaults."""
        return {**{name: default for name, (default, _) in self.argument_specs().items()}, **arguments}

    def config_path(self) -> Path:
        return share_directory() / "config" / self.config_file

    def parameters(self) -> dict[str, dict[str, Any]]:
        """node name -> parameters from the YAML file.

        Sections are keyed ``/**/<node>`` so that they apply in any namespace.
        """
        with open(self.config_path()) as stream:
            content = yaml.safe_load(stream) or {}
        return {name.removeprefix("/**/"): dict(section.get("ros__parameters", {})) for name, section in content.items()}

    def launched_parameters(self, node: str, arguments: dict[str, str] | None = None) -> dict[str, Any]:
        """The parameters `node` starts with: its section of the parameter file under the
        overrides of the launch arguments (default ones unless given)."""
        return {**self.parameters().get(node, {}), **self.overrides(arguments or {}).get(node, {})}

    def overrides(self, arguments: dict[str, str]) -> dict[str, dict[str, Any]]:
        """node name -> parameter overrides implied by launch argument values (strings)."""
        values = self.resolve(arguments)
        active = self.active_nodes(arguments)
        result: dict[str, dict[str, Any]] = {node.name: {} for node in active}
        use_sim_time = as_bool(values["use_sim_time"])
        for node in active:
            result[node.name]["use_sim_time"] = use_sim_time
        if "sim" in result:
            # episode 0 starts once the node that acts listens (a policy subscribes once its
            # checkpoint is loaded: episode 0 is not lost to start-up) and, with record:=true, the
            # recorder (no idle start in the bag)
            acting = [node.name for node in active if node in self.drivers.values() or node.name == POLICY.name]
            waiting = [RECORDER, *acting] if as_bool(values["record"]) else acting
            result["sim"]["wait_for_subscribers"] = ",".join(waiting)
        if "policy" in result:
            if not (values["checkpoint"] or self.checkpoint):
                raise ValueError(f"{self.name} ships no policy: pass checkpoint:=<path of the trained policy .pt>")
            result["policy"]["checkpoint"] = values["checkpoint"] or str(share_directory() / self.checkpoint)
            result["policy"]["sigma"] = float(values["sigma"])
        for name, spec in self.arguments.items():
            if spec.kind == "remap":
                continue
            value = spec.parameter_value(values[name])
            if spec.kind in ("text", "names", "floats") and not value:
                continue  # "" and [] have no unambiguous type on a command line: leave the default
            for node in spec.nodes:
                if node in result:
                    result[node][spec.target] = value
        return result

    def remappings(self, arguments: dict[str, str]) -> dict[str, tuple[tuple[str, str], ...]]:
        """node name -> topic remappings: the node's own, then those set by remap arguments."""
        values = self.resolve(arguments)
        result = {node.name: list(node.remappings) for node in self.active_nodes(arguments)}
        for name, spec in self.arguments.items():
            if spec.kind == "remap":
                for node in spec.nodes:
                    if node in result:
                        result[node].append((spec.target, values[name]))
        return {node: tuple(rules) for node, rules in result.items()}

    def record_topics(self, arguments: dict[str, str]) -> tuple[str, ...]:
        """RECORD_TOPICS, each renamed as the remap arguments rename it."""
        values = self.resolve(arguments)
        renamed = {spec.target: values[name] for name, spec in self.arguments.items() if spec.kind == "remap"}
        return tuple(renamed.get(topic, topic) for topic in RECORD_TOPICS)


def as_bool(text: str) -> bool:
    """A launch argument's true / false (YAML spelling); anything else is an error."""
    value = yaml.safe_load(str(text))
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {text!r}")
    return value


def share_directory() -> Path:
    """hint_bringup's share folder (installed), or the source folder when run from a checkout."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

        try:
            return Path(get_package_share_directory(PACKAGE))
        except PackageNotFoundError:
            pass
    except ImportError:
        pass
    return Path(os.environ.get("HINT_BRINGUP_SHARE", Path(__file__).resolve().parents[1]))


SIM = NodeSpec("sim", PACKAGE, "sim_node", "hint_bringup.sim_node")
CONTROLLER = NodeSpec("controller", "hint_controller", "controller_node", "hint_controller.controller_node")
POLICY = NodeSpec("policy", "hint_policy", "policy_node", "hint_policy.policy_node")
#: in simulation the policy observes the inputs the simulator actually applied
POLICY_IN_SIM = dataclasses.replace(POLICY, remappings=(("command", "applied_input"),))
#: the scripted expert and teleoperation in the policy's place (driver:=expert | teleop)
EXPERT = NodeSpec("expert", PACKAGE, "expert_node", "hint_bringup.expert_node")
TELEOP = NodeSpec("teleop", PACKAGE, "teleop_node", "hint_bringup.teleop_node")
SIM_DRIVERS = {"policy": POLICY_IN_SIM, "expert": EXPERT, "teleop": TELEOP}
#: node name of hint_bringup's recorder (record:=true)
RECORDER = "recorder"

#: an existing arm driven by ros2_control: joint_state_broadcaster's JointState in, a forward
#: command controller's Float64MultiArray out; the policy observes both
HARDWARE_ARGUMENTS: dict[str, GraphArgument] = {
    "joint_names": GraphArgument(
        "", "joints in the forward command controller's order (a,b,c or [a, b, c]); empty = the URDF's order",
        ("controller", "policy"), "joint_names", kind="names"),
    "state_topic": GraphArgument(
        "/joint_states", "sensor_msgs/JointState topic (joint_state_broadcaster)", ("controller", "policy"), "state",
        kind="remap"),
    "command_topic": GraphArgument(
        "/effort_controller/commands", "std_msgs/Float64MultiArray topic of the forward command controller",
        ("controller", "policy"), "command", kind="remap"),
    "command_interface": GraphArgument(
        "effort", "command interface of the forward command controller: effort, velocity or position",
        ("controller", "policy"), "command_interface", kind="text"),
    "urdf_path": GraphArgument(
        "", "URDF of the arm for the controller's model: a file or a known robot (arm3, panda); empty = arm3",
        ("controller",), "urdf_path", kind="text"),
    "model": GraphArgument(
        "", "controller's dynamics model; empty = the one of command_interface (manipulator, position_servo, "
        "velocity_servo)", ("controller",), "model", kind="text"),
    "model_joints": GraphArgument(
        "", "the model's joints in the policy's state order (others in the URDF are frozen); empty = the known "
        "robot's arm joints, else every movable joint", ("controller",), "model_joints", kind="names"),
    "servo_natural_frequency": GraphArgument(
        "", "position servo natural frequency [rad/s], one value or one per joint (python -m hint_bringup.fit_servo)",
        ("controller",), "servo_natural_frequency", kind="floats"),
    "servo_damping": GraphArgument(
        "", "position servo damping ratio, one value or one per joint", ("controller",), "servo_damping",
        kind="floats"),
    "servo_time_constant": GraphArgument(
        "", "velocity servo time constant [s], one value or one per joint", ("controller",), "servo_time_constant",
        kind="floats"),
    "controller_rate": GraphArgument("500.0", "command rate of the controller [Hz]", ("controller",), "rate_hz",
                                     kind="float"),
    "realtime_priority": GraphArgument(
        "0", "SCHED_FIFO priority 1-99 of the controller's command thread; 0 = default scheduler",
        ("controller",), "realtime_priority"),
}

#: the simulated Panda behind ros2_control-style topics: the simulator publishes JointState on
#: joint_states (and the full StateVector with the goal point on state, for the policy) and takes a
#: forward position controller's Float64MultiArray on command_topic, which the controller writes
ARM_SIM_CONTROLLER = dataclasses.replace(CONTROLLER, remappings=(("state", "joint_states"),))
ARM_SIM_ARGUMENTS: dict[str, GraphArgument | tuple[str, str, str, str]] = {
    "seed": ("0", "seed of the first episode", "sim", "seed"),
    "real_time_factor": ("1.0", "sim seconds per wall second; below 1 gives a slow machine's expert or policy "
                                "more wall time per chunk (every node runs on sim time)", "sim", "real_time_factor"),
    "command_topic": GraphArgument(
        "position_controller/commands",
        "std_msgs/Float64MultiArray topic of commanded joint positions between the controller and the simulator",
        ("controller", "sim"), "command", kind="remap"),
}

#: a manipulation cell: the policy observes the arm's JointState and the object's pose on its own
#: topic (object_pose, as from a perception node), and the inputs the simulator applied
POLICY_OBSERVING_CELL = dataclasses.replace(POLICY, remappings=(("command", "applied_input"), ("state", "joint_states")))

#: in a simulation graph every node but the recorder is needed: the launch ends when one exits
SIM_SHUTDOWN_ON_EXIT = ("sim", "controller", "policy", "expert", "teleop")

GRAPHS: dict[str, Graph] = {
    "pusht_sim": Graph(
        "pusht_sim", "pusht_sim.yaml", (SIM, CONTROLLER, POLICY_IN_SIM), checkpoint="checkpoints/pusht.pt",
        arguments={"seed": ("0", "seed of the first episode", "sim", "seed")}, drivers=SIM_DRIVERS,
        shutdown_on_exit=SIM_SHUTDOWN_ON_EXIT,
        # the PushT policy is trained with observation noise and scores higher sampled without it
        # (sigma:=-1 adds it again; figures in config/pusht_sim.yaml and docs/results.md)
        defaults={"sigma": "0.0"},
    ),
    "quadrotor_sim": Graph(
        "quadrotor_sim", "quadrotor_sim.yaml", (SIM, CONTROLLER, POLICY_IN_SIM), checkpoint="checkpoints/quadrotor.pt",
        arguments={"seed": ("0", "seed of the first episode", "sim", "seed")}, drivers=SIM_DRIVERS,
        shutdown_on_exit=SIM_SHUTDOWN_ON_EXIT,
    ),
    "arm_sim": Graph(
        "arm_sim", "arm_sim.yaml", (SIM, ARM_SIM_CONTROLLER, POLICY_IN_SIM), checkpoint="checkpoints/arm.pt",
        arguments=ARM_SIM_ARGUMENTS, drivers={"policy": POLICY_IN_SIM, "expert": EXPERT},
        shutdown_on_exit=SIM_SHUTDOWN_ON_EXIT,
    ),
    **{
        f"{task}_sim": Graph(
            f"{task}_sim", f"{task}_sim.yaml", (SIM, ARM_SIM_CONTROLLER, POLICY_OBSERVING_CELL),
            checkpoint=f"checkpoints/{task}.pt", arguments=ARM_SIM_ARGUMENTS,
            drivers={"policy": POLICY_OBSERVING_CELL, "expert": EXPERT}, shutdown_on_exit=SIM_SHUTDOWN_ON_EXIT,
        )
        for task in ("can", "square")
    },
    "hardware": Graph(
        "hardware", "hardware.yaml", (CONTROLLER, POLICY), arguments=HARDWARE_ARGUMENTS,
        defaults={"use_sim_time": "false"}, shutdown_on_exit=("controller",),
        respawn=(Respawn("policy", "respawn_policy", "respawn_delay"),),
    ),
}


def graph(name: str) -> Graph:
    if name not in GRAPHS:
        raise KeyError(f"unknown graph {name!r}; known: {', '.join(sorted(GRAPHS))}")
    return GRAPHS[name]
