"""Teleoperation: a joystick or a target point moves a target that the controller tracks.

    python -m hint_bringup.teleop_node --ros-args -p environment:=pusht
    ros2 run joy joy_node        # any sensor_msgs/Joy source on `joy`

Subscribes
  ``joy``            sensor_msgs/Joy (the standard joy node's output): stick axes move the target
  ``teleop_target``  geometry_msgs/Point: puts the target at (x, y) (and z for a third coordinate)
  ``state``          hint_msgs/StateVector, the full measured state
  ``episode_event``  hint_msgs/EpisodeEvent; at START the target jumps to the measured position
Publishes
  ``composite_action``  hint_msgs/CompositeAction, a fresh chunk every knot period (sim time)

The target is a point in the coordinates named ``target_states`` (PushT: agent_x, agent_y in px;
the quadrotor: x, z in m). Mapping: the value of joystick axis ``axes[i]`` (in [-1, 1], zero
inside ``deadzone``) times ``axis_scales[i]`` is the velocity of target coordinate i [units/s of
sim time]; the target is clipped to [target_min, target_max]. PushT defaults: the left stick
(axes 0, 1; the joy node reports left and up as positive) moves the agent's target at up to
200 px/s on the rendered image (x right, y down). Joy messages older than ``joy_timeout`` wall
seconds count as released sticks (the joy node repeats held sticks at 20 Hz by default).

Each chunk is a track-target primitive sequence (:class:`hint_bringup.teleop.TargetTracker`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from geometry_msgs.msg import Point
from hint_msgs.conversions import NS, MessageValidationError, stamp_to_ns, vector_from_msg
from hint_msgs.msg import CompositeAction as CompositeActionMsg
from hint_msgs.msg import EpisodeEvent, StateVector
from rclpy.node import Node
from sensor_msgs.msg import Joy

from hint_controller.action_messages import action_to_msg
from hint_controller.chunk_schedule import ChunkSchedule
from hint_controller.names import name_indices
from hint_controller.node_main import run_node
from hint_controller.parameter_schema import (
    AT_LEAST_ONE, DOUBLE, DOUBLE_ARRAY, FINITE, INTEGER, INTEGER_ARRAY, NON_NEGATIVE, STRING, STRING_ARRAY,
    ParameterSpec, Range, declare_checked, parameter_error
)
from hint_controller.qos import CHUNK_QOS, EVENT_QOS, STREAM_QOS
from hint_policy.envs import make_env

from hint_bringup.teleop import TargetTracker, stick_velocity

PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("environment", STRING, "pusht", None, "Environment (its model, state names and periods): a name of hint_policy.envs.ENV_NAMES or 'module:Class'.", non_empty=True),
    ParameterSpec("target_states", STRING_ARRAY, ["agent_x", "agent_y"], None, "Controlled-state coordinates the target sets.", non_empty=True),
    ParameterSpec("target_rates", STRING_ARRAY, ["agent_vx", "agent_vy"], None, "Their rates (reference velocity while the target moves), one per target coordinate; [''] = none."),
    ParameterSpec("target_min", DOUBLE_ARRAY, [15.0, 15.0], FINITE, "Lower clip of the target, per target coordinate.", non_empty=True),
    ParameterSpec("target_max", DOUBLE_ARRAY, [497.0, 497.0], FINITE, "Upper clip of the target, per target coordinate.", non_empty=True),
    ParameterSpec("axes", INTEGER_ARRAY, [0, 1], NON_NEGATIVE, "Joy axis index moving each target coordinate.", non_empty=True),
    ParameterSpec("axis_scales", DOUBLE_ARRAY, [-200.0, -200.0], FINITE, "Target velocity per unit axis value [units/s], per target coordinate.", non_empty=True),
    # axis values lie in [-1, 1]: a deadzone of 1 would ignore every stick
    ParameterSpec("deadzone", DOUBLE, 0.05, Range(0.0, 1.0, upper_open=True), "Axis values of smaller magnitude count as 0."),
    ParameterSpec("joy_timeout", DOUBLE, 0.5, NON_NEGATIVE, "Wall seconds after which the last Joy message counts as released sticks; 0 = never."),
    ParameterSpec("chunk_length", INTEGER, 8, AT_LEAST_ONE, "Knots per composite action."),
    ParameterSpec("control_stride", INTEGER, 0, NON_NEGATIVE, "Physics steps per knot; 0 = the environment's control stride."),
)


class TeleopNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("teleop", **kwargs)
        p = declare_checked(self, PARAMETERS)
        with parameter_error("environment"):
            env = make_env(p["environment"])
        targets = list(p["target_states"])
        rates = [name for name in p["target_rates"] if name]
        self.axes, self.scales = list(p["axes"]), list(p["axis_scales"])
        if len(self.axes) != len(targets) or len(self.scales) != len(targets):
            raise ValueError(f"axes and axis_scales need {len(targets)} entries (one per target coordinate)")
        self.deadzone, self.joy_timeout = p["deadzone"], p["joy_timeout"]
        stride = p["control_stride"] or env.control_stride
        with parameter_error("target_states, target_rates", LookupError):  # names the model lacks
            self.tracker = TargetTracker(env.model, targets, rates, p["target_min"], p["target_max"],
                                         stride * env.physics_period, p["chunk_length"])
        self.state_names = env.state_names
        self.target_in_state = np.asarray(name_indices(env.state_names, targets))
        self._schedule = ChunkSchedule.every(1, self.tracker.knot_period, env.physics_period)  # a chunk per knot
        self._episode_start_ns = -1
        self._joy_axes: list[float] = []
        self._joy_received = 0.0

        self._publisher = self.create_publisher(CompositeActionMsg, "composite_action", CHUNK_QOS)  # first: see expert_node
        self.create_subscription(Joy, "joy", self._on_joy, STREAM_QOS)
        self.create_subscription(Point, "teleop_target", self._on_target, STREAM_QOS)
        self.create_subscription(StateVector, "state", self._on_state, STREAM_QOS)
        self.create_subscription(EpisodeEvent, "episode_event", self._on_event, EVENT_QOS)
        self.get_logger().info(
            f"teleop of {targets} ({env.name}): axes {self.axes} x {self.scales} units/s, "
            f"chunks of {self.tracker.chunk_length} knots every {self.tracker.knot_period:g} s"
        )

    # ------------------------------------------------------------------ inputs
    def _on_joy(self, msg: Joy) -> None:
        self._joy_axes = list(msg.axes)
        self._joy_received = time.monotonic()

    def _on_target(self, msg: Point) -> None:
        point = np.array([msg.x, msg.y, msg.z])[: len(self.axes)]
        if np.all(np.isfinite(point)):
            self.tracker.place(point)

    def _on_event(self, msg: EpisodeEvent) -> None:
        if msg.event == EpisodeEvent.EVENT_START:
            self._episode_start_ns = stamp_to_ns(msg.header.stamp)
            self.tracker.target = None  # the next state of the new episode places it
            self._schedule.reset()

    def velocity(self) -> np.ndarray:
        stale = self.joy_timeout > 0 and time.monotonic() - self._joy_received > self.joy_timeout
        return stick_velocity([] if stale else self._joy_axes, self.axes, self.scales, self.deadzone)

    def _on_state(self, msg: StateVector) -> None:
        t_ns = stamp_to_ns(msg.header.stamp)
        if t_ns < self._episode_start_ns:
            return
        try:
            state = vector_from_msg(msg, self.state_names)
        except MessageValidationError as error:
            self.get_logger().error(f"state does not match {list(self.state_names)}: {error}", throttle_duration_sec=2.0)
            return
        if self.tracker.target is None:
            self.tracker.place(state[self.target_in_state])
        elif not self._schedule.due(t_ns):
            return
        velocity = self.velocity()
        if self._schedule.last_ns is not None:
            self.tracker.move(velocity, (t_ns - self._schedule.last_ns) / NS)
        self._schedule.mark(t_ns)
        action = self.tracker.chunk(velocity, t_ns / NS)
        self._publisher.publish(action_to_msg(action))


def main(args: list[str] | None = None) -> None:
    run_node(TeleopNode, args, name="teleop")


if __name__ == "__main__":
    main()
