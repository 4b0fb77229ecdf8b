"""Arm reaching env and its expert: seeded starts, Manipulator dynamics, kinematics against Drake,
success / collision / timeout, rendering, expert demos and the generate CLI."""

import dataclasses

import numpy as np
import pytest

from hint_policy.demos import load_demos
from hint_policy.envs import ENV_NAMES, make_env
from hint_policy.envs.arm import GOAL_STATE_NAMES, ArmReachEnv, ArmTaskConfig
from hint_policy.experts.arm_expert import ArmExpert, inverse_dynamics, minimum_jerk


@pytest.fixture(scope="module")
def env():
    return ArmReachEnv()


@pytest.fixture(scope="module")
def expert(env):
    return ArmExpert(env)


def at_rest_on(env: ArmReachEnv, q: np.ndarray) -> np.ndarray:
    """The full state of the arm at rest at q with the goal point on its end effector."""
    return np.concatenate([q, np.zeros(3), env.kinematics.end_effector(q)])


def test_registered_with_the_model_state_and_the_goal(env):
    assert "arm" in ENV_NAMES and isinstance(make_env("arm"), ArmReachEnv)
    assert env.state_names == env.model.state_names + GOAL_STATE_NAMES
    assert env.input_names == ("joint1/effort", "joint2/effort", "joint3/effort")
    assert (env.physics_period, env.control_stride, env.knot_period) == (0.01, 5, 0.05)
    assert env.kinematics.link_lengths == (0.5, 0.4, 0.3)


def test_a_non_planar_urdf_is_refused(tmp_path):
    from hint_controller.dynamics.manipulator import DEFAULT_URDF

    text = DEFAULT_URDF.read_text()
    joint2 = text.index('<joint name="joint2"')
    tilted = tmp_path / "tilted.urdf"
    tilted.write_text(text[:joint2] + text[joint2:].replace('<axis xyz="0 1 0"/>', '<axis xyz="0 0 1"/>', 1))
    with pytest.raises(ValueError, match="joint joint2 must be revolute about y"):
        ArmReachEnv(ArmTaskConfig(urdf_path=str(tilted)))


def test_seeded_starts_at_rest_within_limits_with_a_distant_goal(env):
    start = env.reset(3)
    np.testing.assert_array_equal(env.reset(3), start)
    assert not np.allclose(env.reset(4)[-2:], start[-2:])
    fraction = env.config.configuration_fraction
    for seed in range(20):
        state = env.reset(seed)
        assert np.all(state[3:6] == 0.0)
        assert np.all(np.abs(state[:3]) <= fraction * env.joint_upper)
        assert env.goal_distance() >= env.config.min_goal_distance
        assert np.linalg.norm(state[-2:]) <= sum(env.kinematics.link_lengths)
        np.testing.assert_array_equal(env.controlled_state(state), state[:6])


def test_steps_are_the_manipulator_step_with_clamped_efforts(env):
    start = env.reset(5)
    u = np.array([80.0, -3.0, 1.0])  # joint1 beyond its 50 N m limit
    state, info = env.step(u)
    np.testing.assert_allclose(state[:6], env.model.step(start[:6], np.array([50.0, -3.0, 1.0])))
    np.testing.assert_array_equal(state[-2:], start[-2:])  # the goal stays
    assert not info.done and 0.0 <= info.reward < 1.0


def test_end_effector_matches_drake_and_inverse_kinematics_round_trips(env):
    plant = env.model.plant
    context = plant.CreateDefaultContext()
    tip = plant.GetFrameByName("link3")
    rng = np.random.default_rng(0)
    for q in rng.uniform(-2.5, 2.5, (5, 3)):
        plant.SetPositions(context, q)
        point = plant.CalcPointsPositions(context, tip, np.array([[0.3], [0.0], [0.0]]), plant.world_frame()).ravel()
        np.testing.assert_allclose(env.kinematics.end_effector(q), point[[0, 2]], atol=1e-12)
        for elbow in (1.0, -1.0):
            solutions, reachable = env.kinematics.inverse(point[[0, 2]], np.linspace(-np.pi, np.pi, 12), elbow)
            assert reachable.any() and np.all(np.isnan(solutions[~reachable]))
            np.testing.assert_allclose(env.kinematics.end_effector(solutions[reachable]), np.tile(point[[0, 2]], (reachable.sum(), 1)), atol=1e-9)
            assert np.all(np.sign(solutions[reachable, 1]) == elbow)
    assert not env.kinematics.inverse(np.array([1.5, 0.0]), np.array([0.0]), 1.0)[1].any()  # beyond reach


