"""The policy node: observation history in, composite actions out at chunk rate.

Subscribes
  ``state``          hint_msgs/StateVector, the full observed state (matched by name), or
                     sensor_msgs/JointState (``state_source: joint_state``, matched by joint name)
  ``<pose>_pose``    geometry_msgs/PoseStamped of each pose named in ``poses`` (state_source joint_state):
                     e.g. ``object_pose`` from a perception node, the states ``object/x`` ... ``object/qw``
  ``command``        hint_msgs/InputVector, the inputs the controller applies (observation inputs), or
                     std_msgs/Float64MultiArray of a ros2_control forward command controller
                     (``command_format: float64_multi_array``, ordered by ``joint_names``)
  ``episode_event``  hint_msgs/EpisodeEvent; START clears the history
Publishes
  ``composite_action``  hint_msgs/CompositeAction

Every knot period (on the ROS clock, so ``use_sim_time`` works) the newest state and the newest
applied input are appended to the observation history. Once the history is non-empty and the
current chunk has executed ``exec_knots`` knots, the history is handed to a worker thread that
adds the observation noise, samples and publishes the next chunk, stamped with the knot time of
the observation it was conditioned on: knot 0 of a chunk describes the moment of its observation,
as in training. A chunk whose newest state predates an episode START that
arrived while it was sampled is dropped. The controller switches to a chunk when it arrives and enters it at the knot
matching the elapsed time, while the previous chunk still has ``chunk_length - exec_knots``
knots of reference left: sampling happens while the current chunk executes, so the controller
does not run out of reference as long as sampling takes less than that.

With ``certify`` (default on) each chunk carries its incremental-stability certificate
(:func:`hint_controller.stability.certified`: contraction, transient and input gain of its
linearized closed loop from its own x_ref[0]), computed on the training config's dynamics model
(``data.dynamics``) before it is published (17 ms for a PushT chunk, 27 ms for a quadrotor chunk
on this project's CPU); a controller with ``max_contraction`` set rejects chunks without one.
Turn it off when that model is not the robot's.

``handover: inpaint`` samples each chunk inpainted from the one published before it
(:mod:`hint_policy.inference`, real-time chunking): its first ``inpaint_frozen`` knots are held to
the previous chunk, so the controller's input does not jump when the new chunk takes over; the
default ``none`` is the time-indexed take-over alone (docs/results.md, Hand-over between chunks).
"""

from __future__ import annotations

import functools
import math
import time

import numpy as np
import torch
from geometry_msgs.msg import PoseStamped
from hint_msgs.conversions import MessageValidationError, stamp_to_seconds, vector_from_msg
from hint_msgs.msg import CompositeAction as CompositeActionMsg
from hint_msgs.msg import EpisodeEvent, InputVector, StateVector
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from hint_controller.action_messages import action_to_msg
from hint_controller.chunk_schedule import ChunkSchedule
from hint_controller.joint_state import ForwardCommandLayout, JointStateError
from hint_controller.names import name_indices
from hint_controller.node_main import BackgroundJob, ros2_control_parameters, run_node
from hint_controller.parameter_schema import (
    AT_LEAST_ONE, BOOL, DOUBLE, INTEGER, NON_NEGATIVE, STRING, STRING_ARRAY, ParameterSpec, Range, declare_checked,
    parameter_error
)
from hint_controller.pose import JointStateAndPoses, PoseError, pose_topic
from hint_controller.qos import CHUNK_QOS, EVENT_QOS, STREAM_QOS
from hint_controller.stability import certified
from hint_policy.checkpoint import CheckpointError
from hint_policy.training_data.synthesis import data_model
from hint_policy.inference import DEFAULT_CANDIDATES, HANDOVERS, SETTING_PARAMETERS, HintPolicy, policy_settings

