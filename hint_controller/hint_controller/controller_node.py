"""The high-rate controller node: applies composite actions to the measured state.

Subscribes
  ``state``             hint_msgs/StateVector (``state_source: state_vector``) or
                        sensor_msgs/JointState (``state_source: joint_state``, matched by joint name)
  ``composite_action``  hint_msgs/CompositeAction from the policy node
  ``episode_event``     hint_msgs/EpisodeEvent; at a START the chunks that began before it (the
                        previous episode's, planned for a state the reset teleported away from)
                        are dropped and the safe command applies until the new episode's chunk
Publishes
  ``command``           hint_msgs/InputVector (``command_format: input_vector``) or
                        std_msgs/Float64MultiArray for a ros2_control forward command controller
                        (``command_format: float64_multi_array``, ordered by ``joint_names``)
  ``controller_status`` hint_msgs/ControllerStatus at ``status_rate_hz``

Commands are computed by :class:`hint_controller.executor.ChunkExecutor` in a command loop paced
by absolute deadlines on the monotonic clock (rclpy timers jitter by a millisecond and more under
load; a deadline loop holds 1 kHz). With ``command_loop: thread`` (default) the loop is a thread
of this process, sharing its interpreter lock with the callbacks. With ``command_loop: process``
(opt-in) the loop runs in a process of its own that publishes the commands itself
(:mod:`hint_controller.command_loop`): this node deserializes and validates messages and hands
the latest state and the validated chunks over through shared memory, so no callback, log line,
status message or garbage collection here can delay a command. With ``realtime_priority`` > 0 the loop asks for the
SCHED_FIFO real-time scheduler, as ros2_control's controller manager does for its loop; where
the system refuses, a warning names the fix and the loop runs on the default scheduler.

Safety: a composite action that is malformed (dimensions, names, non-finite values, oversize) or
outside the limits of :mod:`hint_controller.chunk_validation` (knot period, duration, stamp too far
ahead or too old, values outside the model's widened bounds, gain norm), or that starts before the
active chunk (``older_than_active``: planned from an older observation, see
:mod:`hint_controller.executor`), is rejected with one log line (at most one a second, so a flood
does not flood the log), counted by reason in the status, and the last valid chunk keeps
executing. The chunk subscription is raw: the scalar limits are checked on fields read from the
serialized message, before it is deserialized and its arrays converted, so junk costs the
subscriber little. Every command is checked finite and within the model's limits before it is
published. State older than ``state_timeout`` switches to the model's safe command, and after
such a gap tracking resumes only once ``resume_after_states`` consecutive states have arrived,
each within ``state_timeout`` of the previous one (a single late state does not reopen tracking;
the status says SAFE, "state stream resuming after a gap: k of N ..."). An exception in the
command loop's work switches the node to FAULT (latched until restart): it is logged once,
reported in the status, and the safe command keeps being published at the command rate. So does
the death of the loop process (or its stall for LOOP_STALL_S): the node then publishes the safe
command itself, from a thread.

Parameters: :data:`hint_controller.controller_parameters.CONTROLLER_PARAMETERS` (name, type,
default, allowed range, description; read at start-up, read-only), plus the ros2_control ones of
:func:`hint_controller.node_main.declare_ros2_control_parameters`. A value of the wrong type or
outside its range stops the node at start-up with one line naming the parameter and its range.
"""

from __future__ import annotations

import collections
import math
import threading
import time

import numpy as np
import rclpy
from hint_msgs.conversions import (
    MessageValidationError,
    composite_action_header,
    stamp_to_seconds,
    vector_from_msg,
    vector_to_msg,
)
from hint_msgs.msg import CompositeAction as CompositeActionMsg
from hint_msgs.msg import ControllerStatus, EpisodeEvent, InputVector, StateVector
from rclpy.node import Node
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from hint_controller.action_messages import action_from_msg, rejection_reason
from hint_controller.chunk_validation import REJECTION_REASONS, ChunkLimits
from hint_controller.command_loop import (
    CommandTicker,
    Deadlines,
    LoopProcess,
    ScheduleWriter,
    TICK_RING,
    SharedControl,
    StateSample,
    next_state_sample,
    period_summary,
    request_realtime_priority,
)
from hint_controller.controller_parameters import CONTROLLER_PARAMETERS, declare_checked
from hint_controller.dynamics import make_model
from hint_controller.dynamics.base import DynamicsModel
from hint_controller.executor import ChunkExecutor, ExecutorMode
from hint_controller.joint_state import ForwardCommandLayout, JointStateError, joint_state_to_vector
from hint_controller.fastdds_profile import use_node_profile
from hint_controller.node_main import declare_ros2_control_parameters, run_node
from hint_controller.qos import CHUNK_QOS, EVENT_QOS, STATUS_QOS, STREAM_QOS