def test_success_needs_the_goal_at_rest_and_limits_are_collisions(env):
    q = np.array([0.4, -1.0, 0.8])
    env.reset_to(at_rest_on(env, q))
    _, info = env.step(env.model.gravity_compensation(env.state[:6]))
    assert info.success and info.reward == 1.0 and not info.collision
    moving = at_rest_on(env, q)
    moving[3] = 0.5  # on the goal point, too fast
    env.reset_to(moving)
    _, info = env.step(env.model.gravity_compensation(moving[:6]))
    assert not info.success and info.reward < 1.0 and env.goal_distance() < env.config.goal_tolerance
    beyond = at_rest_on(env, np.array([0.0, 2.59, 0.0]))
    beyond[4] = 5.0  # joint2 runs past its 2.6 rad limit
    env.reset_to(beyond)
    _, info = env.step(np.zeros(3))
    assert info.collision and not info.success
    with pytest.raises(ValueError, match="expected 8 finite values"):
        env.reset_to(np.zeros(6))


def test_timeout_and_progress_reward():
    short = ArmReachEnv(ArmTaskConfig(max_time=0.03))
    state = short.reset(1)
    infos = [short.step(short.model.gravity_compensation(state[:6]))[1] for _ in range(3)]
    assert [i.timeout for i in infos] == [False, False, True]
    assert all(0.0 <= i.reward < 0.05 for i in infos)  # held in place: no progress
    assert short.episode_metrics()["final_distance"] == pytest.approx(short.goal_distance())


def test_render_draws_the_arm_and_the_goal(env):
    env.reset(0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.shape == (528, 528, 3)
    assert (np.abs(frame.astype(int) - (70, 70, 70)).sum(-1) == 0).any()  # links
    assert (np.abs(frame.astype(int) - (34, 139, 34)).sum(-1) == 0).any()  # goal marker


def test_minimum_jerk_and_inverse_dynamics(env):
    times = np.linspace(0.0, 2.0, 201)
    q, v, a = minimum_jerk(np.array([0.0, 1.0, -1.0]), np.array([1.0, 0.0, 0.5]), 2.0, times)
    np.testing.assert_allclose(q[[0, -1]], [[0.0, 1.0, -1.0], [1.0, 0.0, 0.5]])
    np.testing.assert_allclose(v[[0, -1]], 0.0, atol=1e-12)
    np.testing.assert_allclose(a[[0, -1]], 0.0, atol=1e-12)
    np.testing.assert_allclose(np.gradient(q, times, axis=0)[1:-1], v[1:-1], atol=1e-3)
    states = np.concatenate([q, v], axis=1)
    efforts = inverse_dynamics(env.model, states, a)
    np.testing.assert_allclose(env.model.continuous_dynamics(states, efforts)[:, 3:], a, atol=1e-9)


def test_expert_demos_succeed_and_replay(env, expert):
    elbows = set()
    for seed in range(3):
        demo = expert.run_episode(seed)
        assert demo.success and demo.env == "arm" and demo.period == 0.01 and demo.seed == seed
        assert demo.state_names == env.state_names and demo.input_names == env.input_names
        assert np.all(np.abs(demo.inputs) <= env.model.input_upper)
        assert demo.extra["final_distance"] <= env.config.goal_tolerance
        elbows.add(demo.extra["elbow"])
        replay = ArmReachEnv()
        replay.reset(seed)
        replayed = [replay.step(u)[0] for u in demo.inputs]
        np.testing.assert_allclose(replayed, demo.states[1:])
    assert elbows <= {"positive", "negative"}


def test_expert_takes_the_other_elbow_when_the_drawn_one_has_no_solution(env, expert):
    q = np.array([0.3, 1.2, 0.5])
    point = env.kinematics.end_effector(q)
    narrow = ArmExpert(env, dataclasses.replace(expert.config, limit_margin=2.5))  # |q2|, |q3| <= 0.1
    with pytest.raises(ValueError, match="no IK solution"):
        narrow.goal_configuration(q, point, elbow_positive=True)
    solution, positive = expert.goal_configuration(np.zeros(3), point, elbow_positive=False)
    assert not positive and solution[1] < 0
    np.testing.assert_allclose(env.kinematics.end_effector(solution), point, atol=1e-9)


def test_generate_cli_writes_arm_demos(tmp_path):
    from hint_policy.experts.generate import main

    out = tmp_path / "arm.npz"
    assert main(["--env", "arm", "--num-demos", "2", "--out", str(out), "--workers", "1"]) == 0
    demos = load_demos(out)
    assert len(demos) == 2 and all(d.success and d.env == "arm" for d in demos)
