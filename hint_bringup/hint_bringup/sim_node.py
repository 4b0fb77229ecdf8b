"""One rclpy simulator node for every hint environment (hint_policy.envs.base.Env).

    python -m hint_bringup.sim_node --ros-args -p environment:=pusht -p seed:=0 \
        -p real_time_factor:=1.0 -p publish_clock:=true
    python -m hint_bringup.sim_node --ros-args -p environment:=arm -p state_format:=joint_state \
        -p command_format:=float64_multi_array -p "joint_names:=[joint1, joint2, joint3]"

The ROS-free :class:`hint_bringup.simulation.Simulation` owns the env, the simulated clock, the
command hold with its timeout and the episode bookkeeping; :class:`SimNode` connects it to topics. Physics steps come
from a steady wall-clock timer: with real_time_factor r > 0 the node runs the steps that are due
(sim time = r x wall time since start, catching up at most `MAX_CATCH_UP_STEPS` per tick, after
which it lets sim time fall behind and warns); with r = 0 it steps as fast as it can.

Sim time starts at 0 and only moves forward, also across episodes: a reset takes one physics
period, so the last state of an episode and the first of the next never share a stamp.

With ``wait_for_subscribers:=recorder,expert`` the first episode (and sim time) starts only once
every node named there subscribes to the state (state, joint_states or a pose topic) and the
state's, applied_input's and episode_event's publishers have matched every subscription the graph
lists for them, for `SUBSCRIBER_SETTLE_S`: a recorder started alongside the simulator then
records episode 0 from its first state, and the node that acts is ready (loaded, warmed up) when
it begins (the runner and the launch files set it with record:=true).

Topics (relative names, so a namespace applies)::

    state          hint_msgs/StateVector   full env state at every physics step, stamped with sim time
    applied_input  hint_msgs/InputVector   input applied during the step that starts at its stamp
                                           (the command, or the model's safe input when stale)
    episode_event  hint_msgs/EpisodeEvent  START / SUCCESS / COLLISION / TIMEOUT / STOP
    image          sensor_msgs/Image       rgb8 render at image_rate_hz of sim time (only when subscribed)
    coverage       std_msgs/Float64        envs with a coverage score (PushT): the step reward
                                           clip(coverage / 0.95, 0, 1)
    <pose>_pose    geometry_msgs/PoseStamped  each pose named in ``poses`` (e.g. object_pose), in the
                                           world frame, with every state
    /clock         rosgraph_msgs/Clock     sim time (publish_clock), for nodes with use_sim_time
    command        hint_msgs/InputVector   (subscribed) the low-level input, matched by names
    reset          hint_msgs/srv/ResetEpisode (service)

ros2_control-style topics for an arm (the parameters mirror hint_controller's controller node):

* ``state_format:=joint_state`` also publishes ``joint_states`` (sensor_msgs/JointState, as
  joint_state_broadcaster does) with every step's ``state``: name, position and velocity of the
  model's joints and effort = the effort applied over the step that ended at the stamp (zeros for
  an episode's first state), and the positions of joints the env measures outside its model (the
  Panda's mirrored finger) with NaN in their other fields, as joint_state_broadcaster fills
  interfaces a joint lacks. ``state`` keeps carrying the full StateVector, so coordinates that are
  no joint's (the arm task's goal point) still reach the policy; ``poses`` also publishes chosen
  poses on their own topics (an object's pose, as a perception node would).
* ``command_format:=float64_multi_array`` takes ``command`` as std_msgs/Float64MultiArray, as a
  ros2_control forward command controller does: entry i commands ``joint_names[i]`` on
  ``command_interface`` (empty joint_names = the model's input order); an array of the wrong
  length or with non-finite values is rejected with a log line and the previous command is held.

QoS, chosen so that every consumer can pick what it needs:

* state, applied_input: RELIABLE, KEEP_LAST 100 (1 s at 100 Hz), VOLATILE. A reliable writer
  matches both kinds of reader: the controller reads BEST_EFFORT depth 1 (always the newest
  state, never a retransmission that delays it) and a recorder reads RELIABLE with a deep queue
  (every state; the writer keeps 1 s of history to repair short hiccups).
* command (subscription): BEST_EFFORT, KEEP_LAST 1. Only the newest command matters (it is
  held until the next); a best-effort reader matches reliable and best-effort writers alike
  (hint_controller publishes best effort). Losing one command holds the previous one for one
  more step, which is what the controller's zero-order hold means anyway.
* episode_event: RELIABLE, TRANSIENT_LOCAL, KEEP_LAST 20: events are rare and must not be
  lost; a node that starts late (recorder, evaluator) still gets the recent ones.
* image: RELIABLE KEEP_LAST 2 (matches viewers of either reliability; old frames are dropped).
* /clock: RELIABLE KEEP_LAST 1 (matches rclpy's best-effort /clock reader and reliable ones).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
import rclpy.duration
from rclpy.qos import QoSCompatibility, qos_check_compatible

from hint_msgs.conversions import NS, ns_to_stamp

from hint_controller.dynamics.base import SafeMode
from hint_controller.joint_state import COMMAND_INTERFACES, ForwardCommandLayout, JointStateError, vector_to_joint_state
from hint_controller.names import name_indices
from hint_controller.node_main import COMMAND_FORMATS, run_node
from hint_controller.parameter_schema import (
    BOOL, DOUBLE, INTEGER, NON_NEGATIVE, POSITIVE, STRING, STRING_ARRAY, ParameterSpec, Range, declare_checked,
    parameter_error
)
from hint_controller.pose import pose_state_names, pose_topic, vector_to_pose
from hint_controller.qos import CLOCK_QOS, COMMAND_QOS, EVENT_QOS, IMAGE_QOS, SIM_STATE_QOS
from hint_policy.envs import make_env
from hint_policy.envs.base import Env

from hint_bringup.simulation import EVENT_START, SimEvent, Simulation

#: most physics steps one timer tick runs to catch up with real time
MAX_CATCH_UP_STEPS = 10
#: wall seconds the awaited subscribers must stay matched before episode 0 starts, and between checks
SUBSCRIBER_SETTLE_S = 0.3
SUBSCRIBER_CHECK_S = 0.05
STATE_FORMATS = ("state_vector", "joint_state")


@dataclasses.dataclass(frozen=True)
class JointStateLayout:
    """What the JointState on ``joint_states`` carries of an env: the model's joint states
    ("<joint>/position", "<joint>/velocity"), the env's "<joint>/effort" inputs (as applied), and
    the positions of joints outside the model that the env measures (a mirrored finger), whose
    other fields are NaN, as ros2_control's joint_state_broadcaster fills interfaces a joint lacks."""

    names: tuple[str, ...]  # "<joint>/<field>" of every value: states, efforts, unmodelled positions, NaN fields
    state_columns: tuple[int, ...]  # of the model's states in the env's full state
    effort_columns: tuple[int, ...]  # of the names' efforts in the env's input vector
    unmodelled_columns: tuple[int, ...] = ()  # of the unmodelled joints' positions in the env's full state
    unmeasured: int = 0  # trailing NaN values: the unmodelled joints' other fields

    @classmethod
    def of(cls, env: Env) -> JointStateLayout:
        """The layout of `env`; raises ValueError when its model's states are no joint states."""
        efforts = tuple(name for name in env.input_names if name.endswith("/effort"))
        modelled = tuple(env.model.state_names)
        unmodelled = tuple(name for name in env.state_names if name.endswith("/position") and name not in modelled)
        fields = sorted({name.rpartition("/")[2] for name in (*modelled, *efforts)} - {"position"})
        unmeasured = tuple(f"{name.rpartition('/')[0]}/{field}" for name in unmodelled for field in fields)
        layout = cls(modelled + efforts + unmodelled + unmeasured, tuple(name_indices(env.state_names, modelled)),
                     tuple(name_indices(env.input_names, efforts)), tuple(name_indices(env.state_names, unmodelled)),
                     len(unmeasured))
        try:
            layout.message(np.zeros(len(env.state_names)), np.zeros(len(env.input_names)))
        except JointStateError as error:
            raise ValueError(f"state_format joint_state needs joint states named '<joint>/position' ... ; "
                             f"environment {env.name!r}: {error}") from error
        return layout

    def message(self, state: np.ndarray, applied_input: np.ndarray):
        """The sensor_msgs/JointState of a full state and the input applied before it (unstamped)."""
        state = np.asarray(state, dtype=float)
        values = np.concatenate([state[list(self.state_columns)],
                                 np.asarray(applied_input, dtype=float)[list(self.effort_columns)],
                                 state[list(self.unmodelled_columns)], np.full(self.unmeasured, np.nan)])
        return vector_to_joint_state(values, self.names)


