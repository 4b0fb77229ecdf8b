"""The hardware graph the way a robot owner brings it up, against a stand-in ros2_control robot.

The robot (test/ros2_control_standin.py, its own process) speaks what joint_state_broadcaster and a
forward command controller speak: sensor_msgs/JointState on /joint_states at 100 Hz (its joints
shuffled and with a gripper finger the arm's model lacks) and std_msgs/Float64MultiArray on
/<interface>_controller/commands, ordered by the controller's joints (yet another order). It
simulates arm3 with hint's model of the interface (effort: manipulator; position / velocity:
the joint servo). The graph is started with the launch-free runner exactly as docs/deploy-on-an-arm.md gives it
(``python -m hint_bringup.run hardware checkpoint:=... joint_names:=[...] command_interface:=...``)
with a tiny policy trained here for that interface's model, and stopped with SIGINT.

Checked per interface: the controller publishes at its 500 Hz and the robot receives hundreds of
commands within seconds of the first chunk, each array of len(joint_names) finite values within
the model's input limits; before the first chunk the arm is held exactly (position: its measured
positions, velocity: 0, effort: gravity compensation); after it, every command is what hint's own
ChunkExecutor computes from one of the policy's chunks (or the safe command) and a state the robot
published, when read in the joint_names order and in no other order (position: each joint is
also commanded near where it is); the controller's status reports executing the policy's chunks,
none rejected, never FAULT; the graph and the robot exit 0 on SIGINT.
"""

from __future__ import annotations

import bisect
import importlib.util
import itertools
import json
import math
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.ros

REPO_ROOT = Path(__file__).resolve().parents[1]
STANDIN = Path(__file__).resolve().with_name("ros2_control_standin.py")
#: arm3's joints: the model's and the policy's order
MODEL_JOINTS = ("joint1", "joint2", "joint3")
#: the forward command controller's joints (launch argument joint_names), not the model's order
COMMAND_ORDER = ("joint2", "joint3", "joint1")
#: joint_state_broadcaster's order, with a joint the model does not have
STATE_ORDER = ("joint3", "gripper_finger", "joint1", "joint2")
#: where the arm starts: distinct positions, so that a permuted command shows
START = {"joint1": 0.6, "joint2": -0.4, "joint3": 0.1}
MODELS = {"effort": "manipulator", "position": "position_servo", "velocity": "velocity_servo"}
#: hardware.yaml's controller: grace period after a chunk's last knot [s]
GRACE_PERIOD = 0.2
#: longest time from the controller computing a command to the robot receiving it [s]
LATENCY = 0.05
#: the controller's latest state may be this many of the robot's states behind (100 Hz; delivery
#: and callbacks lag on a loaded machine)
STATES_BEHIND = 8
#: commands the robot must receive from the policy's chunks (first_driven on; controller_rate 500 Hz)
MIN_COMMANDS = 200
PROBLEMS = ("Traceback", "terminate called", "exited with code", "exited early", "RCLError")


def _policy_test_utils():
    spec = importlib.util.spec_from_file_location(
        "hardware_graph_policy_utils", REPO_ROOT / "hint_policy" / "test" / "policy_test_utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    return utils


@pytest.fixture(scope="module")
def checkpoint_for(tmp_path_factory):
    """interface -> path of a tiny policy (seconds of training) whose dynamics model is the
    interface's: manipulator (effort), position_servo, velocity_servo; each trained once."""
    utils = _policy_test_utils()
    trained: dict[str, str] = {}

    def get(interface: str) -> str:
        if interface not in trained:
            import torch

            threads = torch.get_num_threads()
            torch.set_num_threads(1)  # a second thread only contends on this 2-core machine
            try:
                folder = tmp_path_factory.mktemp(f"hardware_{interface}")
                if interface == "effort":
                    path, _ = utils.train_tiny_arm(folder)
                else:
                    path, _ = utils.train_tiny_servo(folder, interface, home=[START[j] for j in MODEL_JOINTS])
            finally:
                torch.set_num_threads(threads)
            trained[interface] = str(path)
        return trained[interface]

    return get


class Output:
    """A process's output read on a thread, so a chatty graph never blocks on a full pipe."""

    def __init__(self, process) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=lambda: self.lines.extend(process.stdout), daemon=True)
        self._thread.start()

    def text(self, timeout: float = 5.0) -> str:
        self._thread.join(timeout)
        return "".join(self.lines)


