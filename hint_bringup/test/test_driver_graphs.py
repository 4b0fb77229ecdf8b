"""driver:=policy|expert|teleop swaps the node that acts; record:=true names it as the bag's
operator and makes the simulator wait for the recorder and that node (runner and launch files alike)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from hint_bringup.graphs import GRAPHS, graph
from hint_bringup.run import process_specs

SIM_GRAPHS = sorted(name for name, g in GRAPHS.items() if g.drivers)


def parameter_flags(command: tuple[str, ...]) -> dict[str, str]:
    return dict(command[i + 1].split(":=", 1) for i, item in enumerate(command) if item == "-p")


def test_the_simulation_graphs_offer_their_drivers():
    assert SIM_GRAPHS == ["arm_sim", "can_sim", "pusht_sim", "quadrotor_sim", "square_sim"]
    for name in SIM_GRAPHS:
        g = graph(name)
        # teleoperation maps a stick to a target point: PushT's agent and the quadrotor's hover point
        teleoperated = name in ("pusht_sim", "quadrotor_sim")
        expected = ["policy", "expert", "teleop"] if teleoperated else ["policy", "expert"]
        assert list(g.drivers) == expected
        assert g.argument_specs()["driver"][0] == "policy"
        sections = g.parameters()
        for driver in g.drivers.values():
            assert importlib.util.find_spec(driver.module) is not None
            assert driver.name == "policy" or driver.name in sections, f"{g.config_file} lacks {driver.name}"
        assert all(sections[d]["environment"] == sections["sim"]["environment"] for d in g.drivers if d != "policy")


@pytest.mark.parametrize("driver", ["expert", "teleop"])
def test_driver_replaces_the_policy_node(driver):
    specs = {spec.node: spec.command for spec in process_specs(graph("pusht_sim"), {"driver": driver})}
    assert set(specs) == {"sim", "controller", driver}
    command = specs[driver]
    assert command[command.index("-m") + 1] == f"hint_bringup.{driver}_node"
    assert parameter_flags(command)["use_sim_time"] == "true"
    assert parameter_flags(specs["sim"])["wait_for_subscribers"] == driver  # episode 0 waits for the driver


def test_record_names_the_driver_as_operator_and_the_sim_waits_for_the_recorder():
    specs = {spec.node: spec.command for spec in
             process_specs(graph("quadrotor_sim"), {"driver": "expert", "record": "true", "bag_dir": "/tmp/b"})}
    assert set(specs) == {"sim", "controller", "expert", "recorder"}
    recorder = parameter_flags(specs["recorder"])
    assert (recorder["operator"], recorder["environment"], recorder["output_dir"]) == ("expert", "quadrotor", "/tmp/b")
    assert parameter_flags(specs["sim"])["wait_for_subscribers"] == "recorder,expert"
    policy_recording = {spec.node: spec.command for spec in process_specs(graph("pusht_sim"), {"record": "true"})}
    assert parameter_flags(policy_recording["recorder"])["operator"] == "policy"
    assert parameter_flags(policy_recording["sim"])["wait_for_subscribers"] == "recorder,policy"


def test_unknown_driver_is_refused():
    with pytest.raises(ValueError, match="driver must be one of policy | expert | teleop"):
        process_specs(graph("pusht_sim"), {"driver": "autopilot"})


def test_launch_files_start_the_same_driver_and_recorder():
    pytest.importorskip("launch", reason="ROS 2 launch is not installed")
    pytest.importorskip("launch_ros", reason="ROS 2 launch_ros is not installed")
    helpers = _graph_test_helpers()
    launch_view, runner_view = helpers.launch_view, helpers.runner_view
    arguments = {"driver": "teleop", "record": "true", "use_sim_time": "false"}
    launched = launch_view("pusht_sim", arguments)
    runner = runner_view("pusht_sim", arguments)
    assert set(launched) == set(runner) == {"sim", "controller", "teleop", "recorder"}
    for name in launched:
        assert launched[name]["parameters"] == runner[name]["parameters"], name
    assert launched["recorder"]["executable"] == "recorder_node"
    assert launched["recorder"]["parameters"]["operator"] == "teleop"
    assert launched["sim"]["parameters"]["wait_for_subscribers"] == "recorder,teleop"


def _graph_test_helpers():
    """test/test_bringup_graphs.py, whose launch_view / runner_view read back launched and run nodes."""
    path = Path(__file__).resolve().parents[2] / "test" / "test_bringup_graphs.py"
    spec = importlib.util.spec_from_file_location("bringup_graph_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
