"""Planar quadrotors: Drake-derived dynamics, RK4 (rotor thrusts) and Euler (thrust and torque)
discretizations and their exact Jacobians."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from hint_controller.dynamics import make_model
from hint_controller.dynamics.base import SafeMode
from hint_controller.dynamics.planar_quadrotor import PlanarQuadrotor, ThrustTorqueQuadrotor, hover_to_point_trajectory
from dynamics_test_utils import central_difference_jacobians


@pytest.fixture(scope="module")
def model():
    return PlanarQuadrotor()


def _hand_dynamics(x, u, m=0.486, length=0.25, inertia=0.00383, g=9.81):
    return np.array([x[3], x[4], x[5], -np.sin(x[2]) * u.sum() / m, np.cos(x[2]) * u.sum() / m - g, length * (u[0] - u[1]) / inertia])


def test_continuous_dynamics_match_the_equations(model):
    rng = np.random.default_rng(0)
    for _ in range(5):
        x, u = rng.normal(size=6), rng.uniform(0, 5, 2)
        np.testing.assert_allclose(model.continuous_dynamics(x, u), _hand_dynamics(x, u), rtol=1e-12, atol=1e-12)


def test_step_is_a_fourth_order_accurate_zoh_integration(model):
    x, u = np.array([0.1, -0.2, 0.4, 0.5, 0.3, -1.0]), np.array([1.0, 3.5])  # aggressive: 160 rad/s^2

    def error(period):
        exact = solve_ivp(lambda t, s: _hand_dynamics(s, u), (0, period), x, rtol=1e-13, atol=1e-13).y[:, -1]
        return np.max(np.abs(PlanarQuadrotor(period=period).step(x, u) - exact))

    assert error(0.01) < 1e-6
    assert error(0.01) / error(0.005) > 20  # local error O(h^5): 32x per halving


def test_hover_is_an_equilibrium_and_the_safe_input(model):
    hover = model.safe_input(np.zeros(6), SafeMode.HOVER)
    np.testing.assert_allclose(hover, np.full(2, 0.486 * 9.81 / 2))
    np.testing.assert_allclose(model.step(np.zeros(6), hover), np.zeros(6), atol=1e-14)
    assert np.all(model.input_lower == 0) and np.all(model.input_upper > hover)


def test_jacobians_match_central_differences_of_step(model):
    rng = np.random.default_rng(1)
    x, u = rng.normal(size=6), rng.uniform(1, 3, 2)
    a, b = model.jacobians(x, u)
    a_fd, b_fd = central_difference_jacobians(model, x, u)
    np.testing.assert_allclose(a, a_fd, atol=1e-8)
    np.testing.assert_allclose(b, b_fd, atol=1e-8)


def test_trajectory_jacobians_equal_per_step_jacobians(model):
    states, inputs = hover_to_point_trajectory(model, 30)
    a, b = model.trajectory_jacobians(states, inputs)
    assert a.shape == (30, 6, 6) and b.shape == (30, 6, 2)
    for t in (0, 17, 29):
        a_t, b_t = model.jacobians(states[t], inputs[t])
        np.testing.assert_allclose(a[t], a_t, atol=1e-13)
        np.testing.assert_allclose(b[t], b_t, atol=1e-13)


def test_drake_discrete_system_equals_step(model):
    system = model.drake_system(discrete=True)
    context = system.CreateDefaultContext()
    x, u = np.array([0.3, 0.1, -0.2, 0.0, 1.0, 2.0]), np.array([2.0, 2.6])
    context.SetDiscreteState(x)
    system.get_input_port().FixValue(context, u)
    update = system.EvalUniquePeriodicDiscreteUpdate(context).get_vector().CopyToVector()
    np.testing.assert_allclose(update, model.step(x, u), atol=1e-12)


def test_hover_to_point_trajectory_reaches_the_target(model):
    states, inputs = hover_to_point_trajectory(model, 600, target=(1.0, 0.5))
    np.testing.assert_allclose(states[-1, :2], [1.0, 0.5], atol=1e-3)
    np.testing.assert_allclose(model.rollout(states[0], inputs), states)


# --------------------------------------------------------------------------- thrust and torque inputs


def _thrust_torque_dynamics(x, u, m=0.8, inertia=0.5, g=9.8):
    return np.array([x[3], x[4], x[5], -np.sin(x[2]) * u[0] / m, np.cos(x[2]) * u[0] / m - g, u[1] / inertia])


def test_thrust_torque_model_is_the_papers_euler_step():
    model = make_model("quadrotor_thrust_torque", period=0.05)
    assert isinstance(model, ThrustTorqueQuadrotor) and model.input_names == ("thrust", "torque")
    rng = np.random.default_rng(2)
    for _ in range(5):
        x, u = rng.normal(size=6), np.array([rng.uniform(0, 20), rng.normal()])
        np.testing.assert_allclose(model.continuous_dynamics(x, u), _thrust_torque_dynamics(x, u), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(model.step(x, u), x + 0.05 * _thrust_torque_dynamics(x, u), rtol=1e-12, atol=1e-12)


def test_thrust_torque_jacobians_are_exact_and_batched():
    model = ThrustTorqueQuadrotor()
    rng = np.random.default_rng(3)
    states, inputs = rng.normal(size=(5, 6)), np.column_stack([rng.uniform(5, 10, 4), rng.normal(size=4)])
    a, b = model.trajectory_jacobians(states, inputs)
    assert a.shape == (4, 6, 6) and b.shape == (4, 6, 2)
    a_fd, b_fd = central_difference_jacobians(model, states[2], inputs[2])
    np.testing.assert_allclose(a[2], a_fd, atol=1e-8)
    np.testing.assert_allclose(b[2], b_fd, atol=1e-8)


def test_thrust_torque_hover_is_an_equilibrium_and_the_safe_input():
    model = ThrustTorqueQuadrotor()
    hover = model.safe_input(np.zeros(6), SafeMode.HOVER)
    np.testing.assert_allclose(hover, [0.8 * 9.8, 0.0])
    np.testing.assert_allclose(model.step(np.zeros(6), hover), np.zeros(6), atol=1e-14)
    np.testing.assert_allclose(model.clamp(np.array([-1.0, 99.0])), [0.0, 50.0])
