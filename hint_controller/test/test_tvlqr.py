"""TVLQR synthesis oracle: agreement with Drake, long horizons, closed-loop tracking."""

import numpy as np
import pytest
from pydrake.systems.controllers import DiscreteTimeLinearQuadraticRegulator, FiniteHorizonLinearQuadraticRegulator, FiniteHorizonLinearQuadraticRegulatorOptions
from pydrake.trajectories import PiecewisePolynomial

from hint_controller.composite_action import CompositeAction
from hint_controller.dynamics.planar_quadrotor import PlanarQuadrotor, hover_to_point_trajectory
from hint_controller.dynamics.pusht_agent import PushTAgent
from hint_controller.tvlqr import (
    TVLQRConfig, chunk_controllers, make_synthesis, per_step_lqr_gains, primitive_controllers, synthesize_gains,
)


@pytest.fixture(scope="module")
def quadrotor():
    return PlanarQuadrotor()


@pytest.fixture(scope="module")
def maneuver(quadrotor):
    return hover_to_point_trajectory(quadrotor, 400)


def _drake_discrete_gains(model, states, inputs, q, r, qf):
    horizon = len(inputs)
    system = model.drake_system(discrete=True)
    times = np.arange(horizon + 1) * model.period
    options = FiniteHorizonLinearQuadraticRegulatorOptions()
    options.Qf = qf
    options.x0 = PiecewisePolynomial.FirstOrderHold(times, states.T)
    options.u0 = PiecewisePolynomial.ZeroOrderHold(times, np.vstack([inputs, inputs[-1:]]).T)
    result = FiniteHorizonLinearQuadraticRegulator(system, system.CreateDefaultContext(), 0.0, times[-1], q, r, options)
    return np.array([result.K.value(t) for t in times[:-1]]), result.S.value(0.0)


def test_agrees_with_drake_discrete_finite_horizon_lqr_on_a_short_horizon(quadrotor, maneuver):
    states, inputs = maneuver[0][:51], maneuver[1][:50]
    q, r, qf = TVLQRConfig(qf_diag=(50, 50, 50, 5, 5, 5)).matrices(quadrotor)
    ours = synthesize_gains(quadrotor, states, inputs, q, r, qf)
    drake_gains, drake_s0 = _drake_discrete_gains(quadrotor, states, inputs, q, r, qf)
    np.testing.assert_allclose(ours.gains, -drake_gains, atol=1e-9)  # K_hint = -K_drake
    np.testing.assert_allclose(ours.cost_to_go[0], drake_s0, rtol=1e-9)


def test_cost_to_go_is_symmetric_positive_definite_on_long_horizons(quadrotor):
    states, inputs = hover_to_point_trajectory(quadrotor, 1500)
    q, r, qf = TVLQRConfig().matrices(quadrotor)
    result = synthesize_gains(quadrotor, states, inputs, q, r, qf)
    p = result.cost_to_go
    assert p.shape == (1501, 6, 6) and result.gains.shape == (1500, 2, 6)
    assert np.all(p == p.transpose(0, 2, 1))
    assert np.min(np.linalg.eigvalsh(p)) > 0
    assert np.all(np.isfinite(result.gains))
    # far from the terminal time the gains settle to the infinite-horizon LQR gain of the hover it ends in
    hover_gain, _ = DiscreteTimeLinearQuadraticRegulator(*quadrotor.jacobians(states[-1], inputs[-1]), q, r)
    np.testing.assert_allclose(result.gains[1000], -hover_gain, atol=1e-6)


def test_pusht_gains_over_3000_steps_match_the_infinite_horizon_lqr():
    model = PushTAgent()
    horizon = 3000
    states = np.zeros((horizon + 1, 4))
    inputs = np.zeros((horizon, 2))
    q, r, qf = TVLQRConfig().matrices(model)
    result = synthesize_gains(model, states, inputs, q, r, qf)
    gain, s = DiscreteTimeLinearQuadraticRegulator(*model.jacobians(states[0], inputs[0]), q, r)
    np.testing.assert_allclose(result.gains[0], -gain, rtol=1e-8)
    np.testing.assert_allclose(result.cost_to_go[0], s, rtol=1e-8)
    # the default weights reproduce gym-pusht's PD law (kp = 100, kd = 20) to within discretization
    np.testing.assert_allclose(-result.gains[0][0, [0, 2]], [100.0, 20.0], rtol=0.15)


def test_closed_loop_tracks_from_a_perturbed_start_where_open_loop_diverges(quadrotor, maneuver):
    states, inputs = maneuver
    x_ref, u_ff, gains = primitive_controllers(quadrotor, states, inputs)
    x_closed = x_open = states[0] + np.array([0.3, -0.2, 0.15, 0.2, 0.0, 0.0])
    for t in range(len(inputs)):
        x_closed = quadrotor.step(x_closed, quadrotor.clamp(u_ff[t] + gains[t] @ (x_closed - x_ref[t])))
        x_open = quadrotor.step(x_open, inputs[t])
    assert np.linalg.norm(x_closed - states[-1]) < 0.02
    assert np.linalg.norm(x_open - states[-1]) > 1.0


def test_primitive_controllers_take_knots_every_stride_steps(quadrotor, maneuver):
    states, inputs = maneuver
    x_ref, u_ff, gains = primitive_controllers(quadrotor, states, inputs, stride=5)
    every_step = synthesize_gains(quadrotor, states, inputs, *TVLQRConfig().matrices(quadrotor)).gains
    assert x_ref.shape == (80, 6) and u_ff.shape == (80, 2) and gains.shape == (80, 2, 6)
    np.testing.assert_array_equal(x_ref, states[0:400:5])
    np.testing.assert_array_equal(u_ff, inputs[0:400:5])
    np.testing.assert_array_equal(gains, every_step[0:400:5])


