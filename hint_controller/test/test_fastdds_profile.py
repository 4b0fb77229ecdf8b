"""The controller node's own Fast DDS profile: selected only when the user configured none, and
the node still talks to the rest of the graph with it."""

import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from hint_controller.fastdds_profile import NODE_PROFILE, PROFILE_VARIABLES, QOS_FROM_XML, own_publication_mode, use_node_profile

NAMESPACE = {"dds": "http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles"}


def profiles_of(path: Path) -> ElementTree.Element:
    """The <profiles> element of a Fast DDS XML file."""
    return ElementTree.parse(path).getroot().find("dds:profiles", NAMESPACE)


def test_the_node_profile_is_selected_only_when_fast_dds_is_not_configured():
    environ: dict[str, str] = {}
    assert use_node_profile(environ) is True
    assert environ == {PROFILE_VARIABLES[0]: str(NODE_PROFILE), QOS_FROM_XML: "1"}
    for configured in ({PROFILE_VARIABLES[0]: "/robot/fastdds.xml"}, {PROFILE_VARIABLES[1]: "/robot/fastdds.xml"},
                       {QOS_FROM_XML: "0"}):
        environ = dict(configured)
        assert use_node_profile(environ) is False and environ == configured


def test_the_loop_process_takes_its_publication_mode_from_its_environment_not_from_xml():
    environ = {PROFILE_VARIABLES[0]: str(NODE_PROFILE), QOS_FROM_XML: "1"}
    own_publication_mode(environ)
    assert environ[QOS_FROM_XML] == "0"


def test_the_profile_gives_readers_dynamic_memory_and_writers_rmw_fastrtps_defaults():
    profiles = profiles_of(NODE_PROFILE)
    reader = profiles.find("dds:data_reader", NAMESPACE)
    writer = profiles.find("dds:data_writer", NAMESPACE)
    assert reader.get("is_default_profile") == writer.get("is_default_profile") == "true"
    assert reader.findtext("dds:historyMemoryPolicy", namespaces=NAMESPACE) == "DYNAMIC"
    assert writer.findtext("dds:historyMemoryPolicy", namespaces=NAMESPACE) == "PREALLOCATED_WITH_REALLOC"
    assert writer.findtext("dds:qos/dds:publishMode/dds:kind", namespaces=NAMESPACE) == "SYNCHRONOUS"


def test_the_profile_keeps_the_built_in_transports_with_a_short_shared_memory_health_check():
    profiles = profiles_of(NODE_PROFILE)
    descriptors = {d.findtext("dds:transport_id", namespaces=NAMESPACE): d
                   for d in profiles.iterfind("dds:transport_descriptors/dds:transport_descriptor", NAMESPACE)}
    participant = profiles.find("dds:participant", NAMESPACE)
    assert participant.get("is_default_profile") == "true"
    assert participant.findtext("dds:rtps/dds:useBuiltinTransports", namespaces=NAMESPACE) == "false"
    listed = [descriptors[t.text] for t in participant.iterfind("dds:rtps/dds:userTransports/dds:transport_id", NAMESPACE)]
    types = [d.findtext("dds:type", namespaces=NAMESPACE) for d in listed]
    assert sorted(types) == ["SHM", "UDPv4"]
    used = dict(zip(types, listed))
    assert used["UDPv4"].find("dds:interfaceWhiteList", NAMESPACE) is None, "every interface, as the built-in UDPv4"
    assert int(used["SHM"].findtext("dds:healthy_check_timeout_ms", namespaces=NAMESPACE)) <= 50


def test_the_test_profile_carries_the_node_profiles_endpoints():
    """The suite configures Fast DDS itself (test/fastdds_localhost.xml), so the node keeps that file:
    its reader and writer profiles must be the node's own for the tests to run what users get."""
    test_profile = Path(__file__).resolve().parents[2] / "test" / "fastdds_localhost.xml"

    def endpoints(path: Path) -> list[bytes]:
        profiles = profiles_of(path)
        return [ElementTree.tostring(profiles.find(f"dds:{kind}", NAMESPACE)).strip() for kind in ("data_reader", "data_writer")]

    assert endpoints(test_profile) == endpoints(NODE_PROFILE)


@pytest.mark.ros
@pytest.mark.parametrize(("command_loop", "discovery_range"),
                         [("thread", "LOCALHOST"), ("process", "LOCALHOST"), ("process", "SUBNET")])
def test_a_controller_on_its_own_profile_commands_a_peer_with_another(ros, command_loop, discovery_range):
    """The node process starts without any Fast DDS configuration (so with NODE_PROFILE), on the
    given discovery range (rmw_fastrtps adds transports of its own on LOCALHOST); this test's
    participant keeps the suite's profile."""
    from hint_msgs.msg import ControllerStatus, InputVector, StateVector
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from hint_controller.qos import STATUS_QOS

    environ = {name: value for name, value in os.environ.items() if name not in (*PROFILE_VARIABLES, QOS_FROM_XML)}
    environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = discovery_range
    process = subprocess.Popen(
        [sys.executable, "-m", "hint_controller.controller_node", "--ros-args", "-r", "__node:=profile_controller",
         "-p", "model:=planar_quadrotor", "-p", "rate_hz:=200.0", "-p", f"command_loop:={command_loop}"],
        env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        driver = ros.node(f"profile_driver_{command_loop}_{discovery_range.lower()}")
        commands, statuses = [], []
        driver.create_subscription(InputVector, "command", commands.append, QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT))
        driver.create_subscription(ControllerStatus, "controller_status", statuses.append, STATUS_QOS)
        state = driver.create_publisher(StateVector, "state", QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
        names = ["x", "z", "theta", "xdot", "zdot", "thetadot"]
        driver.create_timer(0.01, lambda: state.publish(StateVector(names=names, values=[0.0, 1.0, 0.0, 0.0, 0.0, 0.0])))
        assert ros.spin_until(lambda: len(commands) > 20 and statuses, 30), f"{len(commands)} commands, {len(statuses)} statuses"
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=20)[0]
    assert process.returncode == 0, output
    assert "XMLPARSER" not in output and "Error" not in output, output
