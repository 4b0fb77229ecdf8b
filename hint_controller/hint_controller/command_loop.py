"""The controller's command loop: one tick's logic, and the loop process with its shared memory.

:class:`CommandTicker` is what one tick does (both loops use it): the executor's command for the
latest state sample, or the safe command when the state is stale, the stream is resuming after a
gap, or the command is not finite and within the model's limits.

With ``command_loop: process`` (opt-in; ``thread`` is the default) the loop runs in a process of
its own, ``python -m hint_controller.command_loop`` started by the controller node, so that nothing in the
node process (deserialization, validation, logging, status publishing, its garbage collector)
holds the interpreter lock the loop needs. The two share one preallocated memory block
(:class:`SharedControl`, an anonymous ``memfd`` passed as a file descriptor: nothing to unlink,
freed when both processes have closed it):

* the latest state sample and the chunk schedule go node -> loop, the loop's status and counters
  go loop -> node, each behind a sequence lock: one writer bumps the sequence number to odd,
  writes, bumps it to even; a reader copies and retries when the number was odd or changed.
  Neither side ever waits for the other. (Numpy stores are plain stores, and x86-64 keeps stores
  and loads in program order, which the sequence lock relies on.)
* validated chunks (the node deserializes, validates and prepares them with the same
  :class:`hint_controller.executor.ChunkExecutor`, whose schedule it hands over) are written
  once into chunk slots; the schedule names the slots of the active and pending chunks. The loop
  acknowledges each schedule it has loaded; the node rewrites only slots that no schedule since the
  acknowledged one names, so the loop never reads a slot while it is rewritten.

The loop process allocates its buffers before it starts, freezes and disables its garbage
collector, sleeps to absolute deadlines (``clock_nanosleep`` with ``TIMER_ABSTIME``), runs on
SCHED_FIFO with ``realtime_priority`` > 0 (else with a short time slice of the default scheduler:
:func:`request_short_slice`), and publishes the commands itself from an rclpy
context of its own. It ignores SIGINT (the node stops it in order, through the shared stop flag)
and dies with the node (``PR_SET_PDEATHSIG``, and a check of its parent on every tick).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import gc
import json
import math
import mmap
import os
import signal
import sys
import time

import numpy as np

from hint_controller.executor import ChunkExecutor, ExecutorMode, PreparedChunk

#: bytes of the status reason kept in shared memory (longer reasons are cut)
REASON_BYTES = 512
#: spare chunk slots beyond max_pending + 1 (the schedules published before the loop acknowledges one)
SPARE_SLOTS = 16
#: times a reader retries a sequence lock that a writer keeps busy before it keeps its last copy: a
#: few microseconds of copying; a writer that the scheduler took off its CPU mid-write would keep
#: a longer spin waiting for nothing, so the loop keeps its last copy for this period instead
SEQLOCK_RETRIES = 64
#: the time slice [s] a command loop on the default scheduler asks for (:func:`request_short_slice`)
LOOP_SLICE_S = 1e-4
#: publish times [ns] each loop keeps of its latest commands (a ring; at 1 kHz the last 65 s)
TICK_RING = 1 << 16
_ALIGN = 64  # each section on its own cache line: a writer's stores do not invalidate the other side's reads


@dataclasses.dataclass
class StateSample:
    """The latest measured state in the model's coordinate order."""

    values: np.ndarray
    received: float  # monotonic time of arrival [s]
    stamp: float = 0.0  # the message's header stamp [s] (ROS time); 0 = not stamped
    #: states in the current run, this one included: each arrived within state_timeout of the previous
    run: int = 1
    #: the stream may be tracked: no gap longer than state_timeout since the start, or a run of
    #: resume_after_states states since the latest gap
    trusted: bool = True


