"""Closed-loop evaluation (hint_policy.evaluate) in the PushT simulator."""

import json
import types

import numpy as np
import pytest

from hint_controller.composite_action import CompositeAction
from hint_controller.dynamics.pusht_agent import KD, KP, pd_acceleration
from hint_policy.config import HintConfig, config_from_dict
from hint_policy.envs import make_env
from hint_policy.envs.pusht import PUSHT_INPUT_NAMES, PUSHT_STATE_NAMES
from hint_policy.evaluate import evaluate_policy, main, make_eval_fn
from hint_policy.inference import PolicyMemory
from hint_policy.train import train
from policy_test_utils import one_torch_thread, pd_demo  # noqa: F401  (autouse fixture)

AGENT = PUSHT_STATE_NAMES[:4]


class PDPolicy(PolicyMemory):
    """Stands in for HintPolicy (with the real policy memory): every chunk is gym-pusht's PD law
    toward a fixed target."""

    def __init__(self, target, chunk_length=4, obs_steps=2, input_range=None):
        self.target = np.asarray(target, dtype=float)
        self.range = input_range
        self.chunk_length, self.obs_steps, self.control_stride = chunk_length, obs_steps, 10
        self.layout = types.SimpleNamespace(physics_period=0.01)
        self.obs_state_names, self.input_names = PUSHT_STATE_NAMES, PUSHT_INPUT_NAMES
        self.seen = []
        self.begin_episodes(1)

    def input_range(self):
        return self.range

    def act_batch(self, states, inputs, times, previous=None):
        self.seen.append((states[0].copy(), inputs[0].copy(), times[0]))
        gains = np.array([[-KP, 0, -KD, 0], [0, -KP, 0, -KD]])
        return [CompositeAction(np.tile(np.r_[self.target, 0, 0], (self.chunk_length, 1)),
                                np.zeros((self.chunk_length, 2)), np.tile(gains, (self.chunk_length, 1, 1)),
                                0.1, t, AGENT, PUSHT_INPUT_NAMES) for t in times]


def test_loop_executes_primitives_and_feeds_back_knot_observations():
    policy = PDPolicy(target=(100.0, 400.0))
    summary = evaluate_policy(policy, lambda: make_env("pusht"), [3], exec_knots=3)
    episode = summary.episodes[0]
    assert episode.steps == 3000 and not episode.success
    assert episode.policy_calls == len(policy.seen) == 100  # 3000 steps / (3 knots x 10 steps)
    first_states, first_inputs, first_time = policy.seen[0]
    assert first_states.shape == (1, 7) and not first_inputs.any() and first_time == 0.0
    states, inputs, time = policy.seen[1]
    assert states.shape == (2, 7) and time == pytest.approx(0.3)
    # the input reported with a knot state is the PD input of the physics step that led to it
    u, dt = inputs[-1], 0.01
    velocity_before = states[-1, 2:4] - u * dt
    position_before = states[-1, :2] - states[-1, 2:4] * dt
    np.testing.assert_allclose(u, pd_acceleration(np.r_[position_before, velocity_before], (100.0, 400.0)),
                               rtol=1e-6, atol=1e-6)
    assert np.abs(u).max() > 1.0
    np.testing.assert_allclose(policy.seen[-1][0][-1, :4], (100.0, 400.0, 0, 0), atol=1e-3)
    assert np.all(np.abs(policy.seen[-1][1][-1]) < 1e-2)
    with pytest.raises(ValueError, match="exec_knots"):
        evaluate_policy(policy, lambda: make_env("pusht"), [3], exec_knots=5)


def pd_demos(count, horizon=200):
    """The agent driven from random starts to (400, 100) with the block resting at its start pose."""
    rng = np.random.default_rng(2)
    block = np.array([256.0, 300.0, 0.0])
    return [pd_demo(np.r_[rng.uniform(100, 400, 2), 0, 0], block, (400.0, 100.0), horizon) for _ in range(count)]


def test_training_hook_and_command_line_evaluate_a_trained_policy(tmp_path):
    config = config_from_dict(HintConfig, {
        "data": {"dynamics": "pusht_agent", "control_stride": 10, "obs_steps": 2, "chunk_length": 8},
        "model": {"denoiser": "mlp", "mlp_hidden": 32, "mlp_blocks": 1, "step_embed_dim": 8},
        "diffusion": {"train_steps": 10},
        "train": {"steps": 4, "batch_size": 16, "out_dir": str(tmp_path), "progress": False},
        "eval": {"every_steps": 4, "env": "pusht", "episodes": 2, "exec_knots": 8, "sampler_steps": 2},
    })
    result = train(config, demos=pd_demos(3), eval_fn=make_eval_fn(config))  # what the command line passes
    records = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    evals = [r for r in records if r.get("event") == "eval"]
    assert len(evals) == 1 and evals[0]["episodes"] == 2.0 and 0 <= evals[0]["mean_score"] <= 1
    out = tmp_path / "eval.json"
    assert main(["--checkpoint", str(result.checkpoint), "--episodes", "2", "--sampler-steps", "2",
                 "--out", str(out), "--sigma", "0.1"]) == 0
    report = json.loads(out.read_text())
    assert report["env"] == "pusht" and report["sigma"] == 0.1 and len(report["episodes"]) == 2
    assert all(e["steps"] == 3000 or e["success"] for e in report["episodes"])
    # the reward at every knot, for episode_traces: one per 10 physics steps, the last equal to the score if it
    # was the best (a timed-out episode's score is the best reward over physics steps, at least every knot's)
    for episode in report["episodes"]:
        assert len(episode["reward_trace"]) == episode["steps"] // 10
        assert max(episode["reward_trace"]) <= episode["score"] + 1e-12


def test_handover_jumps_are_measured_at_each_replanning_after_the_first():
    steady = evaluate_policy(PDPolicy(target=(100.0, 400.0), input_range=np.array([1000.0, 1000.0])),
                             lambda: make_env("pusht"), [3], exec_knots=3)
    episode = steady.episodes[0]
    # every chunk is the same PD law: switching to the next one does not change the command
    assert len(episode.handover_jumps) == episode.policy_calls - 1
    assert max(episode.handover_jumps) < 1e-9 and steady.metrics["handover_jump_p95"] < 1e-9
    assert len(episode.knot_jumps) == episode.steps // 10 - 1 and steady.metrics["knot_jump_p95"] > 0  # the PD input moves

    class Alternating(PDPolicy):
        def act_batch(self, states, inputs, times, previous=None):
            self.target = self.target[::-1].copy()  # a chunk toward the mirrored target each time
            return super().act_batch(states, inputs, times, previous)

    jumpy = evaluate_policy(Alternating(target=(100.0, 400.0), input_range=np.array([1000.0, 1000.0])),
                            lambda: make_env("pusht"), [3], exec_knots=3)
    # the PD law's position term alone changes by KP * 300 px at each switch
    assert jumpy.metrics["handover_jump_median"] == pytest.approx(KP * 300.0 / 1000.0, rel=1e-6)
    assert "handover_jump_median" not in evaluate_policy(PDPolicy(target=(100.0, 400.0)), lambda: make_env("pusht"),
                                                         [3], exec_knots=3).metrics