# ============================================================================ ROS node

PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("environment", STRING, "pusht", None, "A name of hint_policy.envs.ENV_NAMES (pusht, quadrotor, quadrotor_stabilize, arm, panda, can, square, ...) or 'module:Class' of an Env.", non_empty=True),
    ParameterSpec("seed", INTEGER, 0, NON_NEGATIVE, "Seed of the first episode (next episodes: seed + 1, ...)."),
    # the physics timer's period is physics_period / real_time_factor
    ParameterSpec("real_time_factor", DOUBLE, 1.0, Range(0.0, 1000.0), "Sim seconds per wall second; 0 = as fast as possible."),
    ParameterSpec("publish_clock", BOOL, True, None, "Publish /clock with the sim time (for nodes with use_sim_time)."),
    ParameterSpec("image_rate_hz", DOUBLE, 10.0, NON_NEGATIVE, "Rate of rgb8 renders on 'image' in sim time (at most one a physics step); 0 = none. Rendered only while subscribed."),
    ParameterSpec("auto_reset", BOOL, True, None, "Start the next episode (seed + 1) when one ends; else idle until 'reset' is called."),
    ParameterSpec("command_timeout", DOUBLE, 0.1, POSITIVE, "Sim seconds a command is held; older -> the model's safe input."),
    ParameterSpec("reset_hold", DOUBLE, 0.0, NON_NEGATIVE, "Sim seconds after a reset during which commands are dropped (they may predate it) and the safe input applies: an unstamped command computed before the reset would jump a position-servoed arm back."),
    ParameterSpec("safe_mode", STRING, "", None, "Safe input when the command is stale; empty = the model's default.", choices=("", *(mode.value for mode in SafeMode))),
    ParameterSpec("wait_for_subscribers", STRING, "", None, "Start episode 0 and sim time once the nodes named here (comma-separated, e.g. recorder,expert) subscribe to the state (state, joint_states or a pose topic); empty = at once."),
    ParameterSpec("state_format", STRING, "state_vector", None, "state_vector: StateVector on 'state'; joint_state: also sensor_msgs/JointState on 'joint_states' (ros2_control's joint_state_broadcaster), the model's joints, and the positions of joints the env measures outside the model with NaN in their other fields.", choices=STATE_FORMATS),
    ParameterSpec("command_format", STRING, "input_vector", None, "input_vector: hint_msgs/InputVector on 'command'; float64_multi_array: std_msgs/Float64MultiArray ordered by joint_names (forward command controller).", choices=COMMAND_FORMATS),
    ParameterSpec("command_interface", STRING, "effort", None, "float64_multi_array: the interface commanded; the env's inputs are named '<joint>/<interface>'.", choices=COMMAND_INTERFACES),
    ParameterSpec("joint_names", STRING_ARRAY, None, None, "float64_multi_array: joints in the command array's order; empty = the model's input order."),
    ParameterSpec("poses", STRING_ARRAY, None, None, "Poses published as geometry_msgs/PoseStamped on '<pose>_pose' from the states '<pose>/x' ... '<pose>/qw' (e.g. [object]: what a perception node publishes on a real cell)."),
)