class RobotRecord:
    """What the stand-in robot received: its JSON record, rewritten once a second."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._read_at, self._count = -math.inf, 0

    def read(self) -> dict:
        return json.loads(self.path.read_text())

    def commands_since(self, chunks, every: float = 1.0) -> int:
        """Commands received since first_driven(chunks); the file is read at most every `every` seconds."""
        if chunks and time.monotonic() - self._read_at >= every:
            self._read_at = time.monotonic()
            try:
                commands = self.read()["commands"]
            except (OSError, ValueError):  # not written yet
                return self._count
            start = first_driven(chunks)
            self._count = sum(1 for c in commands if c[0] > start)
        return self._count


def first_driven(chunks) -> float:
    """From when (wall time) the robot's commands come from `chunks` (those the probe saw) or the
    safe command: the first one's start, or, when the probe may have joined after the policy's
    first chunks (the policy sends them right after it starts), once those have run out (their
    length plus the grace period)."""
    from hint_msgs.conversions import stamp_to_seconds

    first = min(chunks, key=lambda c: c.sequence)
    start = stamp_to_seconds(first.header.stamp)
    return start if first.sequence == 1 else start + max(c.knot_period * c.length for c in chunks) + GRACE_PERIOD


def stop(process, output: Output, timeout: float = 30.0) -> tuple[int, str]:
    """SIGINT (Ctrl-C), then the exit code and everything the process printed."""
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=timeout)
    return code, output.text()


def expected_hold(model, interface: str, x: np.ndarray) -> np.ndarray:
    """What the controller commands before the first chunk (its safe command): hold the arm where
    it is, joint by joint."""
    k = len(MODEL_JOINTS)
    if interface == "position":
        return x[:k]
    if interface == "velocity":
        return np.zeros(k)
    return model.gravity_compensation(x)  # hardware.yaml: the model's own safe mode, gravity compensation


def chunk_executors(model, chunks) -> list:
    """(start, end of grace, knot period, knots, executor): one hint_controller ChunkExecutor per
    chunk the policy published (the controller's law, interpolation and grace period), the chunk
    active; chunks the executor refuses are left out."""
    from hint_controller.action_messages import action_from_msg
    from hint_controller.executor import ChunkExecutor

    executors = []
    for msg in chunks:
        executor = ChunkExecutor(model, grace_period=GRACE_PERIOD)
        action = action_from_msg(msg, max_length=1024)
        try:
            executor.submit(action)
        except ValueError:
            continue
        executor.command(action.start_time, np.zeros(model.state_dim))  # activates it
        executors.append((action.start_time, action.end_time + GRACE_PERIOD, action.period, action.length, executor))
    return executors


def matching_orders(model, interface, executors, times, states, received: float, arrays: dict) -> set:
    """The keys of `arrays` (commands in the model's order, one per reading of the received array)
    that the controller computed during the LATENCY before `received` (wall time): the safe command,
    or a chunk's law u = clip(u_ff + K (x - x_ref(t))) at some time t of that window, for one of the
    last STATES_BEHIND `states` the robot published (at `times`). Within a knot the unclipped law is
    affine in t, so t is fitted."""
    tolerance = 1e-6 * (model.input_upper - model.input_lower)
    last = bisect.bisect_right(times, received)
    recent = states[max(0, last - STATES_BEHIND):last]  # (S, n)
    lower, upper = (np.array(b) for b in zip(*(model.input_bounds(x) for x in recent), strict=True))  # (S, m)
    holds = np.array([expected_hold(model, interface, x) for x in recent])
    matched = {key for key, u in arrays.items() if (np.abs(holds - u) <= tolerance).all(axis=1).any()}
    segments = []  # (v1, slope): the unclipped law v1 + s slope, s in [0, 1] over a piece of a knot, per state
    low, high = received - LATENCY, received
    for start, end, period, length, executor in executors:
        if not (start <= high and low <= end):
            continue
        edges = [start + k * period for k in range(length + 1)] + [end]
        edges = sorted({max(low, start), high, *(e for e in edges if max(low, start) < e < high)})
        for a, b in zip(edges, edges[1:], strict=False):
            t1, t2 = a + 1e-5, max(a + 1e-5, b - 1e-5)  # off the knot boundaries (1.8e9 s: ulp 0.24 us)
            primitives = executor.primitive_at(t1), executor.primitive_at(t2)
            if None in primitives:
                continue  # past the grace period: the safe command, checked above
            v1, v2 = (u_ff + (recent - x_ref) @ gains.T for x_ref, u_ff, gains in primitives)
            segments.append((v1, v2 - v1))
    grid = np.linspace(0.0, 1.0, 5)
    for key, u in arrays.items():
        if key in matched:
            continue
        inside = (u > lower + tolerance) & (u < upper - tolerance)
        for v1, slope in segments:
            free = inside & (slope != 0)  # the time that reproduces the unclipped entries, per state
            numerator, denominator = ((u - v1) * slope * free).sum(axis=1), (slope * slope * free).sum(axis=1)
            fitted = np.clip(np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0), 0, 1)
            s_values = np.column_stack([np.broadcast_to(grid, (len(recent), len(grid))), fitted])  # (S, fits)
            law = np.clip(v1[:, None, :] + s_values[:, :, None] * slope[:, None, :], lower[:, None], upper[:, None])
            if (np.abs(law - u) <= tolerance).all(axis=2).any():
                matched.add(key)
                break
    return matched


@pytest.mark.parametrize("interface", ["effort", "position", "velocity"])
def test_hardware_graph_drives_a_ros2_control_arm(ros, spawn, checkpoint_for, tmp_path, interface):
    from hint_controller.dynamics import make_model
    from hint_controller.qos import CHUNK_QOS, STATUS_QOS
    from hint_msgs.conversions import stamp_to_seconds
    from hint_msgs.msg import CompositeAction, ControllerStatus
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import JointState

    began = time.monotonic()
    model = make_model(MODELS[interface], 0.01)
    record = RobotRecord(tmp_path / "standin.json")
    probe = ros.node("hardware_probe")
    joint_states, statuses, chunks = [0], [], []
    probe.create_subscription(JointState, "/joint_states", lambda _: joint_states.__setitem__(0, joint_states[0] + 1),
                              qos_profile_sensor_data)
    probe.create_subscription(ControllerStatus, "/controller_status", statuses.append, STATUS_QOS)
    probe.create_subscription(CompositeAction, "/composite_action", chunks.append, CHUNK_QOS)

    # the robot is up before hint is started (it starts while the policy is trained)
    standin = spawn(str(STANDIN), "--interface", interface, "--joint-names", ",".join(COMMAND_ORDER),
                    "--state-order", ",".join(STATE_ORDER), "--start", ",".join(f"{j}={v}" for j, v in START.items()),
                    "--record", str(record.path))
    standin_output = Output(standin)
    checkpoint = checkpoint_for(interface)
    trained = time.monotonic()
    assert ros.spin_until(lambda: joint_states[0] > 5 or standin.poll() is not None, 60), (
        f"no joint states from the stand-in robot:\n{standin_output.text(1)}")
    assert standin.poll() is None, standin_output.text()

    ready = time.monotonic()
    runner = spawn("-m", "hint_bringup.run", "hardware", f"checkpoint:={checkpoint}",
                   f"joint_names:=[{','.join(COMMAND_ORDER)}]", f"command_interface:={interface}",
                   f"command_topic:=/{interface}_controller/commands", "state_topic:=/joint_states",
                   "urdf_path:=arm3", "controller_rate:=500")
    runner_output = Output(runner)

    def tracking() -> bool:
        return any(s.mode == ControllerStatus.MODE_TRACKING and s.chunks_accepted >= 1 for s in statuses)

    assert ros.spin_until(lambda: tracking() or runner.poll() is not None, 120), (
        f"the controller never tracked a chunk ({len(chunks)} chunks published); graph output:\n"
        f"{runner_output.text(1)[-6000:]}")
    assert runner.poll() is None, f"the graph stopped (code {runner.returncode}):\n{runner_output.text()[-6000:]}"
    up = time.monotonic()
    # the policy drives the arm until the robot has received MIN_COMMANDS commands from the chunks
    # the probe saw, and the controller has accepted a few more chunks
    accepted = statuses[-1].chunks_accepted
    ros.spin_until(lambda: record.commands_since(chunks) >= MIN_COMMANDS and statuses[-1].chunks_accepted >= accepted + 3,
                   30)
    stopping, stopping_wall = time.monotonic(), time.time()

    runner_code, runner_text = stop(runner, runner_output)
    standin_code, standin_text = stop(standin, standin_output)
    stopped = time.monotonic()
    ros.spin_for(0.5)  # take the chunks and statuses still queued in the probe's readers
    final_status = statuses[-1]
    rates = sorted(s.command_rate_hz for s in statuses if s.mode == ControllerStatus.MODE_TRACKING)
    print(f"{interface}: trained in {trained - began:.1f} s, robot up after {ready - began:.1f} s, chunks tracked "
          f"{up - ready:.1f} s after the graph started, {len(chunks)} chunks seen, driven {stopping - up:.1f} s, "
          f"stopped in {stopped - stopping:.1f} s; controller rate while tracking "
          f"{rates[len(rates) // 2] if rates else 0:.0f} Hz (median), {final_status.chunks_accepted} chunks accepted, "
          f"{final_status.chunks_rejected} rejected {final_status.last_rejection!r}, sequences seen "
          f"{[c.sequence for c in chunks]}")
    found = [problem for problem in PROBLEMS if problem in runner_text]
    assert runner_code == 0 and not found, f"graph exit code {runner_code}, {found}:\n{runner_text[-6000:]}"
    assert standin_code == 0, standin_text

    # -- what the robot received ---------------------------------------------------------------
    received = record.read()
    assert received["ignored_wrong_size"] == 0
    commands = received["commands"]
    assert chunks, "the probe saw no composite action"
    sequences = sorted(c.sequence for c in chunks)  # with gaps: the policy drops chunks it finds invalid
    driven_from = first_driven(chunks)
    # until the probe stopped spinning: later commands may come from chunks it never took
    driven_index = [i for i, c in enumerate(commands) if driven_from < c[0] < stopping_wall]
    driven = [commands[i] for i in driven_index]
    span = driven[-1][0] - driven[0][0] if len(driven) > 1 else 0.0
    # the controller publishes at its rate; the robot, a Python node on a loaded machine, takes what
    # it can of the best-effort stream (a forward command controller also keeps only the latest)
    assert rates and rates[len(rates) // 2] > 250.0, f"controller command rate while tracking: {rates}"
    gap = max(b[0] - a[0] for a, b in itertools.pairwise(driven)) if len(driven) > 1 else math.inf
    assert len(driven) >= MIN_COMMANDS and gap < 1.0, (
        f"{len(driven)} commands in {span:.2f} s from the chunks the probe saw, at most {gap:.2f} s apart")
    arrays = np.array([c[1] for c in commands], dtype=float)
    assert arrays.shape == (len(commands), len(COMMAND_ORDER)) and np.isfinite(arrays).all()
    slots = [MODEL_JOINTS.index(j) for j in COMMAND_ORDER]
    inputs = np.empty_like(arrays)
    inputs[:, slots] = arrays  # the model's order, joint by joint name
    assert (inputs >= model.input_lower - 1e-9).all() and (inputs <= model.input_upper + 1e-9).all(), (
        f"commands outside the limits [{model.input_lower}, {model.input_upper}]")

    # before the controller can have executed a chunk (received before a status that counted none
    # accepted, or before the policy's first chunk started): the arm held where it stands, joint by joint
    waiting = max([stamp_to_seconds(s.header.stamp) for s in statuses if s.chunks_accepted == 0]
                  + [stamp_to_seconds(c.header.stamp) for c in chunks if c.sequence == 1], default=-math.inf)
    held = [(np.asarray(c[2]), u) for c, u in zip(commands, inputs, strict=True) if c[0] < waiting]
    # on a loaded machine the robot may discover the controller's publisher only after the policy's
    # first chunk started: then no command is known to be a hold (the controller node's own tests,
    # hint_controller/test/test_controller_node_joint_state.py, check the hold without a policy)
    if held:
        assert np.allclose(held[0][0][:3], [START[j] for j in MODEL_JOINTS])
    else:
        print(f"{interface}: no command known to precede every chunk ({len(commands)} commands from "
              f"{commands[0][0]:.3f}, first chunk seen {sequences[0]} from {first_driven(chunks):.3f})")
    for x, u in held:
        np.testing.assert_allclose(u, expected_hold(model, interface, x), atol=1e-6)
    moved = next((c[0] for c, u in zip(commands, inputs, strict=True)
                  if not np.allclose(u, expected_hold(model, interface, np.asarray(c[2])), atol=1e-6)), math.nan)
    print(f"{interface}: {len(held)} hold commands, the first other one {moved - driven_from:.2f} s after the first "
          f"chunk seen started")

    # every command is hint's law for a chunk (or the safe command) at a state the robot
    # published, read in joint_names order; the same arrays read in another order are not
    executors = chunk_executors(model, chunks)
    times = [t for t, _ in received["states"]]
    states = np.array([x for _, x in received["states"]])
    sample = driven[:: max(1, len(driven) // 600)]  # enough to tell, cheap to recompute
    orders = list(itertools.permutations(COMMAND_ORDER))
    hits = dict.fromkeys(orders, 0)
    telling = 0  # commands whose entries differ: another joint order would change them
    for command in sample:
        readings = {}
        for order in orders:
            readings[order] = np.empty(len(order))
            readings[order][[MODEL_JOINTS.index(j) for j in order]] = command[1]
        distinct = len({round(v, 9) for v in command[1]}) == len(command[1])
        telling += distinct
        for order in matching_orders(model, interface, executors, times, states, command[0], readings):
            hits[order] += 1 if order == COMMAND_ORDER or distinct else 0
    fractions = {order: hits[order] / (len(sample) if order == COMMAND_ORDER else max(telling, 1)) for order in orders}
    print(f"{interface}: {len(driven)} commands in {span:.2f} s (at most {gap * 1000:.0f} ms apart); of {len(sample)} "
          f"({telling} with distinct entries), recomputed when read in joint order "
          + ", ".join(f"[{','.join(o)}] {f:.2f}" for o, f in fractions.items()))
    assert fractions[COMMAND_ORDER] >= 0.9, fractions
    assert telling >= 50 and max(f for o, f in fractions.items() if o != COMMAND_ORDER) < 0.2, fractions
    if interface == "position":  # each joint is commanded near where it is (the start positions differ by >= 0.5)
        positions = np.array([c[2][:3] for c in driven])
        offsets = np.median(np.abs(inputs[driven_index] - positions), axis=0)
        assert (offsets < 0.25).all(), offsets

    # -- the controller's own account ----------------------------------------------------------
    modes = {s.mode for s in statuses}
    assert ControllerStatus.MODE_FAULT not in modes, [s.reason for s in statuses if s.mode == ControllerStatus.MODE_FAULT]
    assert final_status.chunks_accepted >= 3 and final_status.chunks_rejected == 0, (
        f"{final_status.chunks_accepted} accepted, {final_status.chunks_rejected} rejected: {final_status.last_rejection}")
    assert sum(final_status.rejection_counts) == 0 and final_status.last_rejection == ""
    executed = {s.active_sequence for s in statuses if s.mode == ControllerStatus.MODE_TRACKING}
    assert executed and {e for e in executed if e >= sequences[0]} <= set(sequences), (executed, sequences)