def next_state_sample(previous: StateSample | None, values: np.ndarray, received: float, stamp: float,
                      state_timeout: float, resume_after_states: int) -> StateSample:
    """The sample of a state that arrived at `received` (monotonic [s]) after `previous`.

    A gap longer than state_timeout between two arrivals means the state went stale in between
    (the command loop switched to the safe command then, or would have): the stream is trusted
    again only once resume_after_states states have arrived, each within state_timeout of the
    previous one. The first state of all is trusted."""
    if previous is None:
        return StateSample(values, received, stamp)
    if received - previous.received <= state_timeout:
        run = previous.run + 1
        return StateSample(values, received, stamp, run, previous.trusted or run >= resume_after_states)
    return StateSample(values, received, stamp, 1, resume_after_states <= 1)


#: what a tick reports: (mode, active sequence, knot index, tracking error, reason)
TickStatus = tuple[ExecutorMode, int, int, float, str]


class CommandTicker:
    """One tick: the command for a state sample at time `now` and what the status reports."""

    def __init__(self, executor: ChunkExecutor, state_timeout: float, resume_after_states: int,
                 lock: contextlib.AbstractContextManager | None = None) -> None:
        """`lock` is held around the executor's command (the in-process loop shares the executor
        with the thread that submits chunks)."""
        self.executor = executor
        self.state_timeout = float(state_timeout)
        self.resume_after_states = int(resume_after_states)
        self._lock = lock if lock is not None else contextlib.nullcontext()
        self._lower = np.asarray(executor.model.input_lower, dtype=float)
        self._upper = np.asarray(executor.model.input_upper, dtype=float)
        self._stale = f"state older than {self.state_timeout} s"

    def command(self, sample: StateSample | None, now: float, monotonic: float) -> tuple[np.ndarray, TickStatus] | None:
        """(u, status) for `sample` at ROS time `now` and monotonic time `monotonic`; None where
        nothing may be commanded (no state yet, or none measured since the episode started)."""
        if sample is None:
            return None  # nothing measured yet: publish nothing (status says WAITING)
        executor = self.executor
        if 0.0 < sample.stamp < executor.episode_start:
            # the new episode's first state has not arrived: a state measured before the reset is
            # not the robot's any more (a simulator teleports it), and a hold built on it would
            # jump a position-servoed arm to the old pose: nothing valid to command yet
            return None
        if monotonic - sample.received > self.state_timeout:
            u = executor.safe_input(sample.values)
            status = (ExecutorMode.SAFE, 0, 0, math.nan, self._stale)
        elif not sample.trusted:
            u = executor.safe_input(sample.values)
            status = (ExecutorMode.SAFE, 0, 0, math.nan, (
                f"state stream resuming after a gap: {sample.run} of {self.resume_after_states} consecutive fresh states"
            ))
        else:
            with self._lock:
                u, executor_status = executor.command(now, sample.values)
            status = (executor_status.mode, executor_status.active_sequence, executor_status.knot_index,
                      executor_status.tracking_error, executor_status.reason)
        if not (np.isfinite(u).all() and (u >= self._lower).all() and (u <= self._upper).all()):
            u = executor.safe_input(sample.values)
            status = (ExecutorMode.FAULT, 0, 0, math.nan, "computed command was non-finite or out of limits")
        return u, status


#: the loop's timing line at shutdown covers the commands of this many last seconds
TIMING_WINDOW_S = 10.0


def period_summary(tick_times: np.ndarray, commands: int, rate_hz: float, window: float = TIMING_WINDOW_S) -> str:
    """One line on the loop's timing from its ring of publish times [ns]: |period error| p99 and
    max over the commands of the last `window` seconds (consecutive commands only: a span with
    no command, before the first state, is no period)."""
    count = min(commands, len(tick_times))
    if count < 3:
        return f"{commands} commands"
    times = tick_times[np.arange(commands - count, commands) % len(tick_times)]
    times = times[times >= times[-1] - int(window * 1e9)]
    errors = np.abs(np.diff(times) * 1e-6 - 1000.0 / rate_hz)
    return (f"{commands} commands; |period error| over the last {window:g} s ({len(errors)} periods): "
            f"p99 {np.percentile(errors, 99):.4f} ms, max {errors.max():.4f} ms")


