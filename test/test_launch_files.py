"""Every launch file of hint_bringup, run by launch_pytest like `ros2 launch` runs it.

Simulation graphs: the graph's nodes come up and the policy's composite actions reach the
controller, which then tracks them. hardware: with a fake joint_state_broadcaster (JointState on
/joint_states) the controller commands the forward command controller's topic in joint order and
the policy plans from the arm's state. Needs launch, launch_ros and launch_pytest (a full ROS 2
install); the whole module skips where they are absent.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

launch_pytest = pytest.importorskip("launch_pytest", reason="ROS 2 launch_pytest is not installed")
pytest.importorskip("launch_ros", reason="ROS 2 launch_ros is not installed")

import launch  # noqa: E402
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402

from hint_bringup.graphs import GRAPHS, graph, share_directory  # noqa: E402

pytestmark = pytest.mark.ros

REPO_ROOT = Path(__file__).resolve().parents[1]
#: the launch files of the simulation graphs (arm_sim counts once it is registered)
SIM_GRAPHS = ("pusht_sim", "quadrotor_sim", "arm_sim")
STARTUP_TIMEOUT = 90.0  # [s] torch and Drake imports on a loaded 2-core machine


def launch_file(name: str) -> Path:
    """The installed launch file (launch_ros finds the nodes' executables through the same install)."""
    return share_directory() / "launch" / f"{name}.launch.py"


def not_launchable(name: str) -> str:
    """Why the simulation graph `name` cannot be launched yet ("" when it can)."""
    if name not in GRAPHS:
        return f"graph {name} is not registered in hint_bringup.graphs"
    g = graph(name)
    if g.checkpoint and not (share_directory() / g.checkpoint).is_file():
        return f"{g.checkpoint} does not ship yet: {name} has no policy to launch"
    return ""


def skip_unless_launchable(name: str):
    return pytest.mark.skipif(bool(not_launchable(name)), reason=not_launchable(name) or "launchable")


def included(name: str, **arguments: str) -> launch.LaunchDescription:
    """A launch description that includes launch file `name` with `arguments`, ready to test at once."""
    assert launch_file(name).is_file(), f"{launch_file(name)} is not installed (run make setup)"
    return launch.LaunchDescription([
        IncludeLaunchDescription(PythonLaunchDescriptionSource(str(launch_file(name))), launch_arguments=arguments.items()),
        launch_pytest.actions.ReadyToTest(),
    ])


def node_names(ros) -> set[str]:
    return {name for name, _ in ros.nodes[0].get_node_names_and_namespaces()}


def wait_for_nodes(ros, name: str, **arguments: str) -> None:
    expected = {node.name for node in graph(name).active_nodes(arguments)}
    assert ros.spin_until(lambda: expected <= node_names(ros), timeout=STARTUP_TIMEOUT), (
        f"{name}: nodes {sorted(expected - node_names(ros))} did not come up (seen {sorted(node_names(ros))})"
    )


def watch_graph(ros):
    """A test node recording composite actions and controller status; returns (chunks, statuses)."""
    from hint_msgs.msg import CompositeAction, ControllerStatus
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    node = ros.node("launch_test_observer")
    chunks, statuses = [], []
    node.create_subscription(CompositeAction, "composite_action", chunks.append,
                             QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    node.create_subscription(ControllerStatus, "controller_status", statuses.append,
                             QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                                        durability=DurabilityPolicy.TRANSIENT_LOCAL))
    return chunks, statuses


def assert_policy_drives_the_controller(ros, name: str, chunks: list, statuses: list) -> None:
    from hint_msgs.msg import ControllerStatus

    assert ros.spin_until(lambda: len(chunks) >= 2, timeout=STARTUP_TIMEOUT), f"{name}: no composite actions"
    tracking = (ControllerStatus.MODE_TRACKING, ControllerStatus.MODE_HOLDING)
    assert ros.spin_until(lambda: any(s.mode in tracking and s.chunks_accepted > 0 for s in statuses), timeout=30), (
        f"{name}: the controller never tracked a chunk; last status {statuses[-1] if statuses else None}"
    )


# -- simulation graphs -----------------------------------------------------------------------

@launch_pytest.fixture
def pusht_sim_launch():
    return included("pusht_sim")


@launch_pytest.fixture
def quadrotor_sim_launch():
    return included("quadrotor_sim")


@launch_pytest.fixture
def arm_sim_launch():
    # the shipped Panda policy, no arguments
    return included("arm_sim")


def check_sim_graph(ros, name: str, **arguments: str) -> None:
    chunks, statuses = watch_graph(ros)
    wait_for_nodes(ros, name, **arguments)
    assert_policy_drives_the_controller(ros, name, chunks, statuses)


@skip_unless_launchable("pusht_sim")
@pytest.mark.launch(fixture=pusht_sim_launch)
def test_pusht_sim_launch_file_runs_the_graph(ros):
    check_sim_graph(ros, "pusht_sim")


@skip_unless_launchable("quadrotor_sim")
@pytest.mark.launch(fixture=quadrotor_sim_launch)
def test_quadrotor_sim_launch_file_runs_the_graph(ros):
    check_sim_graph(ros, "quadrotor_sim")


@skip_unless_launchable("arm_sim")
@pytest.mark.launch(fixture=arm_sim_launch)
def test_arm_sim_launch_file_runs_the_graph(ros):
    check_sim_graph(ros, "arm_sim")


def test_every_launch_file_has_a_test_here():
    launch_files = {path.name.removesuffix(".launch.py") for path in (REPO_ROOT / "hint_bringup" / "launch").glob("*.launch.py")}
    assert launch_files <= {*SIM_GRAPHS, "hardware"}, f"untested launch files: {sorted(launch_files - {*SIM_GRAPHS, 'hardware'})}"


# -- hardware --------------------------------------------------------------------------------

#: the fake arm's forward command controller lists the joints in this order (not the URDF's)
ARM_JOINT_ORDER = ("joint3", "joint1", "joint2")
ARM_POSITIONS = {"joint1": 0.4, "joint2": -0.3, "joint3": 0.2}


@pytest.fixture(scope="module")
def arm_checkpoint(tmp_path_factory):
    """A tiny policy for hint_controller's shipped arm (trained in a few seconds)."""
    spec = importlib.util.spec_from_file_location("launch_test_policy_utils", REPO_ROOT / "hint_policy" / "test" / "policy_test_utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        path, _ = utils.train_tiny_arm(tmp_path_factory.mktemp("launch_arm"))
    finally:
        torch.set_num_threads(threads)
    return str(path)


@launch_pytest.fixture
def hardware_launch(arm_checkpoint):
    return included("hardware", checkpoint=arm_checkpoint, joint_names=",".join(ARM_JOINT_ORDER),
                    controller_rate="200.0")


@pytest.mark.launch(fixture=hardware_launch)
def test_hardware_launch_file_commands_the_arm_from_joint_states(ros):
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray

    chunks, statuses = watch_graph(ros)
    arm = ros.node("fake_joint_state_broadcaster")
    commands = []
    arm.create_subscription(Float64MultiArray, "/effort_controller/commands", commands.append,
                            QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT))
    publisher = arm.create_publisher(JointState, "/joint_states", 10)
    joints = ["joint2", "joint1", "joint3"]
    arm.create_timer(0.01, lambda: publisher.publish(
        JointState(name=joints, position=[ARM_POSITIONS[j] for j in joints], velocity=[0.0] * 3)))

    wait_for_nodes(ros, "hardware")
    assert "sim" not in node_names(ros)
    assert ros.spin_until(lambda: len(commands) >= 10, timeout=STARTUP_TIMEOUT), "no commands on /effort_controller/commands"
    assert all(len(c.data) == 3 and np.all(np.isfinite(c.data)) for c in commands)
    assert_policy_drives_the_controller(ros, "hardware", chunks, statuses)
    assert statuses[-1].command_rate_hz == pytest.approx(200.0, rel=0.2)  # controller_rate:=200.0 applied
