"""Servoed joints (position / velocity command interfaces): exact discretization, TVLQR on them,
and identification of the servo parameters from a step response."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from hint_controller.dynamics import make_model
from hint_controller.dynamics.servo import JointServo, fit_position_step, fit_velocity_step, position_step_response
from hint_controller.tvlqr import TVLQRConfig, primitive_controllers
from dynamics_test_utils import central_difference_jacobians


def test_position_servo_step_is_the_exact_zero_order_hold_of_the_second_order_law():
    servo = JointServo(["a", "b"], "position", period=0.01, natural_frequency=[15.0, 30.0], damping=[0.7, 1.0])
    assert servo.state_names == ("a/position", "b/position", "a/velocity", "b/velocity")
    assert servo.input_names == ("a/position", "b/position")
    x, u = np.array([0.1, -0.2, 0.5, 0.0]), np.array([0.4, 0.3])

    def law(t, s):
        q, v = s[:2], s[2:]
        return np.r_[v, np.array([15.0, 30.0]) ** 2 * (u - q) - 2 * np.array([0.7, 1.0]) * np.array([15.0, 30.0]) * v]

    exact = solve_ivp(law, (0, 0.01), x, rtol=1e-12, atol=1e-12).y[:, -1]
    np.testing.assert_allclose(servo.step(x, u), exact, atol=1e-9)
    a, b = servo.jacobians(x, u)
    a_fd, b_fd = central_difference_jacobians(servo, x, u)
    np.testing.assert_allclose(a, a_fd, atol=1e-8)
    np.testing.assert_allclose(b, b_fd, atol=1e-8)
    # holding the command at the position is an equilibrium, and the safe input holds the joints
    np.testing.assert_allclose(servo.step(np.r_[0.3, 0.1, 0, 0], [0.3, 0.1]), [0.3, 0.1, 0, 0], atol=1e-14)
    np.testing.assert_allclose(servo.safe_input(np.r_[0.3, 0.1, 1.0, 1.0], "zero"), [0.3, 0.1])


def test_velocity_servo_and_the_urdf_limits():
    servo = make_model("velocity_servo", period=0.01)  # the shipped three-link arm's joints
    assert servo.input_names == ("joint1/velocity", "joint2/velocity", "joint3/velocity")
    assert np.all(np.isfinite(servo.input_upper)) and np.all(servo.input_upper > 0)
    x = np.zeros(6)
    u = np.array([1.0, -0.5, 0.2])
    for _ in range(100):  # 1 s = 20 time constants
        x = servo.step(x, u)
    np.testing.assert_allclose(x[3:], u, atol=1e-6)
    np.testing.assert_allclose(servo.safe_input(x, "zero"), 0.0)
    with pytest.raises(ValueError, match="interface"):
        JointServo(["a"], "effort")


def test_tvlqr_gains_on_a_lightly_damped_position_servo_cut_the_tracking_error():
    """The servo alone converges back to the reference (it is stable) but rings; the TVLQR primitive
    controllers, optimal for this linear plant, lower the LQR cost and damp the position error."""
    servo = JointServo(["a", "b", "c"], "position", period=0.01, natural_frequency=8.0, damping=0.2)
    steps = 200
    t = np.arange(steps) * 0.01
    commands = np.column_stack([0.5 * np.sin(2 * t), 0.3 * np.cos(3 * t), 0.2 * t])
    states = servo.rollout(np.r_[0.0, 0.3, 0.0, 0, 0, 0], commands)
    config = TVLQRConfig()
    q, r, _ = config.matrices(servo)
    x_ref, u_ff, gains = primitive_controllers(servo, states, commands, config)
    start = states[0] + np.r_[0.2, -0.2, 0.1, 0, 0, 0]
    costs, position_errors = {}, {}
    for label, use_gains in (("closed", True), ("open", False)):
        x, cost, error = start.copy(), 0.0, 0.0
        for k in range(steps):
            du = gains[k] @ (x - x_ref[k]) if use_gains else np.zeros(3)
            cost += (x - x_ref[k]) @ q @ (x - x_ref[k]) + du @ r @ du
            x = servo.step(x, u_ff[k] + du)
            error += np.linalg.norm(x[:3] - states[k + 1, :3])
        costs[label], position_errors[label] = cost, error
    assert costs["closed"] < 0.5 * costs["open"]
    assert position_errors["closed"] < 0.5 * position_errors["open"]


def test_servo_parameters_are_identified_from_a_noisy_step_response():
    rng = np.random.default_rng(0)
    times = np.arange(1, 61) * 0.005
    positions = position_step_response(times, 0.2, 25.0, 0.6) + rng.normal(0, 2e-4, len(times))
    wn, zeta = fit_position_step(times, positions, 0.2)
    assert wn == pytest.approx(25.0, rel=0.02) and zeta == pytest.approx(0.6, rel=0.03)
    velocities = 0.5 * (1 - np.exp(-times / 0.04)) + rng.normal(0, 1e-3, len(times))
    assert fit_velocity_step(times, velocities, 0.5) == pytest.approx(0.04, rel=0.03)
    with pytest.raises(ValueError, match="non-zero step"):
        fit_position_step(times, positions, 0.0)


def test_position_commands_are_bounded_so_the_servo_never_passes_its_velocity_limit():
    """input_bounds narrows the commands around the measured state: from rest the largest step,
    e v_max / wn, peaks exactly at v_max; a command held at the bound while moving never passes
    it (a plain step bound would: the servo's steady speed is wn step / 2 zeta); the executor
    clips a chunk's jump to the bound."""
    from hint_controller.composite_action import CompositeAction
    from hint_controller.executor import ChunkExecutor

    for damping in (0.5, 1.0, 2.0):
        servo = JointServo(["a"], "position", period=0.001, natural_frequency=20.0, damping=damping,
                           position_limits=([-30.0], [30.0]), velocity_limits=[2.0])
        x = np.array([0.0, 0.0])
        speeds = []
        for _ in range(3000):  # always command as far ahead as allowed
            x = servo.step(x, servo.input_bounds(x)[1])
            speeds.append(x[1])
        assert max(speeds) <= 2.0 * (1 + 1e-3) and speeds[-1] > 1.9, damping
    servo = JointServo(["a"], "position", period=0.001, natural_frequency=20.0, damping=1.0,
                       position_limits=([-3.0], [3.0]), velocity_limits=[2.0])
    step = np.e * 2.0 / 20.0
    x, peak = np.array([0.0, 0.0]), 0.0
    for _ in range(500):  # the largest step from rest, held: its peak speed is the limit
        x = servo.step(x, np.array([step]))
        peak = max(peak, abs(x[1]))
    assert peak == pytest.approx(2.0, rel=1e-3)
    np.testing.assert_allclose(servo.input_bounds(np.array([2.9, 0.0])), ([2.9 - step], [3.0]))  # and the limit
    jump = CompositeAction(np.zeros((4, 2)), np.full((4, 1), 0.9), np.zeros((4, 1, 2)), 0.005, 0.0,
                           servo.state_names, servo.input_names)
    executor = ChunkExecutor(servo)
    executor.submit(jump)
    u, _ = executor.command(0.0, np.array([0.2, 0.0]))
    assert u[0] == pytest.approx(0.2 + step)  # not 0.9: the jump would trip the velocity limit
    velocity = JointServo(["a"], "velocity", velocity_limits=[2.0])
    np.testing.assert_allclose(velocity.input_bounds(np.array([0.2, 0.0])), ([-2.0], [2.0]))
