"""Manipulator: symbolic MultibodyPlant dynamics agree with Drake's numeric plant."""

import numpy as np
import pytest

from hint_controller.dynamics.base import SafeMode
from hint_controller.dynamics.manipulator import Manipulator
from dynamics_test_utils import central_difference_jacobians


@pytest.fixture(scope="module")
def arm():
    return Manipulator()


def test_names_and_limits_come_from_the_urdf(arm):
    assert arm.name == "manipulator" and arm.robot_name == "hint_arm3"
    assert arm.state_names == (
        "joint1/position", "joint2/position", "joint3/position",
        "joint1/velocity", "joint2/velocity", "joint3/velocity",
    )
    assert arm.input_names == ("joint1/effort", "joint2/effort", "joint3/effort")
    np.testing.assert_allclose(arm.input_upper, [50.0, 20.0, 5.0])
    np.testing.assert_allclose(arm.input_lower, -arm.input_upper)
    np.testing.assert_allclose(arm.position_upper, [3.14, 2.6, 2.6])


def test_continuous_dynamics_match_drake_time_derivatives(arm):
    plant = arm.plant
    context = plant.CreateDefaultContext()
    rng = np.random.default_rng(0)
    for _ in range(5):
        x, u = rng.normal(size=6), rng.uniform(-4, 4, 3)
        plant.SetPositionsAndVelocities(context, x)
        plant.get_actuation_input_port().FixValue(context, u)
        expected = plant.EvalTimeDerivatives(context).CopyToVector()
        np.testing.assert_allclose(arm.continuous_dynamics(x, u), expected, atol=1e-10)


def test_jacobians_match_central_differences_of_step(arm):
    rng = np.random.default_rng(2)
    x, u = rng.normal(size=6), rng.uniform(-3, 3, 3)
    a, b = arm.jacobians(x, u)
    a_fd, b_fd = central_difference_jacobians(arm, x, u)
    np.testing.assert_allclose(a, a_fd, atol=1e-7)
    np.testing.assert_allclose(b, b_fd, atol=1e-7)


def test_gravity_compensation_holds_the_arm_still(arm):
    x = np.array([0.3, -0.5, 0.2, 0.0, 0.0, 0.0])
    u = arm.safe_input(x, SafeMode.GRAVITY_COMPENSATION)
    held = x.copy()
    for _ in range(50):
        held = arm.step(held, u)
    np.testing.assert_allclose(held, x, atol=1e-10)
    fallen = x.copy()
    for _ in range(50):
        fallen = arm.step(fallen, arm.safe_input(fallen, SafeMode.ZERO))
    assert np.linalg.norm(fallen[:3] - x[:3]) > 0.1
    assert np.all(np.isfinite(arm.safe_input(np.full(6, np.nan), SafeMode.GRAVITY_COMPENSATION)))
