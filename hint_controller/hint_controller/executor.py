"""The chunk executor: turns composite actions into high-rate inputs, without ROS.

At time t the active composite action is the queued one with the latest ``start_time <= t``;
its knot k = floor((t - start_time) / period) applies

    u = u_ff[k] + gains[k] (x - x_ref(t)),   clamped to the model's input limits,

with x_ref(t) = x_ref[k] (ZERO_ORDER_HOLD) or the line from x_ref[k] to x_ref[k+1] (LINEAR). The
last knot's line ends at the chunk's ``x_ref_end``; a chunk without one gets the model's
extrapolation, x_ref[-1] rolled forward one knot period under u_ff[-1] (what the plant does from
the last reference under the last feed-forward; a held x_ref[-1] would ask the feedback to stop
the robot there, an input error of 2.6 N on the quadrotor). u_ff and K are held per knot: a
chunk that must reproduce a trajectory exactly carries one knot per model step (knot period =
model period, see :func:`hint_controller.tvlqr.chunk_controllers`). Ticks up to KNOT_TOLERANCE
periods early count as on the knot boundary (floating-point knot times). For ``grace_period``
seconds after the last knot's interval the final primitive controller keeps running with the
reference held at its end (``x_ref_end``, ZERO_ORDER_HOLD: x_ref[-1]) (HOLDING); before the first chunk,
after the grace period, or when the state is not finite the model's safe input is commanded.
Modes match hint_msgs/ControllerStatus. The output is always finite. The knot index is clamped
before it becomes an integer, so no period or time (5e-324, 1e300) can make a tick raise.

Which chunk runs when chunks overlap: a chunk's start time is the time of the observation it was
planned from, so a chunk that starts before the active chunk (the one that has started by the
time of submission) was planned from an older observation: it never replaces the active chunk
and is rejected as ``older_than_active``, like an invalid one (the active chunk keeps running).
Otherwise **the latest arrival wins from its start time on**: a submitted chunk C (validated by
:class:`hint_controller.chunk_validation.ChunkValidator`) supersedes every pending chunk that
starts at or after C's start, and the active chunk if C starts at the same time (re-planned from
the same observation); pending chunks that start before C still run until C starts, and a
near-future chunk cannot block the next valid one. The pending queue is therefore ordered by both
start time and arrival; it holds at most ``max_pending`` chunks: beyond that the oldest pending
chunk is dropped (counted in ``chunks_dropped``; superseded ones in ``chunks_superseded``).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Sequence

import numpy as np

from hint_controller.chunk_validation import ChunkLimits, ChunkRejected, ChunkValidator
from hint_controller.composite_action import CompositeAction, Interpolation
from hint_controller.dynamics.base import DynamicsModel, SafeMode
from hint_controller.names import name_indices

#: times within this fraction of a knot period before a knot boundary count as on it, so that
#: ticks at exactly the knot times (t = start + k period in floating point) select knot k
KNOT_TOLERANCE = 1e-6
#: preferred safe modes, first supported one is the default
_SAFE_MODE_PREFERENCE = (SafeMode.HOVER, SafeMode.GRAVITY_COMPENSATION, SafeMode.BRAKE, SafeMode.ZERO)


class ExecutorMode(enum.IntEnum):
    """Values match hint_msgs/msg/ControllerStatus MODE_*."""

    WAITING = 0
    TRACKING = 1
    HOLDING = 2
    SAFE = 3
    FAULT = 4


@dataclasses.dataclass(frozen=True, slots=True)
class ExecutorStatus:
    """What the executor did on one tick."""

    mode: ExecutorMode
    reason: str = ""
    active_sequence: int = 0
    knot_index: int = 0
    tracking_error: float = 0.0


@dataclasses.dataclass(slots=True)
class PreparedChunk:
    """A validated chunk reordered into the model's coordinates, with per-knot reference slopes
    (`action`: the chunk as submitted; None for one rebuilt from another process's copy)."""

    action: CompositeAction | None
    x_ref: np.ndarray
    x_slope: np.ndarray  # (length, n): (x_ref[k+1] - x_ref[k]) / period, x_ref_end for the last knot; 0 for ZOH
    u_ff: np.ndarray
    gains: np.ndarray
    start_time: float
    period: float
    length: int
    end_time: float
    sequence: int
    activation_time: float  # start_time less the knot tolerance


def primitive_input(gain: np.ndarray, error: np.ndarray, u_ff: np.ndarray, lower: np.ndarray,
                    upper: np.ndarray) -> np.ndarray:
    """The control law of a primitive controller: u = u_ff + K (x - x_ref), clipped to
    [lower, upper], with error = x - x_ref. The executor and the experts' trackers both use it."""
    u = gain @ error
    u += u_ff
    np.minimum(u, upper, out=u)
    np.maximum(u, lower, out=u)
    return u


def default_safe_mode(model: DynamicsModel) -> SafeMode:
    """The first of HOVER, GRAVITY_COMPENSATION, BRAKE, ZERO that `model` supports."""
    probe = np.zeros(model.state_dim)
    for mode in _SAFE_MODE_PREFERENCE:
        try:
            model.safe_input(probe, mode)
        except ValueError:
            continue
        return mode
    raise ValueError(f"model {model.name!r} supports no safe mode")


class ChunkExecutor:
    """Executes queued :class:`CompositeAction` s against a :class:`DynamicsModel`'s names and limits."""

    def __init__(
        self,
        model: DynamicsModel,
        grace_period: float = 0.1,
        safe_mode: SafeMode | str | None = None,
        state_names: Sequence[str] | None = None,
        limits: ChunkLimits = ChunkLimits(),
        max_pending: int = 8,
    ) -> None:
        """`state_names`: names of the state vectors passed to :meth:`command` (default: the
        model's); the model's coordinates are selected from them by name. `limits`: what a
        submitted chunk must satisfy; `max_pending`: most chunks waiting for their start."""
        if not (grace_period >= 0 and math.isfinite(grace_period)):
            raise ValueError(f"grace_period must be finite and >= 0, got {grace_period}")
        if not 1 <= max_pending <= 1024:
            raise ValueError(f"max_pending must be in [1, 1024], got {max_pending}")
        self.validator = ChunkValidator(model, limits)
        self.max_pending = int(max_pending)
        self.model = model
        self.grace_period = float(grace_period)
        self.safe_mode = SafeMode(safe_mode) if safe_mode is not None else default_safe_mode(model)
        model.safe_input(np.zeros(model.state_dim), self.safe_mode)  # raises if unsupported
        self.state_names = tuple(state_names) if state_names is not None else tuple(model.state_names)
        selection = name_indices(self.state_names, model.state_names)
        self._selection = None if selection == list(range(len(self.state_names))) else np.asarray(selection)
        self._lower = np.asarray(model.input_lower, dtype=float)
        self._upper = np.asarray(model.input_upper, dtype=float)
        self._fallback = np.clip(np.zeros(model.input_dim), self._lower, self._upper)
        #: the model narrows its input limits by state (DynamicsModel.input_bounds)
        self._bounds_by_state = type(model).input_bounds is not DynamicsModel.input_bounds
        self._queue: list[PreparedChunk] = []
        self._active: PreparedChunk | None = None
        self._episode_start = -math.inf  # chunks starting earlier are refused (reset(before=...))
        self._error = np.empty(model.state_dim)
        self.commands = 0
        self.chunks_accepted = 0
        self.chunks_rejected = 0
        self.chunks_dropped = 0
        self.chunks_superseded = 0
        self.last_rejection = ""

    # ------------------------------------------------------------------ chunks
    def submit(self, action: CompositeAction, now: float | None = None) -> None:
        """Queue `action`; it takes over at its start_time (see the module docstring).

        Raises :class:`ChunkRejected` (and counts a rejection) when it violates the limits, its
        names do not match the model or it starts before the active chunk; with `now` None the
        start-time limits are not checked and the active chunk is the one of the latest
        :meth:`command`, else also a pending one that has started by `now`.
        """
        try:
            if action.start_time < self._episode_start:
                raise ChunkRejected("previous_episode", f"start_time {action.start_time:.3f} s is before the episode "
                                    f"start {self._episode_start:.3f} s: planned for the previous episode")
            chunk = self._prepare(action, now)
            active = self._started(now)
            if active is not None and chunk.start_time < active.start_time:
                raise ChunkRejected("older_than_active", (
                    f"chunk {chunk.sequence}: start_time {chunk.start_time:.6f} s is before the start "
                    f"{active.start_time:.6f} s of the active chunk {active.sequence}: planned from an older observation"
                ))
        except ChunkRejected as error:
            self.chunks_rejected += 1
            self.last_rejection = str(error)
            raise
        kept = [c for c in self._queue if c.start_time < chunk.start_time]
        self.chunks_superseded += len(self._queue) - len(kept)
        if self._active is not None and chunk.start_time <= self._active.start_time:
            self._active = None
            self.chunks_superseded += 1
        kept.append(chunk)
        if len(kept) > self.max_pending:
            self.chunks_dropped += len(kept) - self.max_pending
            kept = kept[-self.max_pending:]
        self._queue = kept
        self.chunks_accepted += 1

    def _started(self, now: float | None) -> PreparedChunk | None:
        """The chunk a tick at `now` would execute: the latest pending one that has started by
        then, else the active one (with `now` None: the active one)."""
        if now is not None:
            for chunk in reversed(self._queue):
                if chunk.activation_time <= now:
                    return chunk
        return self._active

    def _prepare(self, action: CompositeAction, now: float | None) -> PreparedChunk:
        model = self.model
        self.validator.check_header(
            sequence=action.sequence, knot_period=action.period, length=action.length,
            start_time=action.start_time, now=now,
        )
        if set(action.state_names) != set(model.state_names) or len(action.state_names) != model.state_dim:
            raise ChunkRejected("names", f"chunk {action.sequence}: state names {list(action.state_names)} do not match model {model.name!r} {list(model.state_names)}")
        if set(action.input_names) != set(model.input_names) or len(action.input_names) != model.input_dim:
            raise ChunkRejected("names", f"chunk {action.sequence}: input names {list(action.input_names)} do not match model {model.name!r} {list(model.input_names)}")
        state_order = name_indices(action.state_names, model.state_names)
        input_order = name_indices(action.input_names, model.input_names)
        x_ref = np.ascontiguousarray(action.x_ref[:, state_order])
        u_ff = np.ascontiguousarray(action.u_ff[:, input_order])
        gains = np.ascontiguousarray(action.gains[:, input_order][:, :, state_order])
        # the sent values first: a chunk they reject costs no model rollout
        self.validator.check_values(action.sequence, x_ref, u_ff, gains)
        self.validator.check_certificate(action.sequence, action.certificate)
        x_end = self._extrapolate(x_ref[-1], u_ff[-1], action.period) if action.x_ref_end is None else action.x_ref_end[state_order]
        self.validator.check_reference(action.sequence, x_end, "x_ref_end")
        x_slope = np.zeros_like(x_ref)
        if action.interpolation is Interpolation.LINEAR:
            x_slope[:] = np.diff(np.vstack([x_ref, x_end]), axis=0) / action.period
        return PreparedChunk(
            action=action,
            x_ref=x_ref,
            x_slope=x_slope,
            u_ff=u_ff,
            gains=gains,
            start_time=float(action.start_time),
            period=float(action.period),
            length=action.length,
            end_time=float(action.end_time),
            sequence=int(action.sequence),
            activation_time=float(action.start_time) - KNOT_TOLERANCE * float(action.period),
        )

    def _extrapolate(self, x: np.ndarray, u: np.ndarray, period: float) -> np.ndarray:
        """x rolled forward `period` (rounded to whole model steps, at least one) under the clamped u;
        x itself where the model's rollout is not finite."""
        steps = max(1, round(period / self.model.period))
        u = np.clip(u, self._lower, self._upper)
        try:
            end = np.asarray(self.model.rollout(x, np.tile(u, (steps, 1)))[-1], dtype=float)
        except (ValueError, ArithmeticError):
            return x.copy()
        return end if end.shape == x.shape and np.isfinite(end).all() else x.copy()

    def reset(self, before: float | None = None) -> None:
        """Forget every chunk, or with `before` only those starting before that time (at an
        episode reset: the previous episode's chunks, keeping one the policy already sent for
        the new episode); chunks submitted later that start before it are refused
        (``previous_episode``: a sample still running at the reset was conditioned on the old
        state). Counters are kept."""
        if before is None:
            self._queue.clear()
            self._active = None
            return
        self._episode_start = max(self._episode_start, float(before))
        self._queue = [c for c in self._queue if c.start_time >= before]
        if self._active is not None and self._active.start_time < before:
            self._active = None

    def advance(self, t: float) -> None:
        """Make the latest pending chunk that has started by time t the active one (what
        :meth:`command` does first)."""
        queue = self._queue
        while queue and queue[0].activation_time <= t:
            self._active = queue.pop(0)

    def schedule(self) -> tuple[PreparedChunk | None, tuple[PreparedChunk, ...]]:
        """(the active chunk, the pending ones in start order): what :meth:`command` executes."""
        return self._active, tuple(self._queue)

    def load_schedule(self, active: PreparedChunk | None, pending: Sequence[PreparedChunk], episode_start: float) -> None:
        """Take over another executor's :meth:`schedule` and :attr:`episode_start` (a command
        loop in another process executes the chunks its node submitted and validated)."""
        self._active = active
        self._queue = list(pending)
        self._episode_start = float(episode_start)

    @property
    def episode_start(self) -> float:
        """Time of the latest episode start given to :meth:`reset` (-inf before any)."""
        return self._episode_start

    @property
    def active(self) -> CompositeAction | None:
        """The chunk executed on the latest tick (None before the first one starts)."""
        return self._active.action if self._active is not None else None

    # ------------------------------------------------------------------ ticks
    def command(self, t: float, x: np.ndarray) -> tuple[np.ndarray, ExecutorStatus]:
        """The input to apply at time t given the measured state x (full or model state)."""
        self.commands += 1
        self.advance(t)
        chunk = self._active
        if self._selection is not None:
            x = x[self._selection]
        if not np.isfinite(x).all():
            return self._safe(x, ExecutorMode.SAFE, "non-finite state", chunk)
        if chunk is None:
            return self._safe(x, ExecutorMode.WAITING, "no chunk started yet", None)
        mode, knot, offset = self._locate(chunk, t)
        if mode is ExecutorMode.SAFE:
            return self._safe(x, ExecutorMode.SAFE, "grace period after the last knot is over", chunk)
        error = self._error
        np.subtract(x, chunk.x_ref[knot], out=error)
        if offset:
            error -= offset * chunk.x_slope[knot]
        lower, upper = self.model.input_bounds(x) if self._bounds_by_state else (self._lower, self._upper)
        u = primitive_input(chunk.gains[knot], error, chunk.u_ff[knot], lower, upper)
        tracking_error = math.sqrt(error @ error)
        if not math.isfinite(tracking_error) or not np.isfinite(u).all():
            return self._safe(x, ExecutorMode.FAULT, "non-finite command", chunk)
        return u, ExecutorStatus(mode, "", chunk.sequence, knot, tracking_error)

    def _locate(self, chunk: PreparedChunk, t: float) -> tuple[ExecutorMode, int, float]:
        """(TRACKING, knot, time into it), (HOLDING, last knot, its period: the reference at its
        end) or (SAFE, 0, 0) after the grace period. A chunk made active by a clock ahead of `t`
        (the node's, handed to a loop in another process) is at its first knot until it starts."""
        elapsed = t - chunk.start_time
        position = elapsed / chunk.period + KNOT_TOLERANCE  # may be huge or inf: clamp before int()
        knot = max(0, int(position)) if position < chunk.length else chunk.length
        if knot < chunk.length:
            offset = elapsed - knot * chunk.period
            return ExecutorMode.TRACKING, knot, offset if offset > 0.0 else 0.0
        if t < chunk.end_time + self.grace_period:
            return ExecutorMode.HOLDING, chunk.length - 1, chunk.period
        return ExecutorMode.SAFE, 0, 0.0

    def primitive_at(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(x_ref(t), u_ff, K) of the active chunk at time t, in the model's coordinates, as the
        latest :meth:`command` applies them before clamping; None when it commands no chunk."""
        chunk = self._active
        if chunk is None:
            return None
        mode, knot, offset = self._locate(chunk, t)
        if mode is ExecutorMode.SAFE:
            return None
        return chunk.x_ref[knot] + offset * chunk.x_slope[knot], chunk.u_ff[knot], chunk.gains[knot]

    def safe_input(self, x: np.ndarray) -> np.ndarray:
        """The model's safe input at model state x; zero clipped to the limits if that fails."""
        try:
            u = np.asarray(self.model.safe_input(x, self.safe_mode), dtype=float)
        except Exception:  # noqa: BLE001 - the safe command must always exist
            return self._fallback.copy()
        if u.shape != self._fallback.shape or not np.isfinite(u).all():
            return self._fallback.copy()
        return np.clip(u, self._lower, self._upper)

    def _safe(self, x: np.ndarray, mode: ExecutorMode, reason: str, chunk: PreparedChunk | None) -> tuple[np.ndarray, ExecutorStatus]:
        u = self.safe_input(x)
        sequence = chunk.sequence if chunk is not None else 0
        return u, ExecutorStatus(mode, reason, sequence, 0, math.nan if mode is not ExecutorMode.WAITING else 0.0)