#: the node's parameters: its own, then the ros2_control ones it shares with the controller
PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("checkpoint", STRING, None, None, "Path of the trained policy checkpoint (.pt).", non_empty=True),
    ParameterSpec("sigma", DOUBLE, -1.0, Range(0.0, also=(-1.0,)), "Observation noise std in normalized units added before sampling; -1 = the checkpoint's training sigma (HINT's replica policy), 0 = none (plain diffusion policy when the checkpoint was also trained without)."),
    ParameterSpec("sampler", STRING, "ddim", None, "Denoising sampler: ddim, or ddpm (all the training steps).", choices=("ddim", "ddpm")),
    ParameterSpec("sampler_steps", INTEGER, 10, AT_LEAST_ONE, "Denoising steps of the DDIM sampler, at most the checkpoint's training steps (DDPM uses the training steps)."),
    ParameterSpec("candidates", INTEGER, DEFAULT_CANDIDATES, AT_LEAST_ONE, "Chunks sampled per observation; the policy executes their medoid (the one nearest the others), 1 = the chunk as drawn."),
    ParameterSpec("device", STRING, "cpu", None, "torch device: cpu, cuda, cuda:1 ... (an accelerator torch can use on this machine).", non_empty=True),
    ParameterSpec("exec_knots", INTEGER, 0, NON_NEGATIVE, "Knots of each chunk executed before the next chunk is due, at most the checkpoint's chunk length; 0 = half the chunk."),
    ParameterSpec("seed", INTEGER, -1, Range(-1.0), "Seed of the observation noise and sampler; -1 = random."),
    ParameterSpec("torch_threads", INTEGER, 1, AT_LEAST_ONE, "torch intra-op threads for sampling on the CPU."),
    ParameterSpec("handover", STRING, "none", None, "none (time-indexed take-over) or inpaint (real-time chunking from the previous chunk).", choices=HANDOVERS),
    ParameterSpec("inpaint_frozen", INTEGER, 1, NON_NEGATIVE, "handover inpaint: knots of a new chunk held to the previous one."),
    ParameterSpec("inpaint_horizon", INTEGER, 1, NON_NEGATIVE, "handover inpaint: knots guided toward the previous chunk at most; 0 = its whole overlap."),
    ParameterSpec("certify", BOOL, True, None, "Attach each chunk's stability certificate, computed on the training config's data.dynamics model, before publishing; turn off when that model is not the robot's."),
    ParameterSpec("poses", STRING_ARRAY, None, None, "state_source joint_state: poses the policy observes besides the joints, each a geometry_msgs/PoseStamped on '<pose>_pose' filling the states '<pose>/x' ... '<pose>/qw' (e.g. [object] from a perception node)."),
    *ros2_control_parameters("policy"),
)


def torch_device(name: str) -> torch.device:
    """The torch device `name` names; ValueError (one line naming the parameter device) when torch
    cannot parse it or this machine's torch lacks its accelerator."""
    with parameter_error("device", RuntimeError):
        device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {name!r} needs CUDA, which torch does not find on this machine")
    return device


class PolicyNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("hint_policy", **kwargs)
        declare_checked(self, PARAMETERS)
        p = lambda name: self.get_parameter(name).value  # noqa: E731
        device = torch_device(p("device"))
        # small denoisers run far faster on one thread when other processes share the cores
        torch.set_num_threads(p("torch_threads"))
        try:
            self.policy = HintPolicy.from_checkpoint(
                p("checkpoint"), **policy_settings({name: p(name) for name in SETTING_PARAMETERS}),
                device=device, seed=p("seed") if p("seed") >= 0 else None,
                handover=p("handover"), inpaint_frozen=p("inpaint_frozen"), inpaint_horizon=p("inpaint_horizon"),
            )
        except CheckpointError:
            raise
        except ValueError as error:  # what the checkpoint bounds (its DDIM steps), or its contents
            raise ValueError(f"{p('checkpoint')} with sampler {p('sampler')}, sampler_steps {p('sampler_steps')}: "
                             f"{error}") from None
        self._model = (data_model(self.policy.config.data, self.policy.layout.physics_period)
                       if p("certify") else None)
        chunk_length = self.policy.chunk_length
        if p("exec_knots") > chunk_length:
            raise ValueError(f"exec_knots must be 0 (half the chunk) or an integer in [1, {chunk_length}] "
                             f"(the checkpoint's chunk length), got {p('exec_knots')}")
        self.exec_knots = p("exec_knots") or max(1, chunk_length // 2)
        self._latest_state: np.ndarray | None = None
        self._latest_state_stamp = 0.0  # its header stamp [s]; 0 = unstamped
        self._episode_start = -math.inf  # ROS time of the latest episode START [s]
        self._latest_input = np.zeros(len(self.policy.input_names))
        self._schedule = ChunkSchedule.every(self.exec_knots, self.policy.knot_period, self.policy.knot_period)
        self._sampler = BackgroundJob("hint_policy_sampler")
        self.sample_latencies: list[float] = []

        self._observation: JointStateAndPoses | None = None  # state_source joint_state
        self._make_observation_inputs(p("state_source"), p("command_format"))
        self.create_subscription(EpisodeEvent, "episode_event", self._on_event, EVENT_QOS)
        self._publisher = self.create_publisher(CompositeActionMsg, "composite_action", CHUNK_QOS)
        self.create_timer(self.policy.knot_period, self._on_knot)
        self.get_logger().info(f"{self.policy}; replanning every {self.exec_knots} knots")

    def _make_observation_inputs(self, state_source: str, command_format: str) -> None:
        """Subscribe the observed state and applied command in the configured message types."""
        poses = tuple(self.get_parameter_or("poses").value or ())
        if state_source == "state_vector":
            if poses:
                raise ValueError(f"poses {list(poses)} need state_source joint_state (a StateVector carries them)")
            self.create_subscription(StateVector, "state", self._on_state, STREAM_QOS)
        else:  # joint_state
            observed = self.policy.layout.observed_state_names
            self._observation = JointStateAndPoses(observed, poses)
            # the policy reads only the observed states out of a full state vector
            self._observed_columns = name_indices(self.policy.obs_state_names, observed)
            self.create_subscription(JointState, "state", self._on_joint_state, STREAM_QOS)
            for pose in poses:
                self.create_subscription(PoseStamped, pose_topic(pose), functools.partial(self._on_pose, pose),
                                         STREAM_QOS)
        if command_format == "input_vector":
            self.create_subscription(InputVector, "command", self._on_command, STREAM_QOS)
        else:  # float64_multi_array
            self._forward_command = ForwardCommandLayout(
                self.policy.input_names, tuple(self.get_parameter_or("joint_names").value or ()),
                self.get_parameter("command_interface").value,
            )
            self.create_subscription(Float64MultiArray, "command", self._on_forward_command, STREAM_QOS)

    # -- inputs -----------------------------------------------------------------------------
    def _predates_episode(self, stamp: float) -> bool:
        """A state stamped `stamp` [s] before the latest episode START (still in flight at a reset,
        or a chunk's newest state): planning on it would send the teleported robot a chunk for its
        old pose. Unstamped states (0) never count as old."""
        return 0.0 < stamp < self._episode_start

    def _on_state(self, msg: StateVector) -> None:
        stamp = stamp_to_seconds(msg.header.stamp)
        if self._predates_episode(stamp):
            return
        try:
            self._latest_state = vector_from_msg(msg, self.policy.obs_state_names)
            self._latest_state_stamp = stamp
        except MessageValidationError as error:
            self.get_logger().error(
                f"state does not match the model (needs {list(self.policy.obs_state_names)}): {error}",
                throttle_duration_sec=2.0,
            )

    def _on_joint_state(self, msg: JointState) -> None:
        stamp = stamp_to_seconds(msg.header.stamp)
        if self._predates_episode(stamp):
            return
        try:
            self._observation.set_joint_state(msg, stamp)
        except JointStateError as error:
            self.get_logger().error(
                f"joint_state does not match the policy (needs {list(self._observation.joint_state_names)}): {error}",
                throttle_duration_sec=2.0,
            )
            return
        self._take_observation()

    def _on_pose(self, pose: str, msg: PoseStamped) -> None:
        stamp = stamp_to_seconds(msg.header.stamp)
        if self._predates_episode(stamp):
            return
        try:
            self._observation.set_pose(pose, msg, stamp)
        except PoseError as error:
            self.get_logger().error(f"{pose_topic(pose)} rejected: {error}", throttle_duration_sec=2.0)
            return
        self._take_observation()

    def _take_observation(self) -> None:
        """The latest state once the JointState and every pose have arrived in this episode."""
        observed = self._observation.observation()
        if observed is not None:
            values, self._latest_state_stamp = observed
            state = np.zeros(len(self.policy.obs_state_names))
            state[self._observed_columns] = values
            self._latest_state = state

    def _on_forward_command(self, msg: Float64MultiArray) -> None:
        try:
            self._latest_input = self._forward_command.from_array(msg.data)
        except JointStateError as error:
            self.get_logger().error(f"command does not match the policy: {error}", throttle_duration_sec=2.0)

    def _on_command(self, msg: InputVector) -> None:
        try:
            self._latest_input = vector_from_msg(msg, self.policy.input_names)
        except MessageValidationError as error:
            self.get_logger().error(f"command does not match the model: {error}", throttle_duration_sec=2.0)

    def _on_event(self, msg: EpisodeEvent) -> None:
        if msg.event == EpisodeEvent.EVENT_START:
            self._episode_start = stamp_to_seconds(msg.header.stamp)
            self.policy.begin_episodes(1)  # empty history, no previous chunk; sequence numbers carry on
            self._latest_state = None
            if self._observation is not None:
                self._observation.clear()
            self._latest_input = np.zeros(len(self.policy.input_names))
            self._schedule.reset()

    # -- planning ---------------------------------------------------------------------------
    def _on_knot(self) -> None:
        if self._latest_state is None:
            return
        now_ns = self.get_clock().now().nanoseconds
        now = now_ns * 1e-9
        self.policy.observe(self._latest_state, self._latest_input)
        if self._schedule.due(now_ns) and self._sampler.reserve():
            history = self.policy.history()  # the snapshot this knot's chunk is conditioned on
            self._schedule.mark(now_ns)
            self._sampler.start(self._plan, history, now, self._latest_state_stamp)

    def _plan(self, history: tuple[np.ndarray, np.ndarray], observed_at: float, state_stamp: float) -> None:
        try:
            start = time.perf_counter()
            action = self.policy.select_action(observed_at, history=history)
            self.sample_latencies.append(time.perf_counter() - start)
            if self._predates_episode(state_stamp):  # a START arrived while sampling: not this episode's
                self.get_logger().info("dropped a chunk planned from the previous episode's state")
                return
            if self._model is not None:
                action = certified(self._model, action)
            self._publisher.publish(action_to_msg(action))
        except Exception as error:  # noqa: BLE001 - a failed sample must not kill the node
            self.get_logger().error(f"sampling a composite action failed: {error}")

    def destroy_node(self) -> None:
        """Wait for a running sample (it may still publish: the context is alive) before the node goes."""
        self._sampler.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run_node(PolicyNode, args, name="hint_policy")


if __name__ == "__main__":
    main()
