"""docs/nodes.md documents every node's parameters as the nodes declare them: each node section's
parameter table is rendered from the node's schema tables (name, type, default, allowed values,
meaning), and no node declares a parameter outside its schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.ros  # the node modules import rclpy

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "nodes.md"
#: section heading of docs/nodes.md -> the schema tables of its node(s), in the order of its tables
NODE_TABLES = {
    "## `hint_controller controller_node`": [
        "hint_controller.controller_parameters:CONTROLLER_PARAMETERS hint_controller.node_main:ros2_control_parameters(model)",
    ],
    "## `hint_policy policy_node`": ["hint_policy.policy_node:PARAMETERS"],
    "## `hint_bringup sim_node` (node `sim`)": ["hint_bringup.sim_node:PARAMETERS"],
    "## `hint_bringup expert_node` and `teleop_node` (`driver:=expert|teleop`)": [
        "hint_bringup.expert_node:PARAMETERS", "hint_bringup.teleop_node:PARAMETERS",
    ],
    "## `hint_bringup recorder_node` (node `recorder`)": ["hint_bringup.recorder_node:PARAMETERS"],
}


def marked_tables() -> dict[str, list[str]]:
    """section heading -> the table names of each parameter block in it."""
    tables: dict[str, list[str]] = {}
    section = ""
    for line in DOCS.read_text().splitlines():
        if line.startswith("## "):
            section = line
        match = re.match(r"^<!-- parameters: (.+) -->$", line)
        if match:
            tables.setdefault(section, []).append(match[1])
    return tables


def test_every_node_section_has_its_schema_tables():
    assert marked_tables() == NODE_TABLES


def test_the_parameter_tables_are_rendered_from_the_schemas():
    from hint_controller.parameter_schema import render_markdown

    text = DOCS.read_text()
    assert render_markdown(text) == text, (
        "docs/nodes.md's parameter tables differ from the nodes' schemas: "
        "run python -m hint_controller.parameter_schema docs/nodes.md"
    )


def test_no_node_declares_a_parameter_outside_its_schema():
    declaring = sorted(str(path.relative_to(ROOT)) for path in ROOT.glob("hint_*/hint_*/**/*.py")
                       if "declare_parameter(" in path.read_text())
    assert declaring == ["hint_controller/hint_controller/parameter_schema.py"]
