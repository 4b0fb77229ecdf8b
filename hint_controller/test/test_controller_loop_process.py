"""The command loop in its own process (command_loop: process): its death is a FAULT the node
reports while it publishes the safe command itself, and the loop process never outlives the node."""

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.ros


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def gone(pid: int, timeout: float) -> bool:
    """`pid` has exited (or is a zombie nobody waits for) within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def drive(ros, name: str, state_names, x):
    """A node that publishes state at 100 Hz and records commands and statuses."""
    from hint_msgs.msg import ControllerStatus, InputVector, StateVector
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from hint_controller.qos import STATUS_QOS

    driver = ros.node(name)
    commands, statuses = [], []
    driver.create_subscription(InputVector, "command", commands.append, QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT))
    driver.create_subscription(ControllerStatus, "controller_status", statuses.append, STATUS_QOS)
    state_pub = driver.create_publisher(StateVector, "state", QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
    driver.create_timer(0.01, lambda: state_pub.publish(StateVector(names=list(state_names), values=list(x))))
    return commands, statuses


def test_the_loop_process_dying_gives_fault_and_the_node_publishes_the_safe_command(ros):
    from hint_msgs.msg import ControllerStatus
    from rclpy.parameter import Parameter

    from hint_controller.controller_node import ControllerNode

    controller = ControllerNode(context=ros.context, parameter_overrides=[
        Parameter("command_loop", value="process"),
        Parameter("model", value="planar_quadrotor"), Parameter("rate_hz", value=200.0),
        Parameter("state_timeout", value=0.5), Parameter("status_rate_hz", value=20.0),
    ])
    ros.executor.add_node(controller)
    ros.nodes.append(controller)
    x = [0.2, 1.0, 0.1, 0.0, 0.0, 0.0]
    commands, statuses = drive(ros, "loop_death_driver", controller.model.state_names, x)
    assert ros.spin_until(lambda: len(commands) > 10 and statuses and statuses[-1].mode == ControllerStatus.MODE_WAITING, 30), \
        "no commands from the loop process"
    assert controller._loop_thread is None, "the commands came from the loop process"

    os.kill(controller._loop_process.pid, signal.SIGKILL)
    assert ros.spin_until(lambda: statuses[-1].mode == ControllerStatus.MODE_FAULT, 5), statuses[-1].reason
    assert statuses[-1].reason == "command loop process exited with status -9"
    commands.clear()
    ros.spin_for(1.0)
    assert len(commands) > 0.3 * 200, f"only {len(commands)} commands in 1 s after the loop process died"
    hover = controller.model.safe_input(np.array(x), "hover")
    for command in commands:
        np.testing.assert_allclose(command.values, hover)
    assert statuses[-1].mode == ControllerStatus.MODE_FAULT and statuses[-1].command_rate_hz > 100


def test_no_loop_process_outlives_its_node(spawn):
    """Ctrl-C stops the loop process in order; a killed node takes it along (PR_SET_PDEATHSIG)."""
    for stop in (signal.SIGINT, signal.SIGKILL):
        process = spawn("-m", "hint_controller.controller_node", "--ros-args", "-p", "rate_hz:=200.0",
                        "-p", "command_loop:=process")
        deadline = time.monotonic() + 30
        while not children(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        loops = children(process.pid)
        assert loops, "no loop process started"
        time.sleep(1.0)  # running, not starting
        process.send_signal(stop)
        output = process.communicate(timeout=20)[0]
        assert all(gone(pid, 5.0) for pid in loops), f"loop process {loops} left behind after {stop.name}"
        if stop == signal.SIGINT:
            assert process.returncode == 0, output
            assert "Traceback" not in output, output
