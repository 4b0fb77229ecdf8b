"""PushT env: bit-exact agreement with gym-pusht, seeded determinism, scoring."""

import numpy as np
import pymunk
import pytest

pytest.importorskip("gym_pusht")

from gym_pusht.envs.pusht import PushTEnv as GymPushTEnv  # noqa: E402

from hint_policy.envs.pusht import GOAL_POSE, PUSHT_STATE_NAMES, PushTEnv  # noqa: E402


def _gym_state(info: dict) -> np.ndarray:
    return np.concatenate([info["pos_agent"], info["vel_agent"], info["block_pose"]])


@pytest.mark.parametrize("seed", [0, 7])
def test_step_target_reproduces_gym_pusht(seed):
    env, reference = PushTEnv(), GymPushTEnv()
    state = initial = env.reset(seed)
    observation, _ = reference.reset(seed=seed)
    np.testing.assert_array_equal(state[[0, 1, 4, 5]], observation[:4])
    rng = np.random.default_rng(seed)
    target = rng.uniform(100, 400, 2)
    rewards = []
    for k in range(60):
        if k % 8 == 0:  # sweep toward the block now and then so contact happens
            target = state[4:6] + rng.normal(0.0, 30.0, 2)
        action = target + rng.normal(0.0, 10.0, 2)
        state, info, applied = env.step_target(action)
        _, reward, _, _, gym_info = reference.step(action)
        np.testing.assert_allclose(state, _gym_state(gym_info), rtol=0, atol=1e-9)
        assert info.reward == pytest.approx(reward, abs=1e-12)
        assert applied.shape == (10, 2)
        rewards.append(reward)
    assert env.steps == 600
    # the env also scores every physics substep, so its max reward can only be higher
    assert env.max_reward >= max(rewards) - 1e-12
    assert np.linalg.norm(state[4:6] - initial[4:6]) > 5.0  # the block was actually pushed


def test_acceleration_steps_match_model_and_are_seeded():
    env = PushTEnv()
    assert env.state_names == PUSHT_STATE_NAMES
    first = env.reset(3)
    rng = np.random.default_rng(0)
    inputs = rng.normal(0.0, 300.0, (50, 2))
    states = [first]
    for u in inputs:
        state, info = env.step(u)
        states.append(state)
        assert not info.done
    states = np.array(states)
    # the agent follows the controlled-subsystem model exactly
    agent = env.controlled_state(states.T).T
    np.testing.assert_allclose(env.model.rollout(agent[0], inputs), agent, atol=1e-9)
    # same seed, same inputs -> same trajectory; other seed -> other start
    again = [env.reset(3)] + [env.step(u)[0] for u in inputs]
    np.testing.assert_array_equal(np.array(again), states)
    assert not np.allclose(env.reset(4), first)


def test_set_state_goal_pose_scores_success_and_render():
    env = PushTEnv()
    env.reset(0)
    goal_state = np.array([60.0, 60.0, 0.0, 0.0, *GOAL_POSE])
    env.set_state(goal_state)
    np.testing.assert_allclose(env.state, goal_state, atol=1e-9)
    assert env.coverage() == pytest.approx(1.0, abs=1e-6)
    state, info = env.step(np.zeros(2))
    assert info.success and info.reward == pytest.approx(1.0)
    env.set_state(np.array([60.0, 60.0, 0.0, 0.0, 256.0, 256.0, GOAL_POSE[2] + np.pi / 2]))
    assert env.reward() < 0.6 and not env.is_success()
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.shape == (512, 512, 3)
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 3


def test_episode_times_out_after_300_control_steps():
    env = PushTEnv()
    env.reset(1)
    assert env.max_steps == 3000
    info = None
    for _ in range(300):
        _, info, _ = env.step_target(np.array([30.0, 30.0]))
    assert info.timeout and env.steps == 3000


@pytest.mark.parametrize("reverse", [False, True])
def test_coverage_does_not_depend_on_the_order_of_the_block_shapes(monkeypatch, reverse):
    # pymunk's body.shapes is a set ordered by object address: gym-pusht's coverage of this pose
    # is 0.6739963051759581 or ...579 depending on which bar comes first
    state = np.array([60.0, 60.0, 0.0, 0.0, 258.5146044218679, 253.35790273417396, 0.9775249585304329])
    reference = PushTEnv()
    reference.reset(0)
    reference.set_state(state)
    expected = reference.coverage()
    listed = pymunk.Body.shapes

    def shapes_in_order(body):
        shapes = list(listed.fget(body))
        return shapes[::-1] if reverse else shapes

    monkeypatch.setattr(pymunk.Body, "shapes", property(shapes_in_order))
    env = PushTEnv()
    env.reset(0)
    env.set_state(state)
    assert env.coverage() == expected


def test_near_goal_starts_put_the_block_near_the_goal_within_their_coverage_range_and_repeat_by_seed():
    from hint_policy.envs import make_env

    env = make_env("pusht_near_goal")
    starts = env.starts
    for seed in range(5):
        state = env.reset(seed)
        assert starts.coverage_range[0] <= env.coverage() < starts.coverage_range[1]
        assert np.all(np.abs(state[4:6] - GOAL_POSE[:2]) <= starts.position_offset)
        assert abs(state[6] - GOAL_POSE[2]) <= starts.angle_offset
        assert np.hypot(*(state[:2] - state[4:6])) >= starts.agent_clearance
        assert np.all(state[2:4] == 0.0) and env.steps == 0 and env.max_reward == env.reward()
        np.testing.assert_array_equal(env.reset(seed), state)
    assert not np.array_equal(env.reset(0), env.reset(1))
