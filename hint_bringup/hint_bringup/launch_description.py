"""Launch descriptions built from :mod:`hint_bringup.graphs` (used by launch/*.launch.py).

Imports ``launch`` and ``launch_ros`` only when called, so the rest of hint_bringup works on
machines without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hint_bringup.graphs import COMMON_ARGUMENTS, RECORD_TOPICS, Graph, as_bool, graph


def launch_arguments(g: Graph) -> dict[str, tuple[str, str]]:
    """argument -> (default, description) of graph `g`."""
    return {**COMMON_ARGUMENTS, **{name: spec[:2] for name, spec in g.arguments.items()}}


def node_actions(g: Graph, values: dict[str, str]) -> list[Any]:
    """launch_ros Node actions (and the bag recorder) for resolved argument `values`."""
    from launch.actions import ExecuteProcess
    from launch_ros.actions import Node

    overrides = g.overrides(values)
    namespace = values.get("namespace", "")
    actions: list[Any] = [
        Node(
            package=node.package, executable=node.executable, name=node.name, namespace=namespace,
            parameters=[str(g.config_path()), overrides[node.name]], remappings=list(node.remappings),
            output="screen", emulate_tty=True,
        )
        for node in g.nodes
    ]
    if as_bool(values.get("record", "false")):
        bag = Path(values.get("bag_dir") or "bags") / f"{g.name}_recording"
        actions.append(ExecuteProcess(cmd=["ros2", "bag", "record", "-s", "mcap", "-o", str(bag), *RECORD_TOPICS], output="screen"))
    return actions


def generate(graph_name: str):
    """The LaunchDescription of graph `graph_name`."""
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.substitutions import LaunchConfiguration

    g = graph(graph_name)
    arguments = launch_arguments(g)

    def resolve(context, *_args, **_kwargs):
        values = {name: LaunchConfiguration(name).perform(context) for name in arguments}
        return node_actions(g, values)

    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=description)
         for name, (default, description) in arguments.items()]
        + [OpaqueFunction(function=resolve)]
    )
