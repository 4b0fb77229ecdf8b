"""Planar quadrotor obstacle env: seeded starts, collisions, success, timeout, render."""

import numpy as np

from hint_policy.envs.quadrotor import PlanarQuadrotorObstacleEnv, QuadrotorTaskConfig, passes_left


def test_seeded_starts_and_model_stepping():
    env = PlanarQuadrotorObstacleEnv()
    start = env.reset(5)
    config = env.config
    assert config.start_x[0] <= start[0] <= config.start_x[1]
    assert config.start_z[0] <= start[1] <= config.start_z[1]
    np.testing.assert_array_equal(env.reset(5), start)
    assert not np.allclose(env.reset(6), start)
    env.reset(5)
    u = np.array([2.5, 2.3])
    state, info = env.step(u)
    np.testing.assert_allclose(state, env.model.step(start, u))
    assert not info.done


def test_hover_in_goal_succeeds_and_falling_collides():
    env = PlanarQuadrotorObstacleEnv()
    hover = np.full(2, env.model.hover_thrust)
    env.reset_to(np.array([*env.config.goal_center, 0, 0, 0, 0]))
    _, info = env.step(hover)
    assert info.success and info.reward == 1.0 and not info.collision
    env.reset(0)
    for _ in range(env.max_steps):
        _, info = env.step(np.zeros(2))
        if info.done:
            break
    assert info.collision and not info.success and env.state[1] < env.config.vehicle_radius + 0.01


def test_obstacle_collision_and_timeout():
    env = PlanarQuadrotorObstacleEnv(QuadrotorTaskConfig(max_time=0.05))
    assert env.in_collision(np.array([*env.config.obstacle_center, 0, 0, 0, 0]))
    assert not env.in_collision(np.array([-2.0, 1.6, 0, 0, 0, 0]))
    env.reset(1)
    hover = np.full(2, env.model.hover_thrust)
    infos = [env.step(hover)[1] for _ in range(5)]
    assert [i.timeout for i in infos] == [False] * 4 + [True]


def test_passes_left_and_render():
    xs = np.linspace(-2, 2, 50)
    above = np.column_stack([xs, np.full(50, 2.6)])
    below = np.column_stack([xs, np.full(50, 0.6)])
    assert passes_left(above) and not passes_left(below)
    env = PlanarQuadrotorObstacleEnv()
    env.reset(0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.shape == (320, 520, 3)
    assert (frame[..., 0] > 150).any() and (frame[..., 2] > 150).any()


def test_passed_obstacle_needs_the_far_side_before_any_collision():
    env = PlanarQuadrotorObstacleEnv()
    hover = np.full(2, env.model.hover_thrust)
    # above the obstacle, flying right: past it after a few steps, nothing hit
    env.reset_to(np.array([0.6, 2.6, 0.0, 2.0, 0.0, 0.0]))
    assert env.episode_metrics() == {"passed_obstacle": 0.0}
    for _ in range(30):
        env.step(hover)
    assert env.episode_metrics() == {"passed_obstacle": 1.0}
    # straight into the obstacle: a collision first, so later positions do not count
    env.reset_to(np.array([-0.8, 1.6, 0.0, 3.0, 0.0, 0.0]))
    collided = False
    for _ in range(100):
        _, info = env.step(hover)
        collided |= info.collision
    assert collided and env.episode_metrics() == {"passed_obstacle": 0.0}