# -- shared memory ----------------------------------------------------------------------------
class SharedControl:
    """The memory block node and loop process share (layout in the module docstring).

    Single writer per section: the node writes the state, the schedule, the chunk slots and the
    stop flag; the loop writes the status, the acknowledgement and the ready flag."""

    def __init__(self, fd: int, state_dim: int, input_dim: int, knots: int, max_pending: int, create: bool) -> None:
        self.fd = fd
        self.state_dim, self.input_dim, self.knots = int(state_dim), int(input_dim), int(knots)
        self.slot_count = int(max_pending) + 1 + SPARE_SLOTS
        self.schedule_size = int(max_pending) + 1
        n, m, k = self.state_dim, self.input_dim, self.knots
        layout: list[tuple[str, type, tuple[int, ...]]] = [
            ("control", np.int64, (4,)),  # stop, ready, realtime (1 granted, -1 refused), loop pid
            ("state_seq", np.int64, (1,)), ("state_values", np.float64, (n,)),
            ("state_meta", np.float64, (4,)),  # received, stamp, run, trusted
            ("schedule_seq", np.int64, (1,)),
            ("schedule_meta", np.float64, (3,)),  # generation, episode_start, chunks (the first: the active one or none)
            ("schedule_slots", np.int64, (self.schedule_size + 1,)),  # has active, then slot per chunk
            ("ack", np.int64, (1,)),  # latest generation the loop loaded
            ("status_seq", np.int64, (1,)),
            ("status_ints", np.int64, (5,)),  # commands, mode, active sequence, knot, reason length
            ("status_floats", np.float64, (2,)),  # heartbeat (monotonic), tracking error
            ("status_reason", np.uint8, (REASON_BYTES,)),
            ("tick_times", np.int64, (TICK_RING,)),  # monotonic publish time [ns] of command i at i % TICK_RING
        ]
        for slot in range(self.slot_count):
            layout += [(f"slot{slot}_meta", np.float64, (6,)), (f"slot{slot}_x_ref", np.float64, (k, n)),
                       (f"slot{slot}_x_slope", np.float64, (k, n)), (f"slot{slot}_u_ff", np.float64, (k, m)),
                       (f"slot{slot}_gains", np.float64, (k, m, n))]
        offsets, size = {}, 0
        for name, dtype, shape in layout:
            offsets[name] = size
            size += -(-int(np.prod(shape)) * np.dtype(dtype).itemsize // _ALIGN) * _ALIGN
        self.size = size
        if create:
            os.ftruncate(fd, size)
        self._map = mmap.mmap(fd, size)
        self.views = {name: np.ndarray(shape, dtype, buffer=self._map, offset=offsets[name]) for name, dtype, shape in layout}
        v = self.views
        self.control, self.ack, self.tick_times = v["control"], v["ack"], v["tick_times"]
        self.slots = [tuple(v[f"slot{i}_{part}"] for part in ("meta", "x_ref", "x_slope", "u_ff", "gains"))
                      for i in range(self.slot_count)]

    @classmethod
    def create(cls, state_dim: int, input_dim: int, knots: int, max_pending: int) -> SharedControl:
        return cls(os.memfd_create("hint_controller", 0), state_dim, input_dim, knots, max_pending, create=True)

    def config(self) -> dict:
        """What :meth:`attach` needs in the other process (with the descriptor passed to it)."""
        return {"fd": self.fd, "state_dim": self.state_dim, "input_dim": self.input_dim, "knots": self.knots,
                "max_pending": self.schedule_size - 1}

    @classmethod
    def attach(cls, config: dict) -> SharedControl:
        return cls(config["fd"], config["state_dim"], config["input_dim"], config["knots"], config["max_pending"], create=False)

    def close(self) -> None:
        self.views.clear()
        self.slots.clear()
        self.control = self.ack = self.tick_times = None
        try:
            self._map.close()
        except BufferError:  # a view is still referenced somewhere: the mapping goes with the process
            pass
        os.close(self.fd)

    # -- state: node -> loop
    def write_state(self, sample: StateSample) -> None:
        seq = self.views["state_seq"]
        seq[0] += 1
        self.views["state_values"][:] = sample.values
        self.views["state_meta"][:] = (sample.received, sample.stamp, sample.run, 1.0 if sample.trusted else 0.0)
        seq[0] += 1

    def read_state(self, into: StateSample) -> bool:
        """Copy the latest state into `into` (its values array is reused); False before the first
        state, or if the writer kept the lock busy (then `into` may be torn: read again)."""
        seq, values, meta = self.views["state_seq"], self.views["state_values"], self.views["state_meta"]
        for _ in range(SEQLOCK_RETRIES):
            before = int(seq[0])
            if before == 0:
                return False
            if before & 1:
                continue
            np.copyto(into.values, values)
            received, stamp, run, trusted = meta.tolist()
            if int(seq[0]) == before:
                into.received, into.stamp, into.run, into.trusted = received, stamp, int(run), trusted != 0.0
                return True
        return False

    # -- schedule: node -> loop
    def write_slot(self, slot: int, chunk: PreparedChunk) -> None:
        """Copy `chunk` into `slot`: only a slot no schedule since the acknowledged one names."""
        meta, x_ref, x_slope, u_ff, gains = self.slots[slot]
        length = chunk.length
        x_ref[:length], x_slope[:length], u_ff[:length], gains[:length] = chunk.x_ref, chunk.x_slope, chunk.u_ff, chunk.gains
        meta[:] = (chunk.start_time, chunk.period, length, chunk.end_time, chunk.sequence, chunk.activation_time)

    def write_schedule(self, generation: int, episode_start: float, active_slot: int | None, pending_slots: list[int]) -> None:
        seq, meta, slots = self.views["schedule_seq"], self.views["schedule_meta"], self.views["schedule_slots"]
        chunks = ([active_slot] if active_slot is not None else []) + pending_slots
        seq[0] += 1
        meta[:] = (generation, episode_start, len(chunks))
        slots[0] = active_slot is not None
        slots[1:1 + len(chunks)] = chunks
        seq[0] += 1

    def schedule_changed(self, loaded_seq: int) -> bool:
        return int(self.views["schedule_seq"][0]) != loaded_seq

    def read_schedule(self) -> tuple[int, int, float, bool, list[int]] | None:
        """(sequence number, generation, episode start, has active, slots) or None when torn."""
        seq, meta, slots = self.views["schedule_seq"], self.views["schedule_meta"], self.views["schedule_slots"]
        for _ in range(SEQLOCK_RETRIES):
            before = int(seq[0])
            if before & 1:
                continue
            generation, episode_start, count = meta.tolist()
            chosen = slots[:1 + int(count)].tolist()
            if int(seq[0]) == before:
                return before, int(generation), episode_start, bool(chosen[0]), chosen[1:]
        return None

    def slot_chunk(self, slot: int) -> PreparedChunk:
        """The chunk in `slot` as views of the shared memory (no copy)."""
        meta, x_ref, x_slope, u_ff, gains = self.slots[slot]
        start_time, period, length, end_time, sequence, activation_time = meta.tolist()
        length = int(length)
        return PreparedChunk(action=None, x_ref=x_ref[:length], x_slope=x_slope[:length], u_ff=u_ff[:length],
                             gains=gains[:length], start_time=start_time, period=period, length=length,
                             end_time=end_time, sequence=int(sequence), activation_time=activation_time)

    # -- status: loop -> node
    def write_status(self, commands: int, status: TickStatus | None, heartbeat: float, reason: bytes | None) -> None:
        """`reason`: the encoded reason when it changed since the last call, else None."""
        seq, ints, floats = self.views["status_seq"], self.views["status_ints"], self.views["status_floats"]
        seq[0] += 1
        ints[0] = commands
        if status is not None:
            ints[1], ints[2], ints[3] = int(status[0]), status[1], status[2]
            floats[1] = status[3]
        if reason is not None:
            cut = reason[:REASON_BYTES]
            self.views["status_reason"][:len(cut)] = np.frombuffer(cut, dtype=np.uint8)
            ints[4] = len(cut)
        floats[0] = heartbeat
        seq[0] += 1

    def read_status(self) -> tuple[int, TickStatus | None, float] | None:
        """(commands, status or None before the first tick that reported one, heartbeat) or None when torn."""
        seq, ints, floats = self.views["status_seq"], self.views["status_ints"], self.views["status_floats"]
        for _ in range(SEQLOCK_RETRIES):
            before = int(seq[0])
            if before & 1:
                continue
            commands, mode, sequence, knot, length = ints.tolist()
            heartbeat, error = floats.tolist()
            reason = self.views["status_reason"][:length].tobytes()
            if int(seq[0]) == before:
                if length == 0 and mode == 0:
                    return commands, None, heartbeat
                return commands, (ExecutorMode(mode), sequence, knot, error, reason.decode(errors="replace")), heartbeat
        return None


class ScheduleWriter:
    """The node's side of the chunk hand-over: copies new chunks of an executor's schedule into
    free slots and publishes the schedule (a new generation each time)."""

    def __init__(self, shared: SharedControl) -> None:
        self.shared = shared
        self._generation = 0
        self._slot_of: dict[int, tuple[PreparedChunk, int]] = {}  # id(chunk) -> (chunk, its slot)
        self._published: list[tuple[int, frozenset[int]]] = []  # (generation, slots) since the acknowledged one

    def publish(self, executor: ChunkExecutor, wait: float = 0.5) -> bool:
        """Hand over `executor`'s schedule; False if no slot freed within `wait` seconds (the loop
        acknowledges no schedule: stalled or dead)."""
        active, pending = executor.schedule()
        chunks = ([active] if active is not None else []) + list(pending)
        current = {id(chunk) for chunk in chunks}
        self._slot_of = {key: entry for key, entry in self._slot_of.items() if key in current}
        new = [chunk for chunk in chunks if id(chunk) not in self._slot_of]
        deadline = time.monotonic() + wait
        free = self._free_slots()
        while len(free) < len(new):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)
            free = self._free_slots()
        for chunk, slot in zip(new, free):
            self.shared.write_slot(slot, chunk)
            self._slot_of[id(chunk)] = (chunk, slot)
        slots = [self._slot_of[id(chunk)][1] for chunk in chunks]
        self._generation += 1
        self.shared.write_schedule(self._generation, executor.episode_start,
                                   slots[0] if active is not None else None, slots[1:] if active is not None else slots)
        self._published.append((self._generation, frozenset(slots)))
        return True

    def _free_slots(self) -> list[int]:
        """Slots neither the current chunks nor a schedule the loop may still execute name."""
        acknowledged = int(self.shared.ack[0])
        self._published = [(generation, slots) for generation, slots in self._published if generation >= acknowledged]
        taken = {slot for _, slots in self._published for slot in slots} | {slot for _, slot in self._slot_of.values()}
        return [slot for slot in range(self.shared.slot_count) if slot not in taken]


