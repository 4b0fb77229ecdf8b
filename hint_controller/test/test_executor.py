"""ChunkExecutor: knot selection, interpolation, take-over, grace period, safety."""

import dataclasses

import numpy as np
import pytest

from hint_controller.composite_action import CompositeAction, Interpolation
from hint_controller.dynamics.planar_quadrotor import PlanarQuadrotor, hover_to_point_trajectory
from hint_controller.dynamics.pusht_agent import PushTAgent, pd_acceleration
from hint_controller.chunk_validation import ChunkLimits, ChunkRejected
from hint_controller.executor import ChunkExecutor, ExecutorMode
from hint_controller.stability import closed_loop
from hint_controller.tvlqr import chunk_controllers, primitive_controllers

STATE_NAMES = PushTAgent.state_names
INPUT_NAMES = PushTAgent.input_names


def _chunk(start_time=1.0, length=3, sequence=1, interpolation=Interpolation.LINEAR, gain=-2.0):
    x_ref = np.arange(length * 4, dtype=float).reshape(length, 4)
    u_ff = np.arange(length * 2, dtype=float).reshape(length, 2) + 10.0
    gains = np.zeros((length, 2, 4))
    gains[:, 0, 0] = gains[:, 1, 1] = gain
    return CompositeAction(x_ref, u_ff, gains, 0.1, start_time, STATE_NAMES, INPUT_NAMES, sequence, 0.0, interpolation)


@pytest.fixture
def executor():
    return ChunkExecutor(PushTAgent(), grace_period=0.2)


def test_waits_with_the_safe_input_before_the_first_chunk_starts(executor):
    x = np.array([0.0, 0.0, 1.0, -1.0])
    u, status = executor.command(0.0, x)
    assert status.mode is ExecutorMode.WAITING and status.active_sequence == 0
    np.testing.assert_allclose(u, [-20.0, 20.0])  # PushT defaults to BRAKE
    executor.submit(_chunk(start_time=1.0))
    _, status = executor.command(0.99, x)
    assert status.mode is ExecutorMode.WAITING


def test_an_active_chunk_ahead_of_the_loops_clock_is_held_at_its_first_knot(executor):
    """A loop in another process takes the node's schedule; its own clock may lag the node's."""
    node = ChunkExecutor(PushTAgent(), grace_period=0.2)
    chunk = _chunk(start_time=1.0)
    node.submit(chunk)
    node.advance(1.05)
    active, pending = node.schedule()
    executor.load_schedule(active, pending, node.episode_start)
    x = np.array([5.0, 6.0, 7.0, 8.0])
    u, status = executor.command(0.75, x)  # 2.5 knot periods before the chunk's start
    assert status.mode is ExecutorMode.TRACKING and status.knot_index == 0
    np.testing.assert_allclose(u, chunk.u_ff[0] + chunk.gains[0] @ (x - chunk.x_ref[0]))


@pytest.mark.parametrize("interpolation", [Interpolation.LINEAR, Interpolation.ZERO_ORDER_HOLD])
def test_tracking_applies_the_knot_controller_with_interpolated_reference(executor, interpolation):
    chunk = _chunk(interpolation=interpolation)
    executor.submit(chunk)
    x = np.array([5.0, 6.0, 7.0, 8.0])
    t = 1.0 + 0.1 * 1 + 0.025  # knot 1, a quarter into its interval
    u, status = executor.command(t, x)
    fraction = 0.25 if interpolation is Interpolation.LINEAR else 0.0
    x_ref = chunk.x_ref[1] + fraction * (chunk.x_ref[2] - chunk.x_ref[1])
    np.testing.assert_allclose(u, chunk.u_ff[1] + chunk.gains[1] @ (x - x_ref))
    assert status.mode is ExecutorMode.TRACKING and status.knot_index == 1 and status.active_sequence == 1
    assert status.tracking_error == pytest.approx(np.linalg.norm(x - x_ref))


