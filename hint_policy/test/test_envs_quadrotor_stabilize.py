"""The Figure 5 stabilization task (paper setting) and its iLQR MPC expert."""

import numpy as np
import pytest

from hint_policy.envs import make_env
from hint_policy.envs.quadrotor_stabilize import QuadrotorStabilizeEnv
from hint_policy.experts.stabilize_expert import StabilizeExpert


def test_starts_are_uniform_in_the_papers_box_and_seeded():
    env = make_env("quadrotor_stabilize")
    starts = np.array([env.reset(seed) for seed in range(200)])
    assert np.all(np.abs(starts) <= [2.0, 2.0, 1.0, 3.0, 3.0, 0.3])
    assert np.all(np.abs(starts).max(axis=0) > 0.9 * np.array([2.0, 2.0, 1.0, 3.0, 3.0, 0.3]))
    np.testing.assert_array_equal(env.reset(7), starts[7])
    assert (env.physics_period, env.control_stride, env.max_steps) == (0.05, 1, 100)


def test_reward_is_exp_of_the_papers_cost_and_success_is_judged_at_the_end():
    env = QuadrotorStabilizeEnv()
    start = np.array([0.5, -0.2, 0.1, 0.3, 0.0, 0.1])
    env.reset_to(start)
    u = np.array([9.0, 0.4])
    state, info = env.step(u)
    cost = np.sum(start**2) + 0.5 * ((9.0 - 0.8 * 9.8) ** 2 + 0.2 * 0.4**2)
    assert info.reward == pytest.approx(np.exp(-cost))
    np.testing.assert_allclose(state, env.model.step(start, u))
    assert not info.done
    env.reset_to(np.zeros(6))
    hover = np.array([0.8 * 9.8, 0.0])
    for _ in range(env.max_steps - 1):
        _, info = env.step(hover)
        assert not info.done and info.reward == 1.0
    _, info = env.step(hover)
    assert info.done and info.timeout and info.success
    assert env.episode_metrics() == {"total_reward": 100.0, "reached_origin": 1.0, "final_distance": 0.0}
    assert env.render().shape == (480, 480, 3)


def test_ilqr_mpc_expert_brings_a_hard_start_to_the_origin():
    env = QuadrotorStabilizeEnv()
    expert = StabilizeExpert(env)
    demo = expert.run_episode(100003)
    assert demo.success and demo.horizon == env.max_steps
    assert demo.extra["final_distance"] < env.config.origin_radius
    # the MPC does better than hovering in place from the same start (reward of doing nothing)
    env.reset(100003)
    idle = sum(env.step(np.array([0.8 * 9.8, 0.0]))[1].reward for _ in range(env.max_steps))
    assert demo.extra["total_reward"] > idle + 10
    np.testing.assert_allclose(env.model.rollout(demo.states[0], demo.inputs), demo.states, atol=1e-9)