# -- the loop process -------------------------------------------------------------------------
_PR_SET_PDEATHSIG, _PR_SET_TIMERSLACK = 1, 29
_CLOCK_MONOTONIC, _TIMER_ABSTIME = 1, 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def absolute_sleeper():
    """A function sleeping until a monotonic deadline [ns]: clock_nanosleep(TIMER_ABSTIME), so a
    preemption between reading the clock and sleeping does not shift the deadline; time.sleep
    where libc has no clock_nanosleep."""
    libc = _libc()
    nanosleep = getattr(libc, "clock_nanosleep", None) if libc is not None else None
    if nanosleep is None:
        def sleep(deadline_ns: int) -> None:
            delay = deadline_ns - time.monotonic_ns()
            if delay > 0:
                time.sleep(delay * 1e-9)
        return sleep
    request = _Timespec()
    pointer = ctypes.byref(request)

    def sleep(deadline_ns: int) -> None:
        request.tv_sec, request.tv_nsec = divmod(deadline_ns, 1_000_000_000)
        nanosleep(_CLOCK_MONOTONIC, _TIMER_ABSTIME, pointer, None)  # EINTR: the loop just ticks early
    return sleep


class Deadlines:
    """Absolute deadlines every 1 / `rate_hz` on the monotonic clock, for both command loops: a
    tick's own duration does not shift the next one, and a loop that fell more than 10 periods
    behind (suspended?) restarts from now instead of bursting to catch up."""

    def __init__(self, rate_hz: float) -> None:
        self.period_ns = int(round(1e9 / rate_hz))
        self._sleep = absolute_sleeper()
        self._deadline = time.monotonic_ns()

    def wait(self) -> None:
        """Sleep until the next deadline."""
        self._deadline += self.period_ns
        now = time.monotonic_ns()
        if self._deadline > now:
            self._sleep(self._deadline)
        elif self._deadline < now - 10 * self.period_ns:
            self._deadline = now


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when its parent dies (Linux); exit now if it already has."""
    libc = _libc()
    if libc is not None and hasattr(libc, "prctl"):
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        libc.prctl(_PR_SET_TIMERSLACK, 1, 0, 0, 0)  # wake at the deadline, not up to 50 us after it
    if os.getppid() != parent:
        os._exit(0)


class _SchedAttr(ctypes.Structure):
    """struct sched_attr of sched_setattr(2)."""

    _fields_ = [("size", ctypes.c_uint32), ("sched_policy", ctypes.c_uint32), ("sched_flags", ctypes.c_uint64),
                ("sched_nice", ctypes.c_int32), ("sched_priority", ctypes.c_uint32), ("sched_runtime", ctypes.c_uint64),
                ("sched_deadline", ctypes.c_uint64), ("sched_period", ctypes.c_uint64),
                ("sched_util_min", ctypes.c_uint32), ("sched_util_max", ctypes.c_uint32)]


#: sched_setattr's system call number per machine (no libc wrapper before glibc 2.41)
_SYS_SCHED_SETATTR = {"x86_64": 314, "aarch64": 274}


def request_short_slice(seconds: float = LOOP_SLICE_S) -> bool:
    """Ask the default scheduler for a time slice of `seconds` for the calling thread, keeping its
    policy and nice value; True if the kernel took the request.

    On Linux >= 6.12 (EEVDF) sched_runtime of a SCHED_OTHER thread is its slice: a thread with a
    short slice gets an early virtual deadline, so on waking it preempts a thread that is running
    out a longer slice instead of waiting for it (no privilege needed). Older kernels accept and
    ignore it."""
    libc = _libc()
    number = _SYS_SCHED_SETATTR.get(os.uname().machine)
    if libc is None or number is None:
        return False
    attributes = _SchedAttr(size=ctypes.sizeof(_SchedAttr), sched_policy=os.SCHED_OTHER,
                            sched_nice=os.getpriority(os.PRIO_PROCESS, 0), sched_runtime=int(seconds * 1e9))
    return libc.syscall(number, 0, ctypes.byref(attributes), 0) == 0


def request_realtime_priority(priority: int) -> str | None:
    """Put the calling thread on SCHED_FIFO at `priority`; None on success, else why not."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (OSError, AttributeError) as error:  # AttributeError: no SCHED_FIFO on this platform
        return (
            f"real-time priority {priority} refused ({error}); running on the default scheduler. Grant it with "
            f"CAP_SYS_NICE or an rtprio limit (e.g. '@realtime - rtprio 99' in /etc/security/limits.conf)"
        )
    return None


