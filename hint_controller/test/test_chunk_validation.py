"""The executor core's chunk limits at their edges: extreme periods and values, future stamps,
the queue bound, near-future chunks; the limits themselves."""

import numpy as np
import pytest

from hint_controller.chunk_validation import ChunkLimits, ChunkRejected, ChunkValidator
from hint_controller.composite_action import CompositeAction
from hint_controller.dynamics.manipulator import Manipulator
from hint_controller.dynamics.planar_quadrotor import PlanarQuadrotor
from hint_controller.dynamics.pusht_agent import PushTAgent
from hint_controller.executor import ChunkExecutor, ExecutorMode

MODEL = PushTAgent()
NOW = 100.0


def chunk(start_time=NOW, length=10, period=0.1, sequence=1, x_ref=None, u_ff=None, gains=None):
    x_ref = np.tile([200.0, 300.0, 0.0, 0.0], (length, 1)) if x_ref is None else x_ref
    u_ff = np.zeros((length, 2)) if u_ff is None else u_ff
    if gains is None:
        gains = np.zeros((length, 2, 4))
        gains[:, 0, 0] = gains[:, 1, 1] = -100.0
        gains[:, 0, 2] = gains[:, 1, 3] = -20.0
    return CompositeAction(x_ref, u_ff, gains, period, start_time, MODEL.state_names, MODEL.input_names, sequence)


def rejected(executor, action, now=NOW) -> str:
    with pytest.raises(ChunkRejected) as info:
        executor.submit(action, now=now)
    return info.value.reason


@pytest.mark.parametrize("period", [5e-324, 1e-308])
def test_tiny_knot_periods_are_rejected_and_later_valid_chunks_run(period):
    executor = ChunkExecutor(MODEL)
    assert rejected(executor, chunk(period=period, sequence=1)) == "knot_period"
    executor.submit(chunk(start_time=NOW + 0.05, sequence=2), now=NOW)
    for t in np.arange(NOW, NOW + 3.0, 0.01):  # before, during and 1.8 s after (the 1e-308 crash time)
        u, status = executor.command(t, np.array([200.0, 300.0, 0.0, 0.0]))
        assert np.isfinite(u).all()
    _, status = executor.command(NOW + 0.5, np.zeros(4))
    assert status.active_sequence == 2


@pytest.mark.parametrize("period", [5e-324, 1e-308])
def test_the_knot_index_never_overflows_even_when_limits_let_a_tiny_period_through(period):
    permissive = ChunkLimits(min_knot_period=period, max_future=1e9, max_age=1e9)
    executor = ChunkExecutor(MODEL, grace_period=0.2, limits=permissive)
    executor.submit(chunk(period=period), now=NOW)
    modes = {executor.command(t, np.zeros(4))[1].mode for t in (NOW, NOW + 1e-9, NOW + 0.1, NOW + 1.8, NOW + 1e6)}
    assert modes <= {ExecutorMode.TRACKING, ExecutorMode.HOLDING, ExecutorMode.SAFE, ExecutorMode.FAULT}
    assert executor.command(NOW + 1.0, np.zeros(4))[1].mode is ExecutorMode.SAFE  # ended at once


@pytest.mark.parametrize("field, reason", [("x_ref", "x_ref"), ("u_ff", "u_ff"), ("gains", "gains")])
def test_huge_finite_values_are_rejected_naming_the_field_and_value(field, reason):
    action = chunk()
    arrays = {"x_ref": action.x_ref.copy(), "u_ff": action.u_ff.copy(), "gains": action.gains.copy()}
    arrays[field].flat[1] = 1e300
    executor = ChunkExecutor(MODEL)
    with pytest.raises(ChunkRejected, match="1e\\+300") as info:
        executor.submit(chunk(**arrays), now=NOW)
    assert info.value.reason == reason and field in str(info.value)
    assert executor.chunks_rejected == 1 and executor.active is None


@pytest.mark.parametrize("length, period, reason", [(1, 1e300, "knot_period"), (1, 11.0, "knot_period"), (1000, 1.0, "duration")])
def test_chunks_that_never_end_are_rejected(length, period, reason):
    assert rejected(ChunkExecutor(MODEL), chunk(length=length, period=period)) == reason


@pytest.mark.parametrize("ahead", [2.0, 1e6])
def test_future_stamps_are_rejected(ahead):
    executor = ChunkExecutor(MODEL)
    assert rejected(executor, chunk(start_time=NOW + ahead)) == "future"
    executor.submit(chunk(start_time=NOW + 0.9), now=NOW)  # within max_future (1 s)
    assert rejected(executor, chunk(start_time=NOW - 10.0)) == "stale"


def test_the_pending_queue_is_bounded_dropping_the_oldest():
    executor = ChunkExecutor(MODEL, limits=ChunkLimits(max_future=1e6), max_pending=8)
    for i in range(300):  # far-future chunks of 1024 knots, each later than the one before
        executor.submit(chunk(start_time=NOW + 10.0 + i, length=1024, period=0.01, sequence=i + 1), now=NOW)
    assert len(executor._queue) == 8 and executor.chunks_dropped == 292
    assert [c.sequence for c in executor._queue] == list(range(293, 301))
    _, status = executor.command(NOW + 10.0 + 299, np.zeros(4))
    assert status.active_sequence == 300


