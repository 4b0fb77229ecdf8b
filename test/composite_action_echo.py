"""A node in its own process for test_dds_composite_action: validates every CompositeAction it
receives on `chunks_in` and republishes it, rebuilt from numpy arrays, on `chunks_out`."""

import rclpy
from hint_msgs.conversions import composite_action_from_msg, composite_action_to_msg
from hint_msgs.msg import CompositeAction
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy


class Echo(Node):
    def __init__(self) -> None:
        super().__init__("composite_action_echo")
        qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        self._publisher = self.create_publisher(CompositeAction, "chunks_out", qos)
        self.create_subscription(CompositeAction, "chunks_in", self._echo, qos)

    def _echo(self, msg: CompositeAction) -> None:
        chunk = composite_action_from_msg(msg)
        self._publisher.publish(
            composite_action_to_msg(
                chunk.x_ref, chunk.u_ff, chunk.gains, knot_period=chunk.knot_period, stamp=chunk.start_time,
                state_names=chunk.state_names, input_names=chunk.input_names, sequence=chunk.sequence,
                sigma=chunk.sigma, interpolation=chunk.interpolation,
            )
        )


def main() -> None:
    rclpy.init()
    node = Echo()
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
