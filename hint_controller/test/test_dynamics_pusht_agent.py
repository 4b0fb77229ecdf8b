"""PushTAgent: the discrete model reproduces gym-pusht's kinematic agent exactly."""

import numpy as np
import pytest

from hint_controller.dynamics.base import SafeMode
from hint_controller.dynamics.pusht_agent import KD, PushTAgent, pd_acceleration


def test_step_matches_gym_pusht_agent_exactly(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    gym = pytest.importorskip("gymnasium")
    pytest.importorskip("gym_pusht")
    env = gym.make("gym_pusht/PushT-v0", obs_type="state")
    env.reset(seed=3)
    agent = env.unwrapped.agent
    model = PushTAgent()
    x = np.r_[np.array(agent.position), np.array(agent.velocity)]
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(40):
        target = rng.uniform(0, 512, 2).astype(np.float32)
        for _ in range(10):  # gym-pusht's ten 0.01 s substeps per control step
            x = model.step(x, pd_acceleration(x, target))
        env.step(target)
        measured = np.r_[np.array(agent.position), np.array(agent.velocity)]
        worst = max(worst, float(np.max(np.abs(x - measured))))
    env.close()
    assert worst < 1e-9


def test_semi_implicit_euler_and_constant_jacobians():
    model = PushTAgent(period=0.01)
    x, u = np.array([10.0, 20.0, 3.0, -4.0]), np.array([100.0, -50.0])
    np.testing.assert_allclose(model.step(x, u), [10.0 + 0.01 * 4.0, 20.0 + 0.01 * -4.5, 4.0, -4.5])
    a, b = model.jacobians(x, u)
    np.testing.assert_allclose(model.step(x, u), a @ x + b @ u)
    a_t, b_t = model.trajectory_jacobians(np.zeros((6, 4)), np.zeros((5, 2)))
    assert a_t.shape == (5, 4, 4) and np.all(a_t == a) and np.all(b_t == b)


def test_continuous_dynamics_is_a_double_integrator():
    model = PushTAgent()
    np.testing.assert_allclose(model.continuous_dynamics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([5.0, 6.0])), [3.0, 4.0, 5.0, 6.0])


def test_brake_safe_input_stops_the_agent_and_zero_does_not():
    model = PushTAgent()
    braked = np.array([100.0, 100.0, 300.0, -200.0])
    coasting = braked.copy()
    for _ in range(100):
        braked = model.step(braked, model.safe_input(braked, SafeMode.BRAKE))
        coasting = model.step(coasting, model.safe_input(coasting, SafeMode.ZERO))
    assert np.linalg.norm(braked[2:]) < 1e-6 * 360
    np.testing.assert_allclose(coasting[2:], [300.0, -200.0])
    np.testing.assert_allclose(model.safe_input(np.array([0, 0, 1.0, 2.0]), "brake"), [-KD, -2 * KD])
    assert np.all(np.isfinite(model.safe_input(np.array([0, 0, np.nan, np.inf]), SafeMode.BRAKE)))


def test_limits_cover_gym_pusht_pd_accelerations():
    model = PushTAgent()
    worst = np.abs(pd_acceleration(np.array([0.0, 0.0, -1900.0, -1900.0]), np.array([512.0, 512.0])))
    assert np.all(worst <= model.input_upper)
    with pytest.raises(ValueError):
        model.safe_input(np.zeros(4), SafeMode.HOVER)