def test_last_knot_interpolates_toward_x_ref_end_then_holds_it_in_the_grace_period(executor):
    chunk = dataclasses.replace(_chunk(), x_ref_end=np.array([20.0, 30.0, 40.0, 50.0]))
    executor.submit(chunk)
    x = np.array([1.0, 2.0, 3.0, 4.0])
    u, status = executor.command(1.25, x)  # half-way through the last knot (1.2 .. 1.3)
    assert status.mode is ExecutorMode.TRACKING and status.knot_index == 2
    np.testing.assert_allclose(u, chunk.u_ff[2] + chunk.gains[2] @ (x - 0.5 * (chunk.x_ref[2] + chunk.x_ref_end)))
    u, status = executor.command(1.45, x)  # past the end (1.3), within the 0.2 s grace period
    assert status.mode is ExecutorMode.HOLDING and status.knot_index == 2
    np.testing.assert_allclose(u, chunk.u_ff[2] + chunk.gains[2] @ (x - chunk.x_ref_end))
    u, status = executor.command(1.51, x)
    assert status.mode is ExecutorMode.SAFE
    np.testing.assert_allclose(u, [-60.0, -80.0])


def test_without_x_ref_end_the_last_knot_follows_the_models_extrapolation(executor):
    chunk = _chunk()
    executor.submit(chunk)
    model = PushTAgent()
    x_end = model.rollout(chunk.x_ref[2], np.tile(chunk.u_ff[2], (10, 1)))[-1]  # 0.1 s = 10 model steps
    x = np.array([1.0, 2.0, 3.0, 4.0])
    u, _ = executor.command(1.25, x)
    np.testing.assert_allclose(u, chunk.u_ff[2] + chunk.gains[2] @ (x - 0.5 * (chunk.x_ref[2] + x_end)))
    zoh = ChunkExecutor(model, grace_period=0.2)
    zoh.submit(dataclasses.replace(chunk, interpolation=Interpolation.ZERO_ORDER_HOLD))
    np.testing.assert_allclose(zoh.command(1.45, x)[0], chunk.u_ff[2] + chunk.gains[2] @ (x - chunk.x_ref[2]))


