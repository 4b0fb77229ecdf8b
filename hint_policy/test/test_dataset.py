"""The data pipeline (hint_policy.training_data): chunk boundaries, padding, normalization and noise augmentation."""

import math

import numpy as np
import pytest
import torch

from hint_controller.dynamics.pusht_agent import PushTAgent
from hint_policy.config import DataConfig
from hint_policy.demos import Demo
from hint_policy.training_data.chunks import ChunkLayout, build_chunks, pack_actions, pad_observation, unpack_actions
from hint_policy.training_data.noised_dataset import HintDataset
from hint_policy.training_data.normalizers import MinMaxNormalizer, fit_normalizers
from policy_test_utils import FULL_STATES, INPUTS

HORIZON = 23  # physics steps; with stride 5 the knots are steps 0, 5, 10, 15, 20


def marked_demo(horizon: int = HORIZON) -> Demo:
    """Every entry tells its step: state t = t + 100 j in column j, input t = -(t + 1), -(t + 1000)."""
    t = np.arange(horizon + 1, dtype=float)[:, None]
    states = t + 100.0 * np.arange(len(FULL_STATES))[None, :]
    inputs = np.hstack([-(t[:-1] + 1), -(t[:-1] + 1000)])
    return Demo(states, inputs, 0.01, FULL_STATES, INPUTS, env="pusht")