class LoopProcess:
    """The loop process, seen from the node: start, watch, stop (never left behind).

    The process dies with the thread that starts it (PR_SET_PDEATHSIG follows the creating
    thread): create the node in the thread that spins it, as run_node does."""

    def __init__(self, shared: SharedControl, config: dict) -> None:
        import subprocess

        self.shared = shared
        self._process = subprocess.Popen(
            [sys.executable, "-m", "hint_controller.command_loop", json.dumps({**config, "parent": os.getpid()})],
            pass_fds=(shared.fd,), stdin=subprocess.DEVNULL,
        )
        self.pid = self._process.pid

    def exit_code(self) -> int | None:
        """None while it runs."""
        return self._process.poll()

    def stop(self, timeout: float = 3.0) -> None:
        """Ask the loop to stop (shared flag), then SIGTERM and SIGKILL if it does not in time."""
        self.shared.control[0] = 1
        for send in (None, self._process.terminate, self._process.kill):
            if send is not None:
                send()
            try:
                self._process.wait(timeout=timeout)
                return
            except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired: escalate
                continue

    def kill(self) -> None:
        self._process.kill()
        self._process.wait()


def _command_message(config: dict, model):
    """(the message type, a reused message, a function filling it with u at ROS time `now`)."""
    if config["command_format"] == "input_vector":
        from hint_msgs.msg import InputVector

        msg = InputVector()
        msg.names = list(model.input_names)
        stamp = msg.header.stamp

        def fill(u: np.ndarray, now_ns: int) -> None:
            stamp.sec, stamp.nanosec = divmod(now_ns, 1_000_000_000)
            msg.values = u.tolist()
        return InputVector, msg, fill
    from std_msgs.msg import Float64MultiArray

    from hint_controller.joint_state import ForwardCommandLayout

    layout = ForwardCommandLayout(model.input_names, tuple(config["joint_names"]), config["command_interface"])
    msg = Float64MultiArray()

    def fill(u: np.ndarray, now_ns: int) -> None:
        msg.data = layout.to_array(u)
    return Float64MultiArray, msg, fill