def test_a_near_future_chunk_does_not_block_the_next_valid_one():
    executor = ChunkExecutor(MODEL)
    executor.submit(chunk(start_time=NOW + 0.9, sequence=7), now=NOW)  # junk-ish, near future
    # while it waits for its start, a later arrival that starts earlier replaces it
    executor.submit(chunk(start_time=NOW + 0.05, sequence=8), now=NOW + 0.1)
    _, status = executor.command(NOW + 0.95, np.zeros(4))
    assert status.active_sequence == 8 and status.knot_index == 9
    assert executor.chunks_superseded == 1
    # a started chunk hands over to the next one at that one's start ...
    executor.submit(chunk(start_time=NOW + 0.96, sequence=9), now=NOW + 0.96)
    assert executor.command(NOW + 0.97, np.zeros(4))[1].active_sequence == 9
    # ... and is not replaced by one that starts before it (planned from an older observation)
    assert rejected(executor, chunk(start_time=NOW + 0.5, sequence=10), now=NOW + 0.97) == "older_than_active"
    _, status = executor.command(NOW + 0.98, np.zeros(4))
    assert status.active_sequence == 9 and status.knot_index == 0
    assert executor.chunks_rejected == 1 and executor.chunks_superseded == 1


def test_a_later_arrival_supersedes_pending_chunks_that_start_after_it():
    executor = ChunkExecutor(MODEL)
    executor.submit(chunk(start_time=NOW + 0.2, sequence=1), now=NOW)
    executor.submit(chunk(start_time=NOW + 0.6, sequence=2), now=NOW)
    executor.submit(chunk(start_time=NOW + 0.4, sequence=3), now=NOW)  # replaces 2, keeps 1 until it starts
    assert [c.sequence for c in executor._queue] == [1, 3]
    assert executor.command(NOW + 0.3, np.zeros(4))[1].active_sequence == 1
    assert executor.command(NOW + 0.7, np.zeros(4))[1].active_sequence == 3


def test_gain_bound_is_the_operator_norm():
    validator = ChunkValidator(MODEL, ChunkLimits(max_gain_norm=100.0))
    x_ref, u_ff = np.zeros((2, 4)), np.zeros((2, 2))
    gains = np.zeros((2, 2, 4))
    gains[:, 0, 0] = gains[:, 1, 1] = 90.0  # Frobenius norm 127 over each knot, operator norm 90
    validator.check_values(1, x_ref, u_ff, gains)
    gains[1, 0, 1] = 90.0  # operator norm of knot 1 now above 100
    with pytest.raises(ChunkRejected, match="gains\\[1\\] operator norm"):
        validator.check_values(1, x_ref, u_ff, gains)


def test_bounds_come_from_the_model_widened_by_the_margin():
    validator = ChunkValidator(MODEL, ChunkLimits(bound_margin=0.5))
    np.testing.assert_allclose(validator.state_lower, [-256, -256, -4000, -4000])
    np.testing.assert_allclose(validator.state_upper, [768, 768, 4000, 4000])
    np.testing.assert_allclose(validator.input_upper, [2e5, 2e5])
    assert validator.min_knot_period == pytest.approx(MODEL.period / 10)
    quadrotor, arm = PlanarQuadrotor(), Manipulator()
    for model in (quadrotor, arm):
        lower, upper = model.state_bounds()
        assert lower.shape == upper.shape == (model.state_dim,) and np.all(np.isfinite(lower)) and np.all(lower < upper)
    np.testing.assert_allclose(arm.state_bounds()[1], [3.14, 2.6, 2.6, 6.0, 8.0, 10.0])  # the URDF's limits


@pytest.mark.parametrize("bad", [
    {"max_future": 0.0}, {"max_gain_norm": float("nan")}, {"min_knot_period": -1.0}, {"bound_margin": -0.1},
    {"min_knot_period": 20.0}, {"max_knots": 0}, {"max_duration": float("inf")},
])
def test_bad_limits_are_refused_at_start(bad):
    with pytest.raises(ValueError):
        ChunkLimits(**bad)


def test_max_contraction_is_off_by_default_and_when_on_rejects_uncertified_or_expanding_chunks():
    import dataclasses

    from hint_controller.composite_action import Certificate
    from hint_controller.stability import certified

    ChunkExecutor(MODEL).submit(chunk(), now=NOW)  # no certificate needed by default
    executor = ChunkExecutor(MODEL, limits=ChunkLimits(max_contraction=1.0))
    assert rejected(executor, chunk(sequence=1)) == "certificate"
    assert rejected(executor, dataclasses.replace(chunk(sequence=2), certificate=Certificate(1.2, 3.0, 0.1))) == "certificate"
    good = certified(MODEL, chunk(sequence=3))  # PD-like gains: the 1 s chunk contracts
    assert good.certificate.contraction < 1.0
    executor.submit(good, now=NOW)
    assert executor.chunks_accepted == 1 and executor.chunks_rejected == 2
    with pytest.raises(ValueError, match="max_contraction"):
        ChunkLimits(max_contraction=-1.0)