def marked_gains(states: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """Gain t has every entry equal to 0.5 t (so chunks can be checked by value)."""
    assert states.shape == (len(inputs) + 1, 4)
    return 0.5 * np.arange(len(inputs), dtype=float)[:, None, None] * np.ones((1, 2, 4))


def config(**changes) -> DataConfig:
    values = dict(control_stride=5, obs_steps=3, chunk_length=4)
    values.update(changes)
    return DataConfig(**values)


def obs_row(step: int) -> np.ndarray:
    """Expected observation row of physics step `step`: full state and the previous input."""
    state = step + 100.0 * np.arange(len(FULL_STATES))
    previous = np.zeros(2) if step == 0 else np.array([-step, -(step - 1 + 1000)])
    return np.concatenate([state, previous])


def primitive(step: int) -> np.ndarray:
    x_ref = step + 100.0 * np.arange(4)
    u_ff = np.array([-(step + 1), -(step + 1000)])
    return np.concatenate([x_ref, u_ff, np.full(8, 0.5 * step)])


def test_shapes_and_layout():
    chunks, layout = build_chunks([marked_demo()], PushTAgent(), marked_gains, config())
    assert chunks.obs.shape == (5, 3, 9)
    assert chunks.actions.shape == (5, 4, 4 + 2 + 8)
    assert layout.obs_dim == 9 and layout.action_dim == 14
    assert layout.knot_period == pytest.approx(0.05)
    np.testing.assert_array_equal(chunks.knot_step, [0, 5, 10, 15, 20])


def test_first_knot_is_zero_padded_and_observes_no_previous_input():
    chunks, _ = build_chunks([marked_demo()], PushTAgent(), marked_gains, config())
    np.testing.assert_array_equal(chunks.obs[0, :2], np.zeros((2, 9)))
    np.testing.assert_array_equal(chunks.obs[0, 2], obs_row(0))
    np.testing.assert_array_equal(chunks.obs_real[0], [False, False, True])
    np.testing.assert_array_equal(chunks.obs[1], np.stack([np.zeros(9), obs_row(0), obs_row(5)]))


def test_history_is_sampled_at_knots_with_the_input_applied_before_each_state():
    chunks, _ = build_chunks([marked_demo()], PushTAgent(), marked_gains, config())
    np.testing.assert_array_equal(chunks.obs[2], np.stack([obs_row(0), obs_row(5), obs_row(10)]))
    np.testing.assert_array_equal(chunks.obs[4], np.stack([obs_row(10), obs_row(15), obs_row(20)]))
    assert chunks.obs_real[2:].all()


def test_actions_are_next_knots_and_end_repeats_the_last_primitive():
    chunks, _ = build_chunks([marked_demo()], PushTAgent(), marked_gains, config())
    np.testing.assert_array_equal(chunks.actions[0], np.stack([primitive(s) for s in (0, 5, 10, 15)]))
    np.testing.assert_array_equal(chunks.actions[3], np.stack([primitive(s) for s in (15, 20, 20, 20)]))
    np.testing.assert_array_equal(chunks.actions[4], np.stack([primitive(20)] * 4))


def test_feedforward_actions_hold_only_inputs_and_need_no_synthesis():
    def fail(states, inputs):
        raise AssertionError("feedforward data must not call the synthesis oracle")

    chunks, layout = build_chunks([marked_demo()], PushTAgent(), fail, config(action_content="feedforward"))
    assert layout.action_dim == 2
    np.testing.assert_array_equal(chunks.actions[1], np.stack([primitive(s)[4:6] for s in (5, 10, 15, 20)]))
    x_ref, u_ff, gains = unpack_actions(chunks.actions[1], 4, 2, "feedforward")
    assert not x_ref.any() and not gains.any() and u_ff.shape == (4, 2)


def test_repeat_padding_and_extra_phases():
    chunks, _ = build_chunks([marked_demo()], PushTAgent(), marked_gains, config(obs_padding="repeat", phases=2))
    np.testing.assert_array_equal(chunks.obs[0], np.stack([obs_row(0)] * 3))
    np.testing.assert_array_equal(chunks.knot_step, [0, 5, 10, 15, 20, 1, 6, 11, 16, 21])
    np.testing.assert_array_equal(chunks.obs[6], np.stack([obs_row(1), obs_row(1), obs_row(6)]))
    np.testing.assert_array_equal(chunks.actions[9, -1], primitive(21))


def test_servo_target_layout_loads_from_a_weights_only_checkpoint(tmp_path):
    _, layout = build_chunks([marked_demo()], PushTAgent(), None, config(action_content="servo_targets"))
    torch.save({"layout": layout.to_dict()}, tmp_path / "layout.pt")
    restored = ChunkLayout.from_dict(torch.load(tmp_path / "layout.pt", weights_only=True)["layout"])
    assert restored == layout and restored.servo_gains == tuple(np.ravel(PushTAgent().servo_gains()))


def test_pack_unpack_roundtrip():
    rng = np.random.default_rng(0)
    x_ref, u_ff, gains = rng.normal(size=(5, 4)), rng.normal(size=(5, 2)), rng.normal(size=(5, 2, 4))
    back = unpack_actions(pack_actions(x_ref, u_ff, gains, "primitives"), 4, 2, "primitives")
    for original, restored in zip((x_ref, u_ff, gains), back):
        np.testing.assert_array_equal(original, restored)


def test_pad_observation_keeps_latest_rows():
    rows = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(pad_observation(rows, 2, "zero"), rows[2:])
    np.testing.assert_array_equal(pad_observation(rows[:1], 3, "zero")[:2], np.zeros((2, 3)))


def test_bad_synthesis_and_mismatched_demos_are_rejected():
    with pytest.raises(ValueError, match="gains of shape"):
        build_chunks([marked_demo()], PushTAgent(), lambda s, u: np.zeros((len(u), 4, 2)), config())
    other = marked_demo()
    other.state_names = FULL_STATES[:4] + ("a", "b", "c")
    with pytest.raises(ValueError, match="same state and input names"):
        build_chunks([marked_demo(), other], PushTAgent(), marked_gains, config())


def test_normalizer_roundtrip_range_and_constant_columns():
    rng = np.random.default_rng(1)
    data = np.hstack([rng.uniform(-3, 50, size=(200, 3)), np.full((200, 1), 7.0)])
    normalizer = MinMaxNormalizer.fit(data)
    scaled = normalizer.normalize(data)
    assert scaled[:, :3].min() == pytest.approx(-1, abs=1e-5) and scaled[:, :3].max() == pytest.approx(1, abs=1e-5)
    np.testing.assert_allclose(scaled[:, 3], 0.0, atol=1e-6)
    np.testing.assert_allclose(normalizer.unnormalize(scaled), data, rtol=1e-5, atol=1e-4)
    tensor = torch.as_tensor(data, dtype=torch.float32)
    restored = MinMaxNormalizer.from_state_dict(normalizer.state_dict())
    torch.testing.assert_close(restored.unnormalize(restored.normalize(tensor)), tensor, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="last dimension"):
        normalizer.normalize(np.zeros((2, 3)))


def test_normalizers_ignore_padding_rows():
    chunks, _ = build_chunks([marked_demo()], PushTAgent(), marked_gains, config())
    normalizers = fit_normalizers(chunks)
    real = chunks.obs[chunks.obs_real]
    np.testing.assert_allclose(normalizers.obs.center.numpy(), (real.max(0) + real.min(0)) / 2, rtol=1e-6)
    assert normalizers.obs.normalize(chunks.obs[0, 0])[1] < -1  # raw zero lies below agent_y's range


#: per law: mean and standard deviation of the unit draw, and its range
UNIT_LAWS = {"gaussian": (0.0, 1.0, (-math.inf, math.inf)), "uniform": (0.5, 12 ** -0.5, (0.0, 1.0))}


@pytest.mark.parametrize("law", sorted(UNIT_LAWS))
@pytest.mark.parametrize("mode", ["fixed", "fresh"])
def test_noise_has_its_laws_mean_and_spread_times_sigma_in_normalized_space(mode, law):
    chunks, _ = build_chunks([marked_demo(200)], PushTAgent(), marked_gains, config())
    normalizers = fit_normalizers(chunks)
    sigma = 0.3
    dataset = HintDataset(chunks, normalizers, sigma=sigma, noise_draws=40, noise_mode=mode, noise_seed=3,
                          noise_law=law)
    assert len(dataset) == (40 * len(chunks.obs) if mode == "fixed" else len(chunks.obs))
    indices = torch.arange(len(dataset))
    batch = dataset.get_batch(indices, torch.Generator().manual_seed(0))
    draws = dataset.draws
    clean = normalizers.obs.normalize(torch.as_tensor(chunks.obs, dtype=torch.float32))[indices // draws]
    noise = (batch["obs"] - clean) / sigma
    mean, spread, (lowest, highest) = UNIT_LAWS[law]
    tolerance = 5 * spread / noise.numel() ** 0.5
    assert abs(float(noise.mean()) - mean) < tolerance
    assert abs(float(noise.std()) - spread) < 2 * tolerance
    assert lowest - 1e-4 <= float(noise.min()) and float(noise.max()) < highest + 1e-4
    torch.testing.assert_close(batch["action"], normalizers.action.normalize(
        torch.as_tensor(chunks.actions, dtype=torch.float32))[indices // draws])
    again = dataset.get_batch(indices, torch.Generator().manual_seed(1))["obs"]
    assert torch.equal(again, batch["obs"]) == (mode == "fixed")


def test_zero_sigma_is_plain_diffusion_policy_data():
    chunks, _ = build_chunks([marked_demo()], PushTAgent(), marked_gains, config())
    normalizers = fit_normalizers(chunks)
    dataset = HintDataset(chunks, normalizers, sigma=0.0, noise_draws=10)
    assert len(dataset) == len(chunks.obs)
    item = dataset[2]
    torch.testing.assert_close(item["obs"], normalizers.obs.normalize(torch.as_tensor(chunks.obs[2], dtype=torch.float32)))
    assert float(item["action"].abs().max()) <= 1 + 1e-6


def test_wrapping_angles_are_observed_as_cos_and_sin():
    demo = marked_demo()
    turned = Demo(demo.states + np.eye(7)[6] * 2 * np.pi, demo.inputs, 0.01, FULL_STATES, INPUTS, env="pusht")
    chunks, layout = build_chunks([demo, turned], PushTAgent(), marked_gains, config(obs_angles=["block_theta"]))
    assert layout.obs_dim == 10 and layout.obs_angle_names == ("block_theta",)
    row = chunks.obs[0, 2]  # knot step 0 of the first demo
    theta = 600.0  # column 6 of step 0
    np.testing.assert_allclose(row, np.concatenate([obs_row(0)[:6], [np.cos(theta), np.sin(theta)], obs_row(0)[7:]]))
    same_pose = chunks.demo_index == 1
    np.testing.assert_allclose(chunks.obs[same_pose], chunks.obs[~same_pose], atol=1e-9)
    assert type(layout).from_dict(layout.to_dict()) == layout


def test_unknown_angle_name_is_rejected():
    with pytest.raises(ValueError, match="obs_angles.*'heading'"):
        build_chunks([marked_demo()], PushTAgent(), marked_gains, config(obs_angles=["heading"]))


def test_an_unknown_noise_law_is_refused():
    chunks, _ = build_chunks([marked_demo()], PushTAgent(), marked_gains, config())
    with pytest.raises(ValueError, match="noise_law"):
        HintDataset(chunks, fit_normalizers(chunks), sigma=0.1, noise_law="laplace")
