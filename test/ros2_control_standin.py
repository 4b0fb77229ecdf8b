"""A stand-in for a robot driven by ros2_control, for the hardware graph's integration test.

It speaks exactly the topics of ros2_control's joint_state_broadcaster and a forward command
controller, with their QoS (rclcpp::SystemDefaultsQoS):

* publishes sensor_msgs/JointState on the state topic (default /joint_states) at --rate Hz, its
  joints in --state-order (which may shuffle the arm's joints and name joints the arm's model does
  not have, e.g. a gripper finger; those report fixed values), with position, velocity and effort;
* subscribes to std_msgs/Float64MultiArray on the command topic (default
  /<interface>_controller/commands), the array ordered by --joint-names (the forward command
  controller's ``joints`` parameter); an array of another size is ignored, as the controller does.

The arm is simulated with hint's own model of the interface (make_model: manipulator for effort,
position_servo / velocity_servo), one model step (0.01 s) per published state, under the latest
command held (clamped to the model's limits). Before the first command it holds itself: position
commands its measured position, velocity 0, effort gravity compensation.

Everything received is written as JSON to --record (atomically, every second and at exit): each
command's wall-clock receipt time, its raw array and the arm's state (the model's order) last
published before it, and every published state with its wall-clock time.

    python test/ros2_control_standin.py --interface position --joint-names joint2,joint3,joint1 \\
        --state-order joint3,gripper_finger,joint1,joint2 --start joint1=0.6,joint2=-0.4,joint3=0.1 \\
        --record /tmp/standin.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time

import numpy as np

MODELS = {"effort": "manipulator", "position": "position_servo", "velocity": "velocity_servo"}
#: fixed values of a joint the arm's model does not know (a gripper finger)
EXTRA_JOINT = {"position": 0.02, "velocity": 0.0, "effort": 0.0}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interface", choices=sorted(MODELS), required=True)
    parser.add_argument("--joint-names", required=True, help="the forward command controller's joints, a,b,c")
    parser.add_argument("--state-order", required=True, help="joints of the JointState, in its order (may add others)")
    parser.add_argument("--start", default="", help="start positions joint=value,... (others 0)")
    parser.add_argument("--rate", type=float, default=100.0, help="JointState rate [Hz]")
    parser.add_argument("--state-topic", default="/joint_states")
    parser.add_argument("--command-topic", default="", help="default /<interface>_controller/commands")
    parser.add_argument("--record", required=True, help="JSON file of what was received")
    return parser.parse_args(argv)


class Standin:
    def __init__(self, args: argparse.Namespace) -> None:
        import rclpy
        from rclpy.qos import qos_profile_system_default
        from sensor_msgs.msg import JointState
        from std_msgs.msg import Float64MultiArray

        from hint_controller.dynamics import make_model

        self.args = args
        self.model = make_model(MODELS[args.interface], 0.01)
        self.joints = [name.rsplit("/", 1)[0] for name in self.model.input_names]
        self.command_joints = [j.strip() for j in args.joint_names.split(",") if j.strip()]
        self.state_order = [j.strip() for j in args.state_order.split(",") if j.strip()]
        if sorted(self.command_joints) != sorted(self.joints):
            raise SystemExit(f"--joint-names {self.command_joints} must list the model's joints {self.joints}")
        if not set(self.joints) <= set(self.state_order):
            raise SystemExit(f"--state-order {self.state_order} lacks some of the model's joints {self.joints}")
        # array slot i of a command carries model input self.slots[i]
        self.slots = np.array([self.joints.index(j) for j in self.command_joints])
        start = dict(item.split("=") for item in args.start.split(",") if item)
        k = len(self.joints)
        self.x = np.concatenate([[float(start.get(j, 0.0)) for j in self.joints], np.zeros(k)])
        self.u: np.ndarray | None = None  # the latest command, model order (None: none yet)
        self.applied = np.zeros(k)
        self.lock = threading.Lock()
        self.record = {
            "interface": args.interface, "model": self.model.name, "model_joints": self.joints,
            "joint_names": self.command_joints, "state_order": self.state_order,
            "start": self.x[:k].tolist(), "states_published": 0, "ignored_wrong_size": 0,
            "commands": [],  # [wall time of receipt, raw array, state (model order) last published]
            "states": [],  # [wall time of publishing, state (model order)]
        }
        self.published_x = self.x.copy()

        self.rclpy = rclpy
        self.node = rclpy.create_node("ros2_control_standin")
        # joint_state_broadcaster and ForwardCommandController both use rclcpp::SystemDefaultsQoS()
        self.state_pub = self.node.create_publisher(JointState, args.state_topic, qos_profile_system_default)
        topic = args.command_topic or f"/{args.interface}_controller/commands"
        self.node.create_subscription(Float64MultiArray, topic, self.on_command, qos_profile_system_default)
        self.JointState = JointState
        self.node.create_timer(1.0 / args.rate, self.step)
        self.node.create_timer(1.0, self.write)
        self.node.get_logger().info(
            f"{self.model.name} arm {self.joints}: JointState {self.state_order} on {args.state_topic}, "
            f"commands {self.command_joints} on {topic}")

    def hold(self, x: np.ndarray) -> np.ndarray:
        """The arm's own command before the first one arrives."""
        k = len(self.joints)
        if self.args.interface == "position":
            return x[:k].copy()
        if self.args.interface == "velocity":
            return np.zeros(k)
        return self.model.gravity_compensation(x)

    def on_command(self, msg) -> None:
        data = list(msg.data)
        with self.lock:
            if len(data) != len(self.joints):
                self.record["ignored_wrong_size"] += 1
                return
            self.record["commands"].append([time.time(), data, self.published_x.tolist()])
            u = np.empty(len(self.joints))
            u[self.slots] = data
            self.u = u

    def step(self) -> None:
        with self.lock:
            x = self.x
            u = self.hold(x) if self.u is None else self.u
            u = np.clip(np.where(np.isfinite(u), u, 0.0), self.model.input_lower, self.model.input_upper)
            self.x = np.clip(self.model.step(x, u), self.model.state_lower, self.model.state_upper)
            self.applied = u
            self.published_x = self.x.copy()
            self.record["states_published"] += 1
            self.record["states"].append([time.time(), self.published_x.tolist()])
            x, applied = self.x, u
        k = len(self.joints)
        values = {j: {"position": x[i], "velocity": x[k + i],
                      "effort": applied[i] if self.args.interface == "effort" else 0.0}
                  for i, j in enumerate(self.joints)}
        msg = self.JointState(name=self.state_order)
        msg.header.stamp = self.node.get_clock().now().to_msg()
        for field in ("position", "velocity", "effort"):
            setattr(msg, field, [float(values.get(j, EXTRA_JOINT)[field]) for j in self.state_order])
        self.state_pub.publish(msg)

    def write(self) -> None:
        with self.lock:
            text = json.dumps(self.record)
            count = len(self.record["commands"])
        print(f"[standin] {count} commands received", flush=True)
        temporary = f"{self.args.record}.tmp"
        with open(temporary, "w") as stream:
            stream.write(text)
        os.replace(temporary, self.args.record)


def main(argv=None) -> int:
    args = parse_args(argv)
    import rclpy
    from rclpy.executors import ExternalShutdownException

    rclpy.init()
    standin = Standin(args)
    try:
        rclpy.spin(standin.node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        standin.write()
        standin.node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