def _pd_demo(model: PushTAgent, steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """gym-pusht's PD law toward a random target changed every 10 steps: an input that decays
    within each 10-step knot, as the PushT expert's does."""
    rng = np.random.default_rng(seed)
    states, inputs = [np.array([250.0, 250.0, 0.0, 0.0])], []
    for t in range(steps):
        if t % 10 == 0:
            target = rng.uniform(100.0, 400.0, size=2)
        inputs.append(pd_acceleration(states[-1], target))
        states.append(model.step(states[-1], inputs[-1]))
    return np.array(states), np.array(inputs)


def _demo(name: str):
    if name == "planar_quadrotor":
        model = PlanarQuadrotor()
        return (model, *hover_to_point_trajectory(model, 480))
    model = PushTAgent()
    return (model, *_pd_demo(model, 480))


def _relative_replay_error(states: np.ndarray, demo_states: np.ndarray) -> float:
    """max over the replay of |x - x_demo| / the demo's range of that coordinate."""
    span = np.ptp(demo_states, axis=0)
    return float(np.max(np.abs(states - demo_states) / np.where(span > 0, span, 1.0)))


@pytest.mark.parametrize("name", ["planar_quadrotor", "pusht_agent"])
@pytest.mark.parametrize("stride", [1, 5, 10])
def test_full_chunk_replay_of_a_demos_own_chunks_reproduces_the_demo(name, stride):
    """Chunks of 16 knots of `stride` model steps each, carrying one primitive per model step,
    run to their ends back to back from the demo's start: the demo, to rounding."""
    model, states, inputs = _demo(name)
    chunks = chunk_controllers(model, *primitive_controllers(model, states, inputs), knot_period=model.period,
                               chunk_length=16 * stride, final_state=states[-1])
    assert len(chunks) >= 3 and all(c.x_ref_end is not None for c in chunks)
    run = closed_loop(model, chunks, states[0])
    np.testing.assert_allclose(run.inputs, np.clip(inputs, model.input_lower, model.input_upper), rtol=1e-12, atol=1e-9)
    assert _relative_replay_error(run.states, states) < 1e-9
    # mid-tick commands (a 500 Hz controller between 100 Hz steps) follow the reference's line
    executor = ChunkExecutor(model)
    executor.submit(chunks[0])
    midway = 0.5 * (states[3] + states[4])
    np.testing.assert_allclose(executor.command(3.5 * model.period, midway)[0], inputs[3], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ["planar_quadrotor", "pusht_agent"])
def test_knot_rate_chunks_cannot_reproduce_inputs_that_change_within_a_knot(name):
    """Why exact chunks carry a primitive per model step: 16-knot chunks at stride 10 hold u_ff
    over each knot, and the demo's input changes inside it."""
    model, states, inputs = _demo(name)
    chunks = chunk_controllers(model, *primitive_controllers(model, states, inputs, stride=10),
                               knot_period=10 * model.period, chunk_length=16, final_state=states[-1])
    run = closed_loop(model, chunks, states[0])
    assert _relative_replay_error(run.states, states) > 1e-3


def test_newer_chunk_takes_over_at_its_start_time(executor):
    executor.submit(_chunk(start_time=1.0, length=10, sequence=1))
    executor.submit(_chunk(start_time=1.5, length=3, sequence=2, gain=0.0))
    x = np.zeros(4)
    assert executor.command(1.45, x)[1].active_sequence == 1
    u, status = executor.command(1.5, x)
    assert status.active_sequence == 2 and status.knot_index == 0
    np.testing.assert_allclose(u, [10.0, 11.0])
    # a later arrival that starts at the active chunk's start supersedes it (latest arrival wins)
    executor.submit(_chunk(start_time=1.5, length=10, sequence=3))
    _, status = executor.command(1.55, x)
    assert status.active_sequence == 3 and status.knot_index == 0
    assert executor.chunks_accepted == 3 and executor.chunks_rejected == 0 and executor.chunks_superseded == 1


def test_a_chunk_starting_before_the_active_one_is_rejected_and_the_active_one_keeps_running(executor):
    executor.submit(_chunk(start_time=1.0, length=10, sequence=1))
    x = np.zeros(4)
    before, _ = executor.command(1.25, x)
    with pytest.raises(ChunkRejected, match="chunk 2: start_time 0.900000 s is before the start 1.000000 s of the "
                                            "active chunk 1") as rejected:
        executor.submit(_chunk(start_time=0.9, length=10, sequence=2, gain=0.0))
    assert rejected.value.reason == "older_than_active"
    assert (executor.chunks_accepted, executor.chunks_rejected, executor.chunks_superseded) == (1, 1, 0)
    assert executor.last_rejection.startswith("chunk 2")
    u, status = executor.command(1.25, x)
    assert status.active_sequence == 1 and status.knot_index == 2
    np.testing.assert_array_equal(u, before)


def test_a_pending_chunk_that_has_started_by_now_counts_as_active():
    executor = ChunkExecutor(PushTAgent(), limits=ChunkLimits(max_age=10.0))
    executor.submit(_chunk(start_time=1.0, length=10, sequence=1), now=1.0)
    executor.command(1.0, np.zeros(4))
    executor.submit(_chunk(start_time=1.3, length=10, sequence=2), now=1.2)  # pending: no tick since it started
    with pytest.raises(ChunkRejected, match="active chunk 2") as rejected:
        executor.submit(_chunk(start_time=1.2, length=10, sequence=3), now=1.35)
    assert rejected.value.reason == "older_than_active"
    # without `now` the active chunk is the one of the latest tick (sequence 1): a later start is taken
    executor.submit(_chunk(start_time=1.2, length=10, sequence=4))
    assert executor.command(1.35, np.zeros(4))[1].active_sequence == 4


def test_ticks_at_floating_point_knot_times_select_that_knot():
    executor = ChunkExecutor(PushTAgent())
    executor.submit(_chunk(start_time=0.8, length=10))
    # (0.8 + 0.7) - 0.8 = 0.7 and 0.7 / 0.1 = 6.999999999999999 in floating point
    _, status = executor.command(0.8 + 7 * 0.1, np.zeros(4))
    assert status.knot_index == 7


def test_late_chunk_starts_at_the_knot_of_the_current_time(executor):
    executor.submit(_chunk(start_time=1.0, length=5))
    _, status = executor.command(1.32, np.zeros(4))
    assert status.knot_index == 3


def test_rejects_chunks_for_another_robot_and_reorders_permuted_names(executor):
    quadrotor = PlanarQuadrotor()
    alien = CompositeAction(np.zeros((2, 6)), np.zeros((2, 2)), np.zeros((2, 2, 6)), 0.1, 0.0, quadrotor.state_names, quadrotor.input_names)
    with pytest.raises(ValueError, match="state names"):
        executor.submit(alien)
    assert executor.chunks_rejected == 1 and "state names" in executor.last_rejection
    chunk = _chunk()
    order = [2, 0, 3, 1]
    permuted = dataclasses.replace(
        chunk,
        x_ref=chunk.x_ref[:, order],
        gains=chunk.gains[:, ::-1][:, :, order],
        u_ff=chunk.u_ff[:, ::-1],
        state_names=tuple(STATE_NAMES[i] for i in order),
        input_names=INPUT_NAMES[::-1],
    )
    reference = ChunkExecutor(PushTAgent())
    reference.submit(chunk)
    executor.submit(permuted)
    x = np.array([3.0, 1.0, 4.0, 1.0])
    np.testing.assert_allclose(executor.command(1.15, x)[0], reference.command(1.15, x)[0])


def test_selects_model_states_from_a_full_state_by_name():
    full_names = ("block_x", "agent_x", "agent_y", "block_y", "agent_vx", "agent_vy", "block_theta")
    executor = ChunkExecutor(PushTAgent(), state_names=full_names)
    chunk = _chunk()
    executor.submit(chunk)
    agent = np.array([5.0, 6.0, 7.0, 8.0])
    full = np.array([100.0, 5.0, 6.0, 200.0, 7.0, 8.0, 0.5])
    u, _ = executor.command(1.0, full)
    np.testing.assert_allclose(u, chunk.u_ff[0] + chunk.gains[0] @ (agent - chunk.x_ref[0]))


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_non_finite_state_gives_a_finite_safe_command_and_outputs_are_clamped():
    quadrotor = PlanarQuadrotor()
    executor = ChunkExecutor(quadrotor)
    states, inputs = hover_to_point_trajectory(quadrotor, 20)
    (chunk,) = chunk_controllers(quadrotor, *primitive_controllers(quadrotor, states, inputs), knot_period=0.01, chunk_length=20)
    executor.submit(chunk)
    u, status = executor.command(0.05, np.array([np.nan, 0, 0, 0, 0, 0]))
    assert status.mode is ExecutorMode.SAFE and "non-finite" in status.reason
    np.testing.assert_allclose(u, quadrotor.safe_input(np.zeros(6), "hover"))
    u, status = executor.command(0.05, np.array([0.0, -1e6, 0, 0, 0, 0]))  # far below: full thrust, clamped
    assert status.mode is ExecutorMode.TRACKING
    np.testing.assert_allclose(u, quadrotor.input_upper)
    u, _ = executor.command(0.05, np.array([0.0, 1e308, 0, 0, 1e308, 0]))
    assert np.all(np.isfinite(u))


def test_executing_tvlqr_chunks_tracks_a_maneuver_from_a_perturbed_start():
    quadrotor = PlanarQuadrotor()
    states, inputs = hover_to_point_trajectory(quadrotor, 400)
    chunks = chunk_controllers(quadrotor, *primitive_controllers(quadrotor, states, inputs, stride=5), knot_period=0.05, chunk_length=16)
    executor = ChunkExecutor(quadrotor, grace_period=0.05)
    for chunk in chunks:
        executor.submit(chunk)
    x = states[0] + np.array([0.2, -0.2, 0.1, 0.0, 0.0, 0.0])
    for step in range(400):
        u, status = executor.command(step * quadrotor.period, x)
        x = quadrotor.step(x, u)
    assert status.mode is ExecutorMode.TRACKING and status.active_sequence == 5
    assert np.linalg.norm(x - states[-1]) < 0.05


def test_reset_before_drops_only_earlier_chunks():
    executor = ChunkExecutor(PushTAgent())
    old = _chunk(start_time=0.0, length=20, sequence=0)
    new = _chunk(start_time=2.0, length=3, sequence=1)
    executor.submit(old)
    executor.command(0.5, np.zeros(4))
    executor.submit(new)
    executor.reset(before=1.0)  # an episode started at t = 1: the old chunk goes, the new one stays
    assert executor.active is None
    executor.command(1.5, np.zeros(4))
    assert executor.active is None  # nothing to execute until the new chunk starts (safe input)
    executor.command(2.0, np.zeros(4))
    assert executor.active is new
    executor.reset()
    assert executor.active is None


def test_a_chunk_planned_before_the_episode_start_is_refused_when_it_arrives_after():
    """A sample still running at a reset was conditioned on the old episode's state: executed on
    the teleported robot it would jump (a position-servoed arm collides)."""
    executor = ChunkExecutor(PushTAgent())
    executor.reset(before=1.0)
    with pytest.raises(ChunkRejected, match="before the episode start") as rejected:
        executor.submit(_chunk(start_time=0.9, length=20, sequence=3))
    assert rejected.value.reason == "previous_episode" and executor.chunks_rejected == 1
    executor.submit(_chunk(start_time=1.0, length=20, sequence=4))  # the new episode's first chunk
    executor.command(1.0, np.zeros(4))
    assert executor.active.sequence == 4
