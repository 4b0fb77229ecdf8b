"""Loop-death watchdog: an exception in the command loop's work must not stop the commands."""

import numpy as np
import pytest

pytestmark = pytest.mark.ros


def test_an_exception_in_the_loop_gives_fault_and_safe_commands_continue(ros):
    from hint_msgs.msg import ControllerStatus, InputVector, StateVector
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from hint_controller.controller_node import ControllerNode
    from hint_controller.qos import STATUS_QOS

    controller = ControllerNode(context=ros.context, parameter_overrides=[
        Parameter("model", value="planar_quadrotor"), Parameter("rate_hz", value=200.0),
        Parameter("state_timeout", value=0.5), Parameter("status_rate_hz", value=20.0),
        Parameter("command_loop", value="thread"),  # the executor is this process's to break
    ])
    ros.executor.add_node(controller)
    ros.nodes.append(controller)
    driver = ros.node("watchdog_driver")
    commands, statuses = [], []
    driver.create_subscription(InputVector, "command", commands.append, QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT))
    driver.create_subscription(ControllerStatus, "controller_status", statuses.append, STATUS_QOS)
    state_pub = driver.create_publisher(StateVector, "state", QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
    x = [0.2, 1.0, 0.1, 0.0, 0.0, 0.0]
    driver.create_timer(0.01, lambda: state_pub.publish(StateVector(names=list(controller.model.state_names), values=x)))
    assert ros.spin_until(lambda: len(commands) > 10, 20), "no commands before the fault"

    calls = []

    def broken_command(t, state):
        calls.append(t)
        raise RuntimeError("injected failure")

    controller.executor_core.command = broken_command  # the loop's work now raises on every tick
    assert ros.spin_until(lambda: calls and statuses and statuses[-1].mode == ControllerStatus.MODE_FAULT, 5)
    commands.clear()
    ros.spin_for(1.0)
    assert controller._loop_thread.is_alive()
    assert len(calls) == 1, "FAULT is latched: the broken executor is not called again"
    assert len(commands) > 0.3 * 200, f"only {len(commands)} commands in 1 s after the fault"
    hover = controller.model.safe_input(np.array(x), "hover")
    for command in commands:
        np.testing.assert_allclose(command.values, hover)
    assert statuses[-1].mode == ControllerStatus.MODE_FAULT
    assert "RuntimeError: injected failure" in statuses[-1].reason
