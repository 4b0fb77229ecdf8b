"""The simulator's ROS-free core (hint_bringup.simulation): clock, command hold, events."""

from __future__ import annotations

import numpy as np
import pytest

from hint_controller.dynamics.pusht_agent import PushTAgent
from hint_bringup.simulation import Simulation
from hint_policy.envs.base import Env, StepInfo

class DoubleIntegratorEnv(Env):
    """A tiny Env on PushT's agent model: success once agent_x > 0.5, timeout after 6 steps."""

    name = "double_integrator"
    state_names = ("agent_x", "agent_y", "agent_vx", "agent_vy")
    input_names = ("agent_ay", "agent_ax")  # other order than the model's on purpose
    physics_period = 0.01
    control_stride = 1
    max_steps = 6
    model = PushTAgent()

    def reset(self, seed):
        self.x, self.steps = np.array([0.0, 0.0, float(seed), 0.0]), 0
        return self.x.copy()

    def step(self, u):
        self.x = self.model.step(self.x, np.asarray(u)[[1, 0]])
        self.steps += 1
        info = StepInfo(reward=min(1.0, self.x[0]), success=self.x[0] > 0.5, timeout=self.steps >= self.max_steps)
        return self.x.copy(), info

    def render(self):
        return np.zeros((4, 4, 3), np.uint8)


def make_sim(**kwargs):
    return Simulation(DoubleIntegratorEnv(), **kwargs)


def test_commands_are_matched_by_name_rejected_when_wrong_and_time_out():
    sim = make_sim(command_timeout=0.03)
    (start,) = sim.reset(0)
    assert (start.event, start.time_ns, start.episode_index) == (0, 0, 0)
    u, safe = sim.current_input()
    assert safe and np.array_equal(u, [0.0, 0.0])  # BRAKE at rest
    assert sim.set_command(["agent_ax", "agent_ay"], [2.0, 1.0]) is None
    assert np.array_equal(sim.current_input()[0], [1.0, 2.0])  # env order: agent_ay, agent_ax
    assert "do not match" in sim.set_command(["thrust_left", "thrust_right"], [1.0, 1.0])
    assert "do not match" in sim.set_command(["agent_ax", "agent_ax"], [1.0, 1.0])
    assert "non-finite" in sim.set_command(["agent_ax", "agent_ay"], [np.nan, 1.0])
    assert np.array_equal(sim.current_input()[0], [1.0, 2.0])  # the rejected ones changed nothing
    applied = [sim.step().applied_input for _ in range(5)]
    assert all(np.array_equal(a, [1.0, 2.0]) for a in applied[:4])  # held for 0.03 s
    expected_brake = sim.env.model.safe_input(sim.state, "brake")[[1, 0]]
    u, safe = sim.current_input()
    assert safe and np.allclose(u, expected_brake) and np.any(u != 0)
    assert sim.time_ns == 5 * 10_000_000


def test_episode_events_reset_and_auto_reset():
    sim = make_sim(auto_reset=True)
    sim.reset(3)
    results = [sim.step() for _ in range(6)]
    assert all(r.applied_input is not None for r in results)
    end, start = results[-1].events
    assert (end.event, end.seed, end.episode_index, end.time_ns) == (3, 3, 0, 60_000_000)  # TIMEOUT
    assert (start.event, start.seed, start.episode_index, start.time_ns) == (0, 4, 1, 70_000_000)
    # seed 4 starts at 4 px/s (0.04 px per step): too slow to succeed unless commanded
    sim.set_command(["agent_ax", "agent_ay"], [2000.0, 0.0])
    events = [e for _ in range(6) for e in sim.step().events]
    assert [e.event for e in events[:2]] == [1, 0] and events[0].score == 1.0  # SUCCESS, next START
    stop, start = sim.reset(42)
    assert (stop.event, stop.detail, start.seed, start.episode_index) == (4, "reset", 42, 3)
    assert start.time_ns == stop.time_ns + 10_000_000  # a reset takes one period


def test_idle_without_auto_reset():
    sim = make_sim(auto_reset=False)
    sim.reset(0)
    for _ in range(6):
        result = sim.step()
    assert [e.event for e in result.events] == [3]
    assert sim.step() is None and not sim.running and sim.time_ns == 70_000_000


def test_unknown_environment_is_refused():
    from hint_policy.envs import make_env

    with pytest.raises(ValueError, match="unknown environment 'mars'"):
        make_env("mars")
    assert type(make_env("hint_policy.envs.quadrotor:PlanarQuadrotorObstacleEnv")).__name__ == "PlanarQuadrotorObstacleEnv"
    with pytest.raises(TypeError, match="not a hint_policy.envs.base.Env"):
        make_env("collections:OrderedDict")


def test_commands_right_after_a_reset_are_dropped_for_reset_hold():
    sim = make_sim(command_timeout=0.1, reset_hold=0.02)
    sim.reset(0)
    assert sim.set_command(["agent_ax", "agent_ay"], [2.0, 1.0]) is None  # dropped, not an error
    u, safe = sim.current_input()
    assert safe  # the safe input holds during reset_hold
    sim.step()
    sim.step()  # 0.02 s after the reset: commands apply again
    assert sim.set_command(["agent_ax", "agent_ay"], [2.0, 1.0]) is None
    assert np.array_equal(sim.current_input()[0], [1.0, 2.0])
    with pytest.raises(ValueError, match="reset_hold"):
        make_sim(reset_hold=-1.0)