#: rejections are logged at most once per this many seconds [s]
REJECTION_LOG_PERIOD = 1.0
#: most composite actions handled per executor wake-up (the status timer runs in between)
CHUNK_DRAIN = 500
#: the loop process is declared dead when it has not ticked for this long [s]
LOOP_STALL_S = 1.0
#: period of the node's check that the loop process lives [s]
LOOP_WATCH_PERIOD = 0.02


#: the arm model behind each ros2_control command interface (model parameter left empty)
INTERFACE_MODELS = {"effort": "manipulator", "position": "position_servo", "velocity": "velocity_servo"}


class ControllerNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("hint_controller", **kwargs)
        self._loop_thread: threading.Thread | None = None
        self._loop_process: LoopProcess | None = None
        self._shared: SharedControl | None = None
        try:
            self._configure()
        except BaseException:
            self.destroy_node()  # a bad parameter: leave no half-built node behind
            raise

    def _configure(self) -> None:
        self._declare_parameters()
        p = self._param
        model = p("model") or INTERFACE_MODELS.get(p("command_interface"), "")
        self.model: DynamicsModel = make_model(model, period=p("model_period"), urdf_path=p("urdf_path") or None,
                                               **self._arm_model_options())
        self.rate_hz = float(p("rate_hz"))
        self.state_timeout = float(p("state_timeout"))
        self.resume_after_states = int(p("resume_after_states"))
        self.limits = ChunkLimits(
            min_knot_period=float(p("min_knot_period")) or None, max_knot_period=float(p("max_knot_period")),
            max_duration=float(p("max_chunk_duration")), max_future=float(p("max_future")),
            max_age=float(p("max_chunk_age")), max_knots=int(p("max_knots")),
            max_gain_norm=float(p("max_gain_norm")), bound_margin=float(p("bound_margin")),
            max_contraction=float(p("max_contraction")),
        )
        self.realtime_priority = int(p("realtime_priority"))
        self.command_loop = p("command_loop")
        safe_mode = p("safe_mode") or None
        self.executor_core = ChunkExecutor(
            self.model, grace_period=float(p("grace_period")), safe_mode=safe_mode, limits=self.limits,
            max_pending=int(p("max_pending_chunks")),
        )
        self._safe_mode = self.executor_core.safe_mode
        self._lock = threading.Lock()
        self._ticker = CommandTicker(self.executor_core, self.state_timeout, self.resume_after_states, self._lock)
        self._state: StateSample | None = None
        self._counters = {"commands": 0, "accepted": 0, "rejected": 0}
        self._rejections: collections.Counter[str] = collections.Counter()
        self._last_rejection = ""
        self._rejection_log = [-math.inf, 0]  # monotonic time of the last rejection line, rejections since
        self._fault: str | None = None  # why the command loop failed (latched)
        self._last_status = None
        self._loop_commands = 0  # commands the loop process reported
        self._tick_times = np.zeros(TICK_RING, dtype=np.int64)  # the in-process loop's publish times [ns]
        self._rate_window = (time.monotonic(), 0)
        self._measured_rate = 0.0

        self._make_io()
        self.create_timer(1.0 / float(p("status_rate_hz")), self._publish_status)
        self._running = True
        if self.command_loop == "process":
            self._start_loop_process(model)
            self.create_timer(LOOP_WATCH_PERIOD, self._watch_loop_process)
        else:
            self._start_loop_thread()
        self.get_logger().info(
            f"controlling {self.model.name} ({self.model.state_dim} states, {self.model.input_dim} inputs) "
            f"at {self.rate_hz:g} Hz, safe mode {self._safe_mode.value}, command loop in a {self.command_loop}"
        )

    def _start_loop_thread(self) -> None:
        self._loop_thread = threading.Thread(target=self._control_loop, name="hint_control_loop", daemon=True)
        self._loop_thread.start()

    def _start_loop_process(self, model: str) -> None:
        """Start the loop process on shared memory sized for max_knots and max_pending_chunks."""
        p = self._param
        self._shared = SharedControl.create(self.model.state_dim, self.model.input_dim, self.limits.max_knots,
                                            self.executor_core.max_pending)
        self._schedule_writer = ScheduleWriter(self._shared)
        self._loop_process = LoopProcess(self._shared, {
            "shared": self._shared.config(), "model": model, "model_period": float(p("model_period")),
            "urdf_path": p("urdf_path") or None, "model_options": self._arm_model_options(),
            "grace_period": self.executor_core.grace_period, "safe_mode": self._safe_mode.value,
            "max_pending": self.executor_core.max_pending, "state_timeout": self.state_timeout,
            "resume_after_states": self.resume_after_states, "rate_hz": self.rate_hz,
            "realtime_priority": self.realtime_priority, "command_format": p("command_format"),
            "joint_names": list(self.get_parameter_or("joint_names").value or ()),
            "command_interface": p("command_interface"), "topic": self._command_publisher.topic_name,
            "node_name": self.get_name(), "namespace": self.get_namespace(),
            "use_sim_time": bool(self.get_parameter("use_sim_time").value),
        })

    # -- parameters -----------------------------------------------------------------------
    def _declare_parameters(self) -> None:
        """Declare the table's parameters, each checked against its range (ValueError: one line)."""
        declare_checked(self, CONTROLLER_PARAMETERS)
        declare_ros2_control_parameters(self, "model")

    def _param(self, name: str):
        return self.get_parameter(name).value

    def _arm_model_options(self) -> dict:
        """make_model's options from model_joints and the servo_* parameters (unset ones left out)."""
        options = {}
        for parameter, option in (("model_joints", "joints"), ("servo_natural_frequency", "natural_frequency"),
                                  ("servo_damping", "damping"), ("servo_time_constant", "time_constant")):
            value = self.get_parameter_or(parameter).value
            if value:
                options[option] = list(value)
        return options

    def _forward_command_layout(self) -> ForwardCommandLayout:
        """Which model input each entry of the forward command controller's array carries."""
        return ForwardCommandLayout(
            self.model.input_names, tuple(self.get_parameter_or("joint_names").value or ()),
            self._param("command_interface"),
        )

    # -- topics -----------------------------------------------------------------------------
    def _make_io(self) -> None:
        # state_source and command_format are checked against their choices at declaration
        if self._param("state_source") == "joint_state":
            self.create_subscription(JointState, "state", self._on_joint_state, STREAM_QOS)
        else:
            self.create_subscription(StateVector, "state", self._on_state_vector, STREAM_QOS)
        self._chunk_subscription = self.create_subscription(
            CompositeActionMsg, "composite_action", self._on_composite_action, CHUNK_QOS, raw=True,
        )
        self.create_subscription(EpisodeEvent, "episode_event", self._on_episode_event, EVENT_QOS)
        command_format = self._param("command_format")
        if command_format == "input_vector":
            self._command_publisher = self.create_publisher(InputVector, "command", STREAM_QOS)
            self._make_command = self._input_vector
        else:
            self._command_publisher = self.create_publisher(Float64MultiArray, "command", STREAM_QOS)
            self._make_command = self._float64_multi_array
            self._forward_command = self._forward_command_layout()
        self._status_publisher = self.create_publisher(ControllerStatus, "controller_status", STATUS_QOS)

    def _on_state_vector(self, msg: StateVector) -> None:
        try:
            values = vector_from_msg(msg, self.model.state_names)
        except MessageValidationError as error:
            self.get_logger().warning(f"state rejected: {error}", throttle_duration_sec=1.0)
            return
        self._store_state(values, stamp_to_seconds(msg.header.stamp))

    def _on_joint_state(self, msg: JointState) -> None:
        try:
            values = joint_state_to_vector(msg, self.model.state_names)
        except JointStateError as error:
            self.get_logger().warning(f"joint_state rejected: {error}", throttle_duration_sec=1.0)
            return
        self._store_state(values, stamp_to_seconds(msg.header.stamp))

    def _store_state(self, values: np.ndarray, stamp: float) -> None:
        """Make `values` the latest state (one immutable sample, handed to the command loop)."""
        self._state = next_state_sample(self._state, values, time.monotonic(), stamp, self.state_timeout,
                                        self.resume_after_states)
        if self._shared is not None:
            self._shared.write_state(self._state)

    def _on_episode_event(self, msg: EpisodeEvent) -> None:
        if msg.event != EpisodeEvent.EVENT_START:
            return
        start = stamp_to_seconds(msg.header.stamp)
        with self._lock:
            self.executor_core.reset(before=start)
        self._hand_over_schedule()
        self.get_logger().info(f"episode {msg.episode_index} (seed {msg.seed}) started at {start:.3f} s: "
                               "earlier chunks dropped")

    def _on_composite_action(self, serialized: bytes) -> None:
        """Handle `serialized` (the subscription is raw), then take and handle what else the
        reader holds (up to CHUNK_DRAIN): a burst costs one executor wake-up, whose own overhead
        is several times a pre-check's, so a flood of junk is consumed faster than it arrives
        instead of pushing valid chunks out of the reader's history."""
        self._handle_chunk(serialized)
        handle = self._chunk_subscription.handle
        for _ in range(CHUNK_DRAIN):
            with handle:
                taken = handle.take_message(CompositeActionMsg, True)
            if taken is None:
                return
            self._handle_chunk(taken[0])

    def _handle_chunk(self, serialized: bytes) -> None:
        """Pre-check the scalar fields read from the serialized message; only a chunk that
        passes is deserialized, converted and checked in full."""
        now = self._now()
        label = "chunk ?"
        try:
            header = composite_action_header(serialized)
            label = f"chunk {header.sequence}"
            self.executor_core.validator.check_header(
                sequence=header.sequence, knot_period=header.knot_period, length=header.length,
                start_time=header.start_time, now=now,
            )
            # names are matched (in any order) against the model by the executor
            action = action_from_msg(self._deserialize_chunk(serialized), max_length=self.limits.max_knots)
            with self._lock:
                if self._loop_process is not None:
                    self.executor_core.advance(now)  # as the loop process has (it executes this schedule)
                self.executor_core.submit(action, now=now)
            self._hand_over_schedule()
        except ValueError as error:  # MessageValidationError and ChunkRejected are ValueErrors
            reason = rejection_reason(error)
            self._rejections[reason] += 1
            self._counters["rejected"] += 1
            self._last_rejection = str(error) if str(error).startswith(label) else f"{label}: {error}"
            # previous_episode is expected at a reset while a sample was in flight: counted, logged as info
            self._log_rejection(f"composite action rejected ({reason}), keeping the last valid one: {self._last_rejection}",
                                error=reason != "previous_episode")
            return
        self._counters["accepted"] += 1

    @staticmethod
    def _deserialize_chunk(serialized: bytes) -> CompositeActionMsg:
        try:
            return deserialize_message(serialized, CompositeActionMsg)
        except RuntimeError as error:  # rclpy's RMWError: not a well-formed CompositeAction
            raise MessageValidationError(f"malformed CompositeAction ({len(serialized)} bytes): {error}") from None

    def _log_rejection(self, line: str, error: bool = True) -> None:
        """At most one line per REJECTION_LOG_PERIOD, saying how many went unlogged (rclpy's own
        throttle inspects the caller's frame on every call: ~1 ms, too slow for a flood)."""
        now = time.monotonic()
        if now - self._rejection_log[0] < REJECTION_LOG_PERIOD:
            self._rejection_log[1] += 1
            return
        unlogged = self._rejection_log[1]
        self._rejection_log[:] = [now, 0]
        log = self.get_logger().error if error else self.get_logger().info
        log(line + (f" ({unlogged} more rejected since the last line)" if unlogged else ""))

    # -- loop process -----------------------------------------------------------------------
    def _hand_over_schedule(self) -> None:
        """Give the executor's schedule to the loop process (nothing with the loop in a thread)."""
        if self._loop_process is None or self._fault is not None:
            return
        if not self._schedule_writer.publish(self.executor_core):
            self._loop_process_failed("command loop process takes no chunks (acknowledges no schedule)")

    def _watch_loop_process(self) -> None:
        """FAULT when the loop process has exited or stopped ticking."""
        if self._loop_process is None or self._fault is not None or not self._running:
            return
        code = self._loop_process.exit_code()
        if code is not None:
            self._loop_process_failed(f"command loop process exited with status {code}")
            return
        reading = self._shared.read_status()
        if self._shared.control[1] and reading is not None and 0.0 < reading[2] < time.monotonic() - LOOP_STALL_S:
            self._loop_process.kill()
            self._loop_process_failed(f"command loop process stopped ticking for {LOOP_STALL_S:g} s and was killed")

    def _loop_process_failed(self, reason: str) -> None:
        """Latch FAULT and publish the safe command from a thread of this node."""
        self._latch_fault(reason)
        self._start_loop_thread()

    # -- control loop -----------------------------------------------------------------------
    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _control_loop(self) -> None:
        if self.realtime_priority:
            refusal = request_realtime_priority(self.realtime_priority)
            if refusal:
                self.get_logger().warning(refusal)
            else:
                self.get_logger().info(f"command thread runs SCHED_FIFO at priority {self.realtime_priority}")
        deadlines = Deadlines(self.rate_hz)
        while self._running and rclpy.ok(context=self.context):
            try:
                if self._fault is None:
                    self._tick()
                else:
                    self._tick_fault()
            except Exception as error:  # noqa: BLE001 - the loop must not die: FAULT, safe command
                if not (self._running and rclpy.ok(context=self.context)):
                    break  # shutting down: the context went while publishing
                self._enter_fault(error)
            deadlines.wait()

    def _tick(self) -> None:
        now = self._now()
        result = self._ticker.command(self._state, now, time.monotonic())
        if result is None:
            return
        u, status = result
        self._command_publisher.publish(self._make_command(u, now))
        self._tick_times[self._counters["commands"] % TICK_RING] = time.monotonic_ns()
        self._last_status = status
        self._counters["commands"] += 1

    def _enter_fault(self, error: Exception) -> None:
        """Latch FAULT on the first exception of the loop's work and log it once."""
        if self._fault is None:
            self._latch_fault(f"command loop failed: {type(error).__name__}: {error}")

    def _latch_fault(self, reason: str) -> None:
        self._fault = reason
        self._last_status = (ExecutorMode.FAULT, 0, 0, float("nan"), reason)
        self.get_logger().error(f"{reason}; FAULT: publishing the safe command until restart")

    def _tick_fault(self) -> None:
        """In FAULT: the safe command for the latest state, nothing from the executor's chunks."""
        self._last_status = (ExecutorMode.FAULT, 0, 0, float("nan"), self._fault)
        sample = self._state
        if sample is None:
            return
        now = self._now()
        self._command_publisher.publish(self._make_command(self.executor_core.safe_input(sample.values), now))
        self._counters["commands"] += 1

    def _input_vector(self, u: np.ndarray, now: float) -> InputVector:
        return vector_to_msg(InputVector, self.model.input_names, u, stamp=now)

    def _float64_multi_array(self, u: np.ndarray, now: float) -> Float64MultiArray:
        return Float64MultiArray(data=self._forward_command.to_array(u))

    # -- status -----------------------------------------------------------------------------
    def _publish_status(self) -> None:
        start, count = self._rate_window
        now_mono = time.monotonic()
        commands = self._counters["commands"]
        if self._shared is not None:
            reading = self._shared.read_status()
            if reading is not None:
                self._loop_commands = reading[0]
                if self._fault is None and reading[1] is not None:
                    self._last_status = reading[1]
            commands += self._loop_commands
        rate = (commands - count) / max(now_mono - start, 1e-9)
        self._rate_window = (now_mono, commands)
        msg = ControllerStatus()
        msg.header.stamp = self.get_clock().now().to_msg()
        if self._last_status is None:
            mode, sequence, knot, error, reason = ExecutorMode.WAITING, 0, 0, float("nan"), "no state received yet"
        else:
            mode, sequence, knot, error, reason = self._last_status
        msg.mode, msg.reason = int(mode), reason
        msg.active_sequence, msg.knot_index, msg.tracking_error = int(sequence), int(knot), float(error)
        msg.commands_published = commands
        msg.chunks_accepted, msg.chunks_rejected = self._counters["accepted"], self._counters["rejected"]
        msg.last_rejection = self._last_rejection
        msg.rejection_reasons = list(REJECTION_REASONS)
        msg.rejection_counts = [self._rejections[reason] for reason in REJECTION_REASONS]
        msg.chunks_dropped = self.executor_core.chunks_dropped
        msg.chunks_superseded = self.executor_core.chunks_superseded
        msg.command_rate_hz = rate
        self._status_publisher.publish(msg)

    def destroy_node(self) -> None:
        self._running = False
        if self._loop_process is not None:
            self._loop_process.stop()
        if self._loop_thread is not None and self._loop_thread.is_alive():
            self._loop_thread.join(timeout=1.0)
        if self._shared is not None:
            if self._fault is None:  # the loop process's record
                reading = self._shared.read_status()
                self._log_timing(self._shared.tick_times, reading[0] if reading is not None else 0)
            self._shared.close()
            self._shared = None
        elif hasattr(self, "_tick_times"):
            self._log_timing(self._tick_times, self._counters["commands"])
        super().destroy_node()

    def _log_timing(self, tick_times: np.ndarray, commands: int) -> None:
        self.get_logger().info(f"command loop ({self.command_loop}, {self.rate_hz:g} Hz): "
                               f"{period_summary(tick_times, commands, self.rate_hz)}")


def main(args: list[str] | None = None) -> None:
    use_node_profile()  # before the middleware starts: bounded reader memory under a flood
    run_node(ControllerNode, args, name="hint_controller")


if __name__ == "__main__":
    main()
