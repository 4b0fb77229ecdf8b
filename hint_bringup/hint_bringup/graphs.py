"""The node graphs hint brings up, described once for the launch files and the launch-free runner.

A graph names its nodes (package, console script, Python module, node name) and a YAML
parameter file in ``hint_bringup/config`` whose top-level keys are the node names. Launch
arguments (checkpoint, sigma, use_sim_time, and per-graph extras) become parameter overrides
through :meth:`Graph.overrides`, so ``ros2 launch hint_bringup pusht_sim.launch.py`` and
``python -m hint_bringup.run pusht_sim`` start the same nodes with the same parameters.
"""

from __future__ import annotations

import dataclasses
import os
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
class Graph:
    """A set of nodes started together from one parameter file."""

    name: str
    config_file: str
    nodes: tuple[NodeSpec, ...]
    #: shipped checkpoint for the policy node, relative to this package's share folder
    checkpoint: str = ""
    #: extra launch arguments: name -> (default, description, node, parameter)
    arguments: dict[str, tuple[str, str, str, str]] = dataclasses.field(default_factory=dict)

    def config_path(self) -> Path:
        return share_directory() / "config" / self.config_file

    def parameters(self) -> dict[str, dict[str, Any]]:
        """node name -> parameters from the YAML file.

        Sections are keyed ``/**/<node>`` so that they apply in any namespace.
        """
        with open(self.config_path()) as stream:
            content = yaml.safe_load(stream) or {}
        return {name.removeprefix("/**/"): dict(section.get("ros__parameters", {})) for name, section in content.items()}

    def overrides(self, arguments: dict[str, str]) -> dict[str, dict[str, Any]]:
        """node name -> parameter overrides implied by launch argument values (strings)."""
        values = {name: default for name, (default, _) in COMMON_ARGUMENTS.items()}
        values.update({name: spec[0] for name, spec in self.arguments.items()})
        values.update(arguments)
        result: dict[str, dict[str, Any]] = {node.name: {} for node in self.nodes}
        use_sim_time = as_bool(values["use_sim_time"])
        for node in self.nodes:
            result[node.name]["use_sim_time"] = use_sim_time
        if "policy" in result:
            result["policy"]["checkpoint"] = values["checkpoint"] or str(share_directory() / self.checkpoint)
            result["policy"]["sigma"] = float(values["sigma"])
        for name, (_, _, node, parameter) in self.arguments.items():
            result[node][parameter] = yaml.safe_load(values[name])
        return result


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

GRAPHS: dict[str, Graph] = {
    "pusht_sim": Graph(
        "pusht_sim", "pusht_sim.yaml", (SIM, CONTROLLER, POLICY_IN_SIM), checkpoint="checkpoints/pusht.pt",
        arguments={"seed": ("0", "seed of the first episode", "sim", "seed")},
    ),
    "quadrotor_sim": Graph(
        "quadrotor_sim", "quadrotor_sim.yaml", (SIM, CONTROLLER, POLICY_IN_SIM), checkpoint="checkpoints/quadrotor.pt",
        arguments={"seed": ("0", "seed of the first episode", "sim", "seed")},
    ),
}


def graph(name: str) -> Graph:
    if name not in GRAPHS:
        raise KeyError(f"unknown graph {name!r}; known: {', '.join(sorted(GRAPHS))}")
    return GRAPHS[name]
