"""Experts as composite-action sources (ROS-free): chunks are the expert's own rollout with TVLQR
gains, resume where the previous chunk left off, and drive the chunk executor to success."""

from __future__ import annotations

import numpy as np
import pytest

from hint_bringup.expert_chunks import ChunkerConfig, ExpertChunker, expert_spec
from hint_controller.executor import ChunkExecutor
from hint_controller.tvlqr import TVLQRConfig, synthesize_gains
from hint_policy.envs import make_env
from hint_policy.experts.pusht_expert import PushTExpert

SEED = 21  # a short PushT expert episode (about 6 s)


@pytest.fixture(scope="module")
def pusht_chunker() -> ExpertChunker:
    return ExpertChunker("pusht")


def test_a_chunk_is_the_experts_rollout_at_the_knots_with_tvlqr_gains(pusht_chunker):
    env = make_env("pusht")
    state = env.reset(SEED)
    pusht_chunker.start(state, SEED)
    chunk = pusht_chunker.chunk(state, time=2.5)
    action = chunk.action
    assert (action.length, action.period, action.start_time) == (16, pytest.approx(0.1), 2.5)
    assert action.state_names == ("agent_x", "agent_y", "agent_vx", "agent_vy")
    assert action.input_names == ("agent_ax", "agent_ay")

    # the rollout is what the expert does from this state in an env put at it
    expert, twin = PushTExpert(), make_env("pusht")
    twin.reset(0)
    twin.set_state(state)
    x = state
    memory = expert.start(x, SEED)
    expected_states, expected_inputs = [x], []
    for _ in range(160):
        u = expert.act(memory, x)
        x, _ = twin.step(u)
        expected_states.append(x)
        expected_inputs.append(u)
    np.testing.assert_allclose(chunk.states, expected_states, atol=1e-9)
    np.testing.assert_allclose(chunk.inputs, expected_inputs, atol=1e-9)

    knots = np.arange(16) * 10
    np.testing.assert_allclose(action.x_ref, chunk.states[knots, :4])
    np.testing.assert_allclose(action.u_ff, chunk.inputs[knots])
    q, r, qf = TVLQRConfig().matrices(env.model)
    gains = synthesize_gains(env.model, chunk.states[:, :4], chunk.inputs, q, r, qf).gains
    np.testing.assert_allclose(action.gains, gains[knots])
    # PushT's agent: close to gym-pusht's PD law (kp 100, kd 20), stabilizing
    assert -110 < action.gains[0, 0, 0] < -80 and -25 < action.gains[0, 0, 2] < -15


def test_the_next_chunk_resumes_the_expert_at_the_elapsed_step(pusht_chunker):
    env = make_env("pusht")
    state = env.reset(SEED)
    pusht_chunker.start(state, SEED)
    first = pusht_chunker.chunk(state, time=1.0)
    # 0.8 s later, at the predicted state: the expert continues its own plan (up to pymunk's
    # contact caching, which a fresh placement of the bodies does not carry over)
    second = pusht_chunker.chunk(first.states[80], time=1.8)
    assert second.resumed_step == 80 and second.action.sequence == first.action.sequence + 1
    np.testing.assert_allclose(second.states[:81, :2], first.states[80:, :2], atol=0.05)
    np.testing.assert_allclose(second.inputs[:80], first.inputs[80:], atol=5.0)
    # an expert started afresh there plans anew: its inputs differ
    fresh = ExpertChunker("pusht")
    fresh.start(first.states[80], SEED)
    assert np.abs(fresh.chunk(first.states[80], time=1.8).inputs[:80] - first.inputs[80:]).max() > 100.0
    with pytest.raises(ValueError, match="before the previous chunk"):
        pusht_chunker.chunk(first.states[80], time=0.5)
    with pytest.raises(ValueError, match="finite values"):
        pusht_chunker.chunk(np.full(7, np.nan), time=2.0)


def run_closed_loop(environment: str, seed: int, exec_knots: int = 8) -> tuple[bool, int]:
    """The env stepped by the chunk executor, a new expert chunk every `exec_knots` knots."""
    env = make_env(environment)
    chunker = ExpertChunker(environment)
    executor = ChunkExecutor(env.model, grace_period=0.3, state_names=env.state_names)
    state = env.reset(seed)
    chunker.start(state, seed)
    replan = exec_knots * chunker.control_stride
    for step in range(env.max_steps):
        if step % replan == 0:
            executor.submit(chunker.chunk(state, time=step * env.physics_period).action)
        u, status = executor.command(step * env.physics_period, state)
        state, info = env.step(u)
        if info.done:
            return info.success, step + 1
    return False, env.max_steps


def test_pusht_expert_succeeds_through_the_chunk_executor():
    success, steps = run_closed_loop("pusht", SEED)
    assert success and steps < 1500


@pytest.mark.parametrize("environment", ["quadrotor", "arm"])
def test_trajectory_experts_succeed_through_the_chunk_executor(environment):
    success, steps = run_closed_loop(environment, 0)
    assert success and steps < 400


def test_unknown_environments_and_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="no expert for environment 'cartpole'"):
        expert_spec("cartpole")
    with pytest.raises(ValueError, match="chunk_length"):
        ExpertChunker("pusht", ChunkerConfig(chunk_length=0))
    with pytest.raises(RuntimeError, match="start"):
        ExpertChunker("quadrotor").chunk(np.zeros(6), 0.0)


def test_hold_chunk_keeps_the_measured_state_with_the_hold_input():
    chunker = ExpertChunker("quadrotor")
    state = make_env("quadrotor").reset(4)
    action = chunker.hold(state, time=1.5)
    assert (action.length, action.start_time, action.period) == (16, 1.5, pytest.approx(0.05))
    np.testing.assert_allclose(action.x_ref, np.tile(state, (16, 1)))
    np.testing.assert_allclose(action.u_ff, np.full((16, 2), chunker.model.hover_thrust))
    # the gains stabilize the hover: a displaced vehicle returns under u = u_ff + K (x - x_ref)
    x = state + np.array([0.1, -0.1, 0.05, 0.0, 0.0, 0.0])
    for _ in range(200):
        x = chunker.model.step(x, chunker.model.clamp(action.u_ff[0] + action.gains[0] @ (x - state)))
    assert np.abs(x - state).max() < 0.01
