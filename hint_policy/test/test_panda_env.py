"""The Panda reaching task behind a position interface and its expert (hint_policy.envs.panda,
PandaExpert): seeded reachable goals, servo physics, limits, success, demos through generate."""

import numpy as np
import pytest

from hint_policy.envs import make_env
from hint_policy.envs.panda import GOAL_STATE_NAMES, PandaReachEnv
from hint_policy.experts.arm_expert import PandaExpert


@pytest.fixture(scope="module")
def env():
    return make_env("panda")


def test_registered_with_the_servo_model_and_the_goal(env):
    assert isinstance(env, PandaReachEnv)
    assert env.state_names == env.model.state_names + GOAL_STATE_NAMES
    assert env.input_names == tuple(f"panda_joint{i}/position" for i in range(1, 8))
    assert (env.physics_period, env.control_stride, env.model.name) == (0.01, 5, "position_servo")


def test_seeded_starts_at_rest_with_a_reachable_distant_goal(env):
    np.testing.assert_array_equal(env.reset(7), env.reset(7))
    low, high = env.reachable_bounds()
    for seed in range(10):
        state = env.reset(seed)
        assert np.all(state[7:14] == 0.0) and np.all((state[:7] >= low) & (state[:7] <= high))
        goal = state[-3:]
        assert np.all(goal >= env.config.goal_low) and np.all(goal <= env.config.goal_high)
        assert env.goal_distance() >= env.config.min_goal_distance
        solution = env.kinematics.inverse(goal, state[:7], low, high)
        assert np.linalg.norm(env.kinematics.end_effector(solution) - goal) < 1e-3


def test_the_servo_follows_a_held_command_and_limits_end_the_episode(env):
    state = env.reset(0)
    target = state[:7] + 0.05
    for _ in range(100):
        state, info = env.step(target)
    np.testing.assert_allclose(state[:7], target, atol=1e-3)  # critically damped: settles on the command
    assert not info.collision
    state = env.reset(0)
    _, info = env.step(np.where(np.arange(7) == 0, state[0] + 2.5, state[:7]))  # a 2.5 rad jump
    assert info.collision  # joint 1 exceeds its velocity limit, as a real arm's safety would trip


def test_the_expert_reaches_every_goal_and_stops(env):
    expert = PandaExpert(env)
    demos = [expert.run_episode(seed) for seed in range(100000, 100020)]
    assert all(d.success for d in demos)
    assert max(d.extra["final_distance"] for d in demos) <= env.config.goal_tolerance
    speeds = np.abs(np.concatenate([d.states[:, 7:14] for d in demos]))
    assert np.all(speeds <= 0.8 * env.velocity_limit + 1e-6)  # the plan keeps within the velocity limits


def test_generate_writes_panda_demos(tmp_path):
    from hint_policy.demos import load_demos
    from hint_policy.experts.generate import main

    out = tmp_path / "panda.npz"
    assert main(["--env", "panda", "--num-demos", "3", "--out", str(out), "--workers", "1"]) == 0
    demos = load_demos(out)
    assert len(demos) == 3 and all(d.success and d.env == "panda" for d in demos)