def run_loop(config: dict) -> None:
    """The loop process's work: build the model, executor and publisher, then tick until the
    node sets the stop flag or dies."""
    import rclpy
    from rclpy.parameter import Parameter

    from hint_controller.dynamics import make_model
    from hint_controller.fastdds_profile import own_publication_mode
    from hint_controller.qos import STREAM_QOS

    die_with_parent(config["parent"])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the node, which stops this loop in order
    shared = SharedControl.attach(config["shared"])
    control = shared.control
    model = make_model(config["model"], period=config["model_period"], urdf_path=config["urdf_path"], **config["model_options"])
    # chunks arrive validated and prepared by the node: this executor only executes its schedule
    executor = ChunkExecutor(model, grace_period=config["grace_period"], safe_mode=config["safe_mode"],
                             max_pending=config["max_pending"])
    ticker = CommandTicker(executor, config["state_timeout"], config["resume_after_states"])
    priority = config["realtime_priority"]
    # before rclpy starts the middleware's threads: they inherit SCHED_FIFO, so a lock the
    # publisher shares with them is never held by a thread that a busy machine keeps waiting
    refusal = request_realtime_priority(priority) if priority else None
    if not priority or refusal:
        request_short_slice()
    if priority and not refusal:
        # Fast DDS: publish() queues the sample for the middleware's sending thread, which runs
        # on SCHED_FIFO too. Sending on the loop's own thread (synchronous, rmw_fastrtps's
        # default) takes transport locks that receive threads of this and the subscribing
        # processes hold; on the project's loaded 2-core machine single publishes then took up
        # to 24 ms (bench_controller's 1 kHz run with the policy and the flood: p99 period error
        # 0.94 ms synchronous, 0.07 ms queued). On the default scheduler the sending thread
        # would wait behind every other process and drop the commands queued meanwhile (the
        # command topic keeps one): there the loop sends itself.
        os.environ.setdefault("RMW_FASTRTPS_PUBLICATION_MODE", "ASYNCHRONOUS")
    own_publication_mode()
    context = rclpy.Context()
    rclpy.init(args=[], context=context)
    node = rclpy.create_node(config["node_name"] + "_command_loop", namespace=config["namespace"], context=context,
                             parameter_overrides=[Parameter("use_sim_time", value=config["use_sim_time"])],
                             start_parameter_services=False)
    message_type, msg, fill = _command_message(config, model)
    publisher = node.create_publisher(message_type, config["topic"], STREAM_QOS)
    clock = node.get_clock()
    spinner = None
    if config["use_sim_time"]:  # /clock must be received: a thread of its own, idle between clock messages
        import threading

        from rclpy.executors import SingleThreadedExecutor

        spin_executor = SingleThreadedExecutor(context=context)
        spin_executor.add_node(node)
        spinner = threading.Thread(target=spin_executor.spin, daemon=True)
        spinner.start()
    if priority:
        if refusal:
            node.get_logger().warning(refusal)
        else:
            node.get_logger().info(f"command loop process runs SCHED_FIFO at priority {priority}")
        control[2] = -1 if refusal else 1
    sample, spare = (StateSample(np.zeros(shared.state_dim), 0.0) for _ in range(2))
    have_state = False
    loaded_seq = -1
    fault: str | None = None
    commands = 0
    last_reason = None
    parent = config["parent"]
    tick_times, ring_mask = shared.tick_times, TICK_RING - 1
    gc.collect()
    gc.freeze()  # what exists now is never scanned again
    gc.disable()  # the tick allocates only short-lived, acyclic objects: reference counting frees them
    control[3] = os.getpid()
    shared.write_status(0, None, time.monotonic(), None)
    control[1] = 1  # ready: the heartbeat is current from now on
    deadlines = Deadlines(config["rate_hz"])
    try:
        while control[0] == 0 and os.getppid() == parent:
            status = None
            try:
                if shared.schedule_changed(loaded_seq):
                    schedule = shared.read_schedule()
                    if schedule is not None:
                        loaded_seq, generation, episode_start, has_active, slots = schedule
                        chunks = [shared.slot_chunk(slot) for slot in slots]
                        active = chunks.pop(0) if has_active else None
                        executor.load_schedule(active, chunks, episode_start)
                        shared.ack[0] = generation
                if shared.read_state(spare):
                    sample, spare = spare, sample
                    have_state = True
                now_ns = clock.now().nanoseconds
                if fault is None:
                    result = ticker.command(sample if have_state else None, now_ns * 1e-9, time.monotonic())
                elif have_state:
                    result = executor.safe_input(sample.values), (ExecutorMode.FAULT, 0, 0, math.nan, fault)
                else:
                    result = None
                if result is not None:
                    u, status = result
                    fill(u, now_ns)
                    publisher.publish(msg)
                    tick_times[commands & ring_mask] = time.monotonic_ns()
                    commands += 1
            except Exception as error:  # noqa: BLE001 - the loop must not die: FAULT, safe command
                if control[0] != 0 or not context.ok():
                    break  # shutting down
                if fault is None:
                    fault = f"command loop failed: {type(error).__name__}: {error}"
                    node.get_logger().error(f"{fault}; FAULT: publishing the safe command until restart")
                status = (ExecutorMode.FAULT, 0, 0, math.nan, fault)
            reason = None
            if status is not None and status[4] is not last_reason and status[4] != last_reason:
                last_reason = status[4]
                reason = last_reason.encode()
            shared.write_status(commands, status, time.monotonic(), reason)
            deadlines.wait()
    finally:
        gc.enable()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
        if spinner is not None:
            spinner.join(timeout=1.0)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    run_loop(json.loads(argv[0]))


if __name__ == "__main__":
    main()
