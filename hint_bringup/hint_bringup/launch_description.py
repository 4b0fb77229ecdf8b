"""Launch descriptions built from :mod:`hint_bringup.graphs` (used by launch/*.launch.py).

Imports ``launch`` and ``launch_ros`` only when called, so the rest of hint_bringup works on
machines without them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hint_bringup.graphs import PACKAGE, RECORDER, Graph, as_bool, graph


def launch_arguments(g: Graph) -> dict[str, tuple[str, str]]:
    """argument -> (default, description) of graph `g`."""
    return g.argument_specs()


def node_actions(g: Graph, values: dict[str, str]) -> list[Any]:
    """launch_ros Node actions (and the bag recorder) for resolved argument `values`.

    Nodes in ``g.shutdown_on_exit`` shut the launch down when they exit; nodes with respawn on
    are restarted after their delay.
    """
    from launch.actions import Shutdown
    from launch_ros.actions import Node

    overrides = g.overrides(values)
    remappings = g.remappings(values)
    respawn = g.respawn_delays(values)
    namespace = values.get("namespace", "")

    def supervision(name: str) -> dict[str, Any]:
        if name in respawn:
            return {"respawn": True, "respawn_delay": respawn[name]}
        if name in g.shutdown_on_exit:
            return {"on_exit": Shutdown(reason=f"the {name} node exited")}
        return {}

    actions: list[Any] = [
        Node(
            package=node.package, executable=node.executable, name=node.name, namespace=namespace,
            parameters=[str(g.config_path()), overrides[node.name]], remappings=list(remappings[node.name]),
            output="screen", emulate_tty=True, **supervision(node.name),
        )
        for node in g.active_nodes(values)
    ]
    if as_bool(values.get("record", "false")):  # the same recorder as the runner's (operator metadata)
        actions.append(Node(
            package=PACKAGE, executable="recorder_node", name=RECORDER, namespace=namespace,
            parameters=[g.recorder_parameters(values)], output="screen", emulate_tty=True,
        ))
    return actions


def command_line_argument_names(argv: Sequence[str]) -> list[str]:
    """The names of the name:=value launch arguments among a launch command line's `argv`."""
    return [item.partition(":=")[0] for item in argv if ":=" in item and not item.startswith("-")]


def generate(graph_name: str):
    """The LaunchDescription of graph `graph_name`."""
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.substitutions import LaunchConfiguration

    g = graph(graph_name)
    arguments = launch_arguments(g)

    def resolve(context, *_args, **_kwargs):
        g.check_argument_names(command_line_argument_names(getattr(context, "argv", None) or ()))
        values = {name: LaunchConfiguration(name).perform(context) for name in arguments}
        return node_actions(g, values)

    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=description)
         for name, (default, description) in arguments.items()]
        + [OpaqueFunction(function=resolve)]
    )