def test_chunk_controllers_pack_consecutive_knots(quadrotor, maneuver):
    x_ref, u_ff, gains = primitive_controllers(quadrotor, *maneuver, stride=5)
    chunks = chunk_controllers(quadrotor, x_ref, u_ff, gains, knot_period=0.05, chunk_length=16, start_time=2.0)
    assert [c.sequence for c in chunks] == [1, 2, 3, 4, 5]
    assert all(isinstance(c, CompositeAction) and c.length == 16 for c in chunks)
    assert chunks[1].start_time == pytest.approx(2.8)
    np.testing.assert_array_equal(chunks[1].gains, gains[16:32])


def test_rejects_inconsistent_shapes_and_weights(quadrotor, maneuver):
    states, inputs = maneuver
    with pytest.raises(ValueError, match="select the model's columns"):
        synthesize_gains(quadrotor, np.hstack([states, states]), inputs, np.eye(6), np.eye(2))
    with pytest.raises(ValueError, match="T\\+1"):
        synthesize_gains(quadrotor, states[:-1], inputs, np.eye(6), np.eye(2))
    with pytest.raises(ValueError, match="weights"):
        TVLQRConfig(q_diag=(1.0, 1.0)).matrices(quadrotor)
    with pytest.raises(np.linalg.LinAlgError):
        synthesize_gains(quadrotor, states, inputs, np.eye(6), -np.eye(2))


def test_manipulator_default_weights_stabilize_a_swing():
    from hint_controller.dynamics.manipulator import Manipulator

    arm = Manipulator()
    horizon = 200
    states = np.empty((horizon + 1, 6))
    inputs = np.empty((horizon, 3))
    states[0] = [0.3, -0.4, 0.2, 0.0, 0.0, 0.0]
    for t in range(horizon):  # gravity compensation plus a smooth swing: a feasible reference
        inputs[t] = arm.gravity_compensation(states[t]) + 2.0 * np.sin(0.05 * t) * np.array([1.0, 0.5, 0.1])
        states[t + 1] = arm.step(states[t], inputs[t])
    x_ref, u_ff, gains = primitive_controllers(arm, states, inputs)
    x = states[0] + np.array([0.1, -0.1, 0.1, 0.0, 0.0, 0.0])
    for t in range(horizon):
        x = arm.step(x, arm.clamp(u_ff[t] + gains[t] @ (x - x_ref[t])))
    assert np.linalg.norm(x - states[-1]) < 0.01


def test_per_step_lqr_gains_are_drakes_infinite_horizon_lqr_of_each_step(quadrotor, maneuver):
    states, inputs = maneuver
    q, r = np.eye(6), np.eye(2)
    gains = per_step_lqr_gains(quadrotor, states[:41], inputs[:40], q, r)
    assert gains.shape == (40, 2, 6)
    for t in (0, 20, 39):
        a, b = quadrotor.jacobians(states[t], inputs[t])
        k_drake, _ = DiscreteTimeLinearQuadraticRegulator(a, b, q, r)
        np.testing.assert_allclose(gains[t], -k_drake, rtol=1e-6, atol=1e-8)  # hint's u = u_bar + K dx
    synthesize = make_synthesis(quadrotor, "per_step_lqr", {"q_diag": [1.0] * 6, "r_diag": [1.0, 1.0]})
    np.testing.assert_allclose(synthesize(states[:41], inputs[:40]), gains)
    with pytest.raises(ValueError, match="per_step_lqr"):
        make_synthesis(quadrotor, "lqr", {})


def test_one_builder_samples_per_step_trajectories_at_knots():
    from hint_controller.composite_action import chunk_from_knots

    steps = np.arange(12, dtype=float)
    x_ref, u_ff = steps[:, None] * np.ones((12, 2)), steps[:, None] * np.ones((12, 1))
    gains = steps[:, None, None] * np.ones((12, 1, 2))
    chunk = chunk_from_knots(x_ref, u_ff, gains, knot_period=0.05, start_time=1.0, state_names=("a", "b"),
                             input_names=("u",), sequence=3, knots=3, first=1, stride=3)
    np.testing.assert_array_equal(chunk.x_ref[:, 0], [1, 4, 7])  # rows first, first + stride, ...
    np.testing.assert_array_equal(chunk.gains[:, 0, 0], [1, 4, 7])
    np.testing.assert_array_equal(chunk.x_ref_end, [10, 10])  # the row one knot after the last
    assert (chunk.period, chunk.start_time, chunk.sequence) == (0.05, 1.0, 3)
    whole = chunk_from_knots(x_ref, u_ff, gains, knot_period=0.1, start_time=0.0, state_names=("a", "b"),
                             input_names=("u",), sequence=1, stride=5, x_ref_end=np.array([-1.0, -1.0]))
    np.testing.assert_array_equal(whole.x_ref[:, 0], [0, 5, 10])  # every row that exists
    np.testing.assert_array_equal(whole.x_ref_end, [-1, -1])  # none left: the given end
    with pytest.raises(ValueError, match="more than the 12 rows"):
        chunk_from_knots(x_ref, u_ff, gains, knot_period=0.1, start_time=0.0, state_names=("a", "b"),
                         input_names=("u",), sequence=1, knots=5, stride=3)