class SimNode(Node):
    """Publishes a :class:`Simulation`'s state and events; steps it from a steady wall timer."""

    def __init__(self, **node_kwargs: Any) -> None:
        super().__init__("sim", **node_kwargs)
        from hint_msgs.msg import EpisodeEvent, InputVector, StateVector
        from hint_msgs.srv import ResetEpisode
        from rosgraph_msgs.msg import Clock as ClockMsg
        from sensor_msgs.msg import Image, JointState
        from std_msgs.msg import Float64, Float64MultiArray

        self._msg = {"EpisodeEvent": EpisodeEvent, "InputVector": InputVector, "StateVector": StateVector,
                     "Clock": ClockMsg, "Image": Image, "Float64": Float64}
        p = declare_checked(self, PARAMETERS)
        self.environment = p["environment"]
        with parameter_error("environment"):
            env = make_env(self.environment)
        self.sim = Simulation(env, command_timeout=float(p["command_timeout"]), safe_mode=p["safe_mode"] or None,
                              auto_reset=bool(p["auto_reset"]), reset_hold=float(p["reset_hold"]))
        self.real_time_factor = float(p["real_time_factor"])
        self.publish_clock = bool(p["publish_clock"])
        image_rate = float(p["image_rate_hz"])
        self.image_stride = max(1, round(1.0 / (image_rate * env.physics_period))) if image_rate > 0 else 0
        self.has_coverage = callable(getattr(env, "coverage", None))

        self.state_pub = self.create_publisher(StateVector, "state", SIM_STATE_QOS)
        self.applied_pub = self.create_publisher(InputVector, "applied_input", SIM_STATE_QOS)
        self.event_pub = self.create_publisher(EpisodeEvent, "episode_event", EVENT_QOS)
        self.image_pub = self.create_publisher(Image, "image", IMAGE_QOS) if self.image_stride else None
        self.coverage_pub = self.create_publisher(Float64, "coverage", SIM_STATE_QOS) if self.has_coverage else None
        self.clock_pub = self.create_publisher(ClockMsg, "/clock", CLOCK_QOS) if self.publish_clock else None
        self.joint_state_layout = JointStateLayout.of(env) if p["state_format"] == "joint_state" else None
        self.joint_state_pub = (self.create_publisher(JointState, "joint_states", SIM_STATE_QOS)
                                if self.joint_state_layout else None)
        self.pose_publishers = self._pose_publishers(env, tuple(p["poses"] or ()))
        if p["command_format"] == "float64_multi_array":
            joint_names = tuple(p["joint_names"] or ())
            try:
                self.command_layout = ForwardCommandLayout(env.model.input_names, joint_names, str(p["command_interface"]))
            except JointStateError as error:
                raise ValueError(f"command_format float64_multi_array: {error}") from error
            self.create_subscription(Float64MultiArray, "command", self._on_forward_command, COMMAND_QOS)
        else:
            self.create_subscription(InputVector, "command", self._on_command, COMMAND_QOS)
        self.create_service(ResetEpisode, "reset", self._on_reset)

        self.first_seed = int(p["seed"])
        self.wait_for_subscribers = {name.strip() for name in str(p["wait_for_subscribers"]).split(",") if name.strip()}
        self._subscribers_matched_since: float | None = None
        self._last_subscriber_check = 0.0
        if not self.wait_for_subscribers:
            self._publish_events(self.sim.reset(self.first_seed))
            self._publish_state()
        else:
            self.get_logger().info(f"episode 0 starts once {sorted(self.wait_for_subscribers)} subscribe to state")
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._wall_start = time.monotonic()
        self._steps_at_start = 0
        self._steps = 0
        self._behind_warned = False
        period = env.physics_period / self.real_time_factor if self.real_time_factor > 0 else 0.0
        self.timer = self.create_timer(period, self._on_timer, clock=steady)
        self.get_logger().info(
            f"simulating {self.environment} ({type(env).__name__}) at {1 / env.physics_period:g} Hz, "
            f"real_time_factor {self.real_time_factor:g}, seed {self.first_seed}, safe mode {self.sim.safe_mode.value}"
        )

    def _pose_publishers(self, env: Env, poses: tuple[str, ...]) -> list[tuple[list[int], Any]]:
        """(columns of the pose in the full state, its PoseStamped publisher) of each of `poses`."""
        from geometry_msgs.msg import PoseStamped

        publishers = []
        for pose in dict.fromkeys(poses):
            names = pose_state_names(pose)
            missing = [name for name in names if name not in env.state_names]
            if missing:
                raise ValueError(f"poses: environment {env.name!r} has no states {missing}")
            publishers.append((list(name_indices(env.state_names, names)),
                               self.create_publisher(PoseStamped, pose_topic(pose), SIM_STATE_QOS)))
        return publishers

    # ------------------------------------------------------------------ stepping
    def _on_timer(self) -> None:
        if self.wait_for_subscribers:
            if not self._subscribers_ready():
                return
            self.get_logger().info(f"{sorted(self.wait_for_subscribers)} subscribed: starting")
            self.wait_for_subscribers = set()
            self._publish_events(self.sim.reset(self.first_seed))
            self._publish_state()
            self._steps_at_start, self._wall_start = self._steps, time.monotonic()
        for _ in range(self._steps_due()):
            self._step()

    def _subscribers_ready(self) -> bool:
        """Whether every awaited node subscribes to the state (in any of its forms) and the state,
        applied_input and episode_event publishers have matched every compatible subscription listed
        for them, for SUBSCRIBER_SETTLE_S."""
        now = time.monotonic()
        if now - self._last_subscriber_check < SUBSCRIBER_CHECK_S:
            return False
        self._last_subscriber_check = now
        state_publishers = self._state_publishers()
        state_readers = {info.node_name for publisher in state_publishers
                         for info in self.get_subscriptions_info_by_topic(publisher.topic_name)}
        publishers = (*((publisher, SIM_STATE_QOS) for publisher in state_publishers),
                      (self.applied_pub, SIM_STATE_QOS), (self.event_pub, EVENT_QOS))
        if not (self.wait_for_subscribers <= state_readers and all(self._matched(*pq) for pq in publishers)):
            self._subscribers_matched_since = None
            return False
        if self._subscribers_matched_since is None:
            self._subscribers_matched_since = now
        return now - self._subscribers_matched_since >= SUBSCRIBER_SETTLE_S

    def _state_publishers(self) -> list:
        """The publishers of the state in each of its forms (StateVector, JointState, poses)."""
        extra = [self.joint_state_pub] if self.joint_state_pub is not None else []
        return [self.state_pub, *extra, *(publisher for _, publisher in self.pose_publishers)]

    def _matched(self, publisher, qos: QoSProfile) -> bool:
        """Whether `publisher` (offering `qos`) has matched every compatible subscription the graph lists."""
        subscriptions = self.get_subscriptions_info_by_topic(publisher.topic_name)
        compatible = sum(
            qos_check_compatible(qos, info.qos_profile)[0] != QoSCompatibility.ERROR for info in subscriptions
        )
        return publisher.get_subscription_count() >= compatible

    def _steps_due(self) -> int:
        if self.real_time_factor <= 0:
            return 1
        target = self._steps_at_start + int(
            (time.monotonic() - self._wall_start) * self.real_time_factor / self.sim.env.physics_period
        )
        due = target - self._steps
        if due > MAX_CATCH_UP_STEPS:
            if not self._behind_warned:
                self.get_logger().warning(
                    f"cannot keep real_time_factor {self.real_time_factor:g}: sim time falls behind "
                    "(lower real_time_factor or image_rate_hz)"
                )
                self._behind_warned = True
            self._wall_start, self._steps_at_start = time.monotonic(), self._steps + MAX_CATCH_UP_STEPS
            due = MAX_CATCH_UP_STEPS
        return max(0, due)

    def _step(self) -> None:
        self._steps += 1
        result = self.sim.step()
        if result is None:
            self._publish_clock()
            return
        InputVector = self._msg["InputVector"]
        applied = InputVector()
        applied.header.stamp = ns_to_stamp(result.start_ns)
        applied.names = list(self.sim.env.input_names)
        applied.values = result.applied_input.tolist()
        self.applied_pub.publish(applied)
        self._publish_clock()
        self._publish_state(result.state, result.time_ns, result.applied_input)
        if self.coverage_pub is not None:
            self.coverage_pub.publish(self._msg["Float64"](data=float(result.info.reward)))
        self._publish_events(result.events)
        if any(e.event == EVENT_START for e in result.events):
            self._publish_state()  # first state of the next episode (auto_reset)

    # ------------------------------------------------------------------ publishing
    def _publish_clock(self) -> None:
        if self.clock_pub is not None:
            msg = self._msg["Clock"]()
            msg.clock = ns_to_stamp(self.sim.time_ns)
            self.clock_pub.publish(msg)

    def _publish_state(
        self, state: np.ndarray | None = None, time_ns: int | None = None, applied_input: np.ndarray | None = None
    ) -> None:
        """Publish `state` (default: the current one) stamped `time_ns`, reached under `applied_input`
        (None: an episode's first state, nothing applied yet)."""
        state = self.sim.state if state is None else state
        time_ns = self.sim.time_ns if time_ns is None else time_ns
        self.state_pub.publish(self._state_msg(state, time_ns))
        if self.joint_state_pub is not None:
            applied = np.zeros(len(self.sim.env.input_names)) if applied_input is None else applied_input
            joint_state = self.joint_state_layout.message(state, applied)
            joint_state.header.stamp = ns_to_stamp(time_ns)
            self.joint_state_pub.publish(joint_state)
        for columns, publisher in self.pose_publishers:
            publisher.publish(vector_to_pose(np.asarray(state, float)[columns], stamp_ns=time_ns))
        if self.image_pub is not None and (time_ns // self.sim.period_ns) % self.image_stride == 0:
            self._publish_image(time_ns)

    def _state_msg(self, state: np.ndarray, time_ns: int):
        msg = self._msg["StateVector"]()
        msg.header.stamp = ns_to_stamp(time_ns)
        msg.names = list(self.sim.env.state_names)
        msg.values = np.asarray(state, dtype=float).tolist()
        return msg

    def _publish_image(self, time_ns: int) -> None:
        if self.image_pub.get_subscription_count() == 0:
            return
        frame = np.ascontiguousarray(self.sim.env.render(), dtype=np.uint8)
        msg = self._msg["Image"]()
        msg.header.stamp = ns_to_stamp(time_ns)
        msg.height, msg.width = int(frame.shape[0]), int(frame.shape[1])
        msg.encoding = "rgb8"
        msg.step = 3 * msg.width
        msg.data = frame.tobytes()
        self.image_pub.publish(msg)

    def _publish_events(self, events: Sequence[SimEvent]) -> None:
        for event in events:
            msg = self._msg["EpisodeEvent"]()
            msg.header.stamp = ns_to_stamp(event.time_ns)
            msg.event = event.event
            msg.environment = self.sim.env.name
            msg.seed = event.seed
            msg.episode_index = event.episode_index
            msg.score = float(event.score)
            msg.detail = event.detail
            self.event_pub.publish(msg)
            self.get_logger().info(
                f"episode {event.episode_index} (seed {event.seed}): "
                f"{['START', 'SUCCESS', 'COLLISION', 'TIMEOUT', 'STOP'][event.event]} at t={event.time_ns / NS:.2f} s"
                + (f", score {event.score:.3f}" if event.event != EVENT_START else "")
            )

    def publish_stop(self) -> None:
        """End the running episode with STOP (called at shutdown)."""
        self._publish_events(self.sim.stop("simulator shut down"))

    # ------------------------------------------------------------------ inputs
    def _on_command(self, msg) -> None:
        self._hold_command(msg.names, msg.values)

    def _on_forward_command(self, msg) -> None:
        try:
            values = self.command_layout.from_array(msg.data)
        except JointStateError as error:
            self.get_logger().warning(f"command rejected: {error}", throttle_duration_sec=1.0)
            return
        self._hold_command(self.command_layout.input_names, values)

    def _hold_command(self, names: Sequence[str], values: Sequence[float]) -> None:
        problem = self.sim.set_command(names, values)
        if problem:
            self.get_logger().warning(f"command rejected: {problem}", throttle_duration_sec=1.0)

    def _on_reset(self, request, response):
        seed = int(request.seed) if request.seed >= 0 else self.sim.seed + 1
        try:
            events = self.sim.reset(seed)
        except Exception as error:  # an env that cannot start this seed must not kill the node
            response.success, response.message, response.seed = False, f"reset failed: {error}", seed
            self.get_logger().error(response.message)
            return response
        self._publish_events(events)
        self._publish_state()
        self._steps_at_start, self._wall_start = self._steps, time.monotonic()
        self.wait_for_subscribers = set()  # an explicit reset starts the simulation
        response.success, response.seed = True, seed
        response.initial_state = self._state_msg(self.sim.state, self.sim.time_ns)
        return response


def _publish_final_stop(node: SimNode) -> None:
    """End the running episode with STOP and give the subscribers time to take it."""
    node.publish_stop()
    node.event_pub.wait_for_all_acked(rclpy.duration.Duration(seconds=0.5))


def main(args: Sequence[str] | None = None) -> None:
    # run_node's signal handling keeps the context alive after SIGINT / SIGTERM, so the final
    # STOP can still be published, and raises nothing inside rclpy (such as take_message)
    run_node(SimNode, args, name="sim", before_shutdown=_publish_final_stop)


if __name__ == "__main__":
    main(sys.argv)
