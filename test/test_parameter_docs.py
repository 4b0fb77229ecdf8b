"""docs/nodes.md documents every node's parameters, and only those: each node's parameter table
lists exactly the names the node declares (from the tables in code)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.ros  # the node modules import rclpy

DOCS = Path(__file__).resolve().parents[1] / "docs" / "nodes.md"
ROS2_CONTROL = {"state_source", "command_format", "command_interface", "joint_names"}


def documented_tables() -> dict[str, list[set[str]]]:
    """section heading -> the parameter names of each `| parameter |` table in it."""
    tables: dict[str, list[set[str]]] = {}
    section, in_table = "", False
    for line in DOCS.read_text().splitlines():
        if line.startswith("## "):
            section, in_table = line, False
        elif line.startswith("| parameter |"):
            tables.setdefault(section, []).append(set())
            in_table = True
        elif in_table and line.startswith("|"):
            if not line.startswith("|---"):
                tables[section][-1].update(re.findall(r"`([a-z_0-9]+)`", line.split("|")[1]))
        else:
            in_table = False
    return tables


def declared() -> dict[str, set[str]]:
    from hint_bringup import expert_node, recorder_node, sim_node, teleop_node
    from hint_controller.controller_parameters import CONTROLLER_PARAMETERS
    from hint_policy import policy_node

    return {
        "controller_node": {spec.name for spec in CONTROLLER_PARAMETERS} | ROS2_CONTROL,
        "policy_node": set(policy_node.PARAMETERS) | {policy_node.POSES_PARAMETER} | ROS2_CONTROL,
        "sim_node": set(sim_node.PARAMETERS) | {sim_node.JOINT_NAMES_PARAMETER, sim_node.POSES_PARAMETER},
        "expert_node": set(expert_node.PARAMETERS),
        "teleop_node": set(teleop_node.PARAMETERS),
        "recorder_node": set(recorder_node.PARAMETERS),
    }


def test_every_node_parameter_is_documented_and_nothing_else():
    tables = documented_tables()
    documented = {
        "controller_node": tables["## `hint_controller controller_node`"][0],
        "policy_node": tables["## `hint_policy policy_node`"][0],
        "sim_node": tables["## `hint_bringup sim_node` (node `sim`)"][0],
        "expert_node": tables["## `hint_bringup expert_node` and `teleop_node` (`driver:=expert|teleop`)"][0],
        "teleop_node": tables["## `hint_bringup expert_node` and `teleop_node` (`driver:=expert|teleop`)"][1],
        "recorder_node": tables["## `hint_bringup recorder_node` (node `recorder`)"][0],
    }
    for node, names in declared().items():
        assert documented[node] == names, (
            f"{node}: undocumented {sorted(names - documented[node])}, not declared {sorted(documented[node] - names)}"
        )
