"""What every hint node shares: `main()` (init, spin until Ctrl-C, clean shutdown) and the
parameters that connect a node to a ros2_control arm."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import rclpy
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter


def declare_ros2_control_parameters(node: Node, inputs_of: str) -> None:
    """state_source, command_format, command_interface and joint_names (see controller_node);
    `inputs_of` names whose inputs are ``<joint>/<interface>`` ("model", "policy")."""
    def declare(name: str, default: str, description: str) -> None:
        node.declare_parameter(name, default, ParameterDescriptor(description=description))

    declare("state_source", "state_vector", "state_vector (hint_msgs/StateVector) or joint_state (sensor_msgs/JointState).")
    declare("command_format", "input_vector", "input_vector (hint_msgs/InputVector) or float64_multi_array (ros2_control forward command controller).")
    declare("command_interface", "effort", f"ros2_control command interface (effort, velocity, position): the {inputs_of}'s inputs are named '<joint>/<interface>'.")
    node.declare_parameter(
        "joint_names", Parameter.Type.STRING_ARRAY,
        ParameterDescriptor(description=f"Joints in the forward command controller's order (float64_multi_array); empty = the {inputs_of}'s input order."),
    )


def run_node(make_node: Callable[[], Node], args: Sequence[str] | None = None, name: str = "hint") -> None:
    """Create the node with `make_node` and spin it.

    A configuration error raised while the node is built (missing file, bad parameter: a
    FileNotFoundError or ValueError) is printed as one line and ends the process with status 1.
    """
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (FileNotFoundError, ValueError) as error:
        if node is not None:
            raise
        print(f"{name}: {error}", flush=True)
        raise SystemExit(1) from None
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
