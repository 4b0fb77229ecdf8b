"""HintPolicy: checkpoint loading, observation handling, composite actions, errors."""

import numpy as np
import pytest
import torch

from hint_controller.composite_action import CompositeAction
from hint_policy.checkpoint import CheckpointError, load_checkpoint
from hint_policy.demos import Demo
from hint_policy.inference import HintPolicy
from policy_test_utils import AGENT_STATES, INPUTS, one_torch_thread, train_tiny  # noqa: F401  (autouse fixture)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("policy"))


def history(demo: Demo, rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    steps = [10, 15][-rows:]
    return demo.states[steps], demo.inputs[[s - 1 for s in steps]]


@pytest.mark.parametrize("sampler,steps", [("ddim", 5), ("ddpm", None)])
def test_act_returns_a_composite_action_within_the_training_range(trained, sampler, steps):
    path, demos = trained
    policy = HintPolicy.from_checkpoint(path, sampler=sampler, sampler_steps=steps or 10, seed=0)
    assert policy.sigma == pytest.approx(0.05) and policy.knot_period == pytest.approx(0.05)
    action = policy.act(*history(demos[0]), start_time=1.25)
    assert isinstance(action, CompositeAction)
    assert action.x_ref.shape == (4, 4) and action.u_ff.shape == (4, 2) and action.gains.shape == (4, 2, 4)
    assert action.state_names == AGENT_STATES and action.input_names == INPUTS
    assert action.period == pytest.approx(0.05) and action.start_time == 1.25 and action.sigma == 0.05
    agent = np.concatenate([d.states[:, :4] for d in demos])
    assert np.all(action.x_ref >= agent.min(0) - 1e-3) and np.all(action.x_ref <= agent.max(0) + 1e-3)
    assert policy.act(*history(demos[0]), start_time=1.3).sequence == action.sequence + 1


def test_short_history_is_padded_and_long_history_truncated(trained):
    path, demos = trained
    policy = HintPolicy.from_checkpoint(path)
    first = policy.observation(demos[0].states[:1], np.zeros((1, 2)))
    np.testing.assert_array_equal(first[0], np.zeros(9))
    long = policy.observation(demos[0].states[:5], demos[0].inputs[:5])
    np.testing.assert_array_equal(long[-1, :7], demos[0].states[4])
    assert policy.act(demos[0].states[0], np.zeros(2), 0.0).length == 4


def test_angle_features_match_the_training_observations(tmp_path):
    path, demos = train_tiny(tmp_path, obs_angles=("block_theta",))
    policy = HintPolicy.from_checkpoint(path)
    assert policy.layout.obs_angle_names == ("block_theta",) and policy.layout.obs_dim == 10
    states, inputs = history(demos[0])
    obs = policy.observation(states, inputs)
    turned = policy.observation(states + np.eye(7)[6] * 2 * np.pi, inputs)
    np.testing.assert_allclose(obs, turned, atol=1e-9)
    np.testing.assert_allclose(obs[:, 6:8], np.stack([np.cos(states[:, 6]), np.sin(states[:, 6])], axis=1))
    assert policy.act(states, inputs, 0.0).length == 4


def test_seed_and_sigma_control_the_randomness(trained):
    path, demos = trained
    obs = history(demos[1])
    clean_a = HintPolicy.from_checkpoint(path, sigma=0.0, seed=3).act(*obs, 0.0)
    clean_b = HintPolicy.from_checkpoint(path, sigma=0.0, seed=3).act(*obs, 0.0)
    noisy = HintPolicy.from_checkpoint(path, sigma=0.5, seed=3).act(*obs, 0.0)
    np.testing.assert_array_equal(clean_a.u_ff, clean_b.u_ff)
    assert not np.allclose(clean_a.u_ff, noisy.u_ff)
    assert noisy.sigma == 0.5


@pytest.mark.parametrize("law", ["gaussian", "uniform"])
def test_the_policy_noises_observations_with_its_checkpoints_law(trained, law, monkeypatch):
    path, demos = trained
    payload = load_checkpoint(path)
    payload["config"]["data"]["noise_law"] = law
    policy = HintPolicy.from_payload(payload, sigma=0.5, seed=0)
    seen, sample = [], policy.diffusion.sample

    def record(denoiser, obs, *args, **kwargs):
        seen.append(obs)
        return sample(denoiser, obs, *args, **kwargs)

    monkeypatch.setattr(policy.diffusion, "sample", record)
    states, inputs = history(demos[1])
    raw = np.stack([policy.observation(states, inputs)] * 300)
    policy.raw_actions(raw)
    unit = (seen[0] - policy.normalizers.obs.normalize(torch.as_tensor(raw, dtype=torch.float32))) / 0.5
    if law == "uniform":
        assert float(unit.min()) >= -1e-4 and float(unit.max()) < 1 + 1e-4
        assert abs(float(unit.mean()) - 0.5) < 0.02
    else:
        assert float(unit.min()) < -1 and abs(float(unit.mean())) < 0.05 and abs(float(unit.std()) - 1) < 0.05


def test_feedforward_policy_has_zero_gains(tmp_path):
    path, demos = train_tiny(tmp_path, action_content="feedforward")
    action = HintPolicy.from_checkpoint(path).act(*history(demos[0]), 0.0)
    assert not action.gains.any() and not action.x_ref.any() and np.all(np.isfinite(action.u_ff))


def test_observation_mismatches_are_reported(trained):
    path, demos = trained
    policy = HintPolicy.from_checkpoint(path)
    with pytest.raises(ValueError, match="block_theta"):
        policy.act(demos[0].states[:2, :4], demos[0].inputs[:2], 0.0)
    with pytest.raises(ValueError, match="agent_ax"):
        policy.act(demos[0].states[:2], demos[0].inputs[:2, :1], 0.0)
    with pytest.raises(ValueError, match="same number"):
        policy.act(demos[0].states[:2], demos[0].inputs[:1], 0.0)


def test_missing_and_corrupt_checkpoints_name_the_file(tmp_path):
    missing = tmp_path / "nothing.pt"
    with pytest.raises(CheckpointError, match="nothing.pt: checkpoint does not exist"):
        HintPolicy.from_checkpoint(missing)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="corrupt.pt"):
        HintPolicy.from_checkpoint(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(ValueError, match="foreign.pt: not a hint_policy checkpoint"):
        HintPolicy.from_checkpoint(foreign)


def test_invalid_sampler_settings_are_rejected(trained):
    path, _ = trained
    with pytest.raises(ValueError, match="sampler"):
        HintPolicy.from_checkpoint(path, sampler="euler")
    with pytest.raises(ValueError, match="DDIM steps"):
        HintPolicy.from_checkpoint(path, sampler="ddim", sampler_steps=500)
    with pytest.raises(ValueError, match="handover"):
        HintPolicy.from_checkpoint(path, handover="blend")


def test_inpainting_hand_over_starts_the_new_chunk_on_the_executing_one(trained):
    path, demos = trained
    plain = HintPolicy.from_checkpoint(path, seed=0)
    inpaint = HintPolicy.from_checkpoint(path, seed=0, handover="inpaint", inpaint_frozen=1)
    executing = plain.act(*history(demos[0]), start_time=1.0)  # 4 knots of 0.05 s
    later = 1.0 + 2 * 0.05  # two knots executed: knot 0 of the new chunk is knot 2 of the executing one
    new = inpaint.act_batch(*[[h] for h in history(demos[1])], [later], previous=[executing])[0]
    np.testing.assert_allclose(new.x_ref[0], executing.x_ref[2], rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(new.u_ff[0], executing.u_ff[2], rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(new.gains[0], executing.gains[2], rtol=1e-5, atol=1e-3)
    unguided = plain.act_batch(*[[h] for h in history(demos[1])], [later], previous=[executing])[0]
    assert np.abs(unguided.x_ref[0] - executing.x_ref[2]).max() > 1e-2  # without it: the other demo's plan
    # the same seed and no previous chunk: inpainting changes nothing
    first = HintPolicy.from_checkpoint(path, seed=0, handover="inpaint").act_batch(
        *[[h] for h in history(demos[0])], [1.0], previous=[None])[0]
    np.testing.assert_array_equal(first.x_ref, executing.x_ref)


def test_the_policy_owns_its_history_sequence_numbers_and_previous_chunk(trained):
    path, demos = trained
    stateful = HintPolicy.from_checkpoint(path, seed=7)
    stateless = HintPolicy.from_checkpoint(path, seed=7)
    with pytest.raises(RuntimeError, match="observe"):
        stateful.select_action(0.0)
    states, inputs = demos[0].states[[5, 10, 15]], demos[0].inputs[[4, 9, 14]]
    for state, applied in zip(states, inputs):
        stateful.observe(state, applied)
    kept_states, kept_inputs = stateful.history()
    np.testing.assert_array_equal(kept_states, states[1:])  # obs_steps = 2 most recent knots
    first = stateful.select_action(0.75)
    reference = stateless.act(states[1:], inputs[1:], 0.75)
    np.testing.assert_array_equal(first.x_ref, reference.x_ref)
    assert first.sequence == 1 and stateful.previous_chunk() is first
    assert stateful.select_action(0.8).sequence == 2
    stateful.begin_episodes(2)  # two episodes side by side; numbering carries on
    assert stateful.previous_chunk(1) is None
    with pytest.raises(RuntimeError, match="episode 1"):
        stateful.history(1)
    stateful.observe(states[0], inputs[0], episode=0)
    stateful.observe(states[2], inputs[2], episode=1)
    actions = stateful.select_actions([1.0, 1.0], [0, 1])
    assert [a.sequence for a in actions] == [3, 4] and stateful.previous_chunk(1) is actions[1]
    with pytest.raises(ValueError, match="observe needs"):
        stateful.observe(states[0][:3], inputs[0])
    stateful.reset(seed=7)
    assert stateful.sequence == 0 and stateful.previous_chunk() is None


def test_candidates_sample_several_chunks_and_return_their_medoid(trained, monkeypatch):
    path, demos = trained
    policy = HintPolicy.from_checkpoint(path, sigma=0.2, candidates=5, seed=1)
    seen = {}
    sample = policy.diffusion.sample

    def recording(denoiser, obs, *args, **kwargs):
        seen["obs"], seen["actions"] = obs, sample(denoiser, obs, *args, **kwargs)
        return seen["actions"]

    monkeypatch.setattr(policy.diffusion, "sample", recording)
    raw_obs = np.stack([policy.observation(*history(demo)) for demo in demos[:2]])
    chosen = policy.sample_normalized(raw_obs)
    assert seen["obs"].shape[0] == 10 and chosen.shape == (2, *seen["actions"].shape[1:])
    candidates = seen["actions"].reshape(5, 2, *seen["actions"].shape[1:])
    assert not torch.allclose(seen["obs"][0], seen["obs"][2])  # each candidate its own noise draw
    for b in range(2):
        distances = torch.cdist(candidates[:, b].flatten(1), candidates[:, b].flatten(1)).sum(1)
        np.testing.assert_array_equal(chosen[b], candidates[distances.argmin(), b].numpy())
    assert "candidates=5" in repr(policy)
    with pytest.raises(ValueError, match="candidates"):
        HintPolicy.from_checkpoint(path, candidates=0)
