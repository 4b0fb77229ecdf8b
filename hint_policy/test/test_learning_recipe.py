"""The pieces of the PushT recipe: sample prediction, constant action coordinates left out, DARE
terminal gains, narrowed observations, the nearest-neighbour baseline, best checkpoints, --overfit."""

import json

import numpy as np
import pytest
import torch

from hint_controller.dynamics.pusht_agent import PushTAgent
from hint_controller.tvlqr import TVLQRConfig, synthesize_gains
from hint_policy.baselines import NearestNeighbourPolicy
from hint_policy.config import HintConfig, config_from_dict
from hint_policy.training_data.chunks import build_chunks
from hint_policy.training_data.normalizers import fit_normalizers
from hint_policy.diffusion import ConditionalDDPM, NoiseSchedule
from hint_policy.inference import HintPolicy
from hint_controller.tvlqr import make_synthesis
from hint_policy.train import overfit_config, plot_training_curve, train
from hint_policy.demos import save_demos
from policy_test_utils import one_torch_thread, pd_demos  # noqa: F401  (autouse fixture)


def recipe_config(out_dir, **data) -> HintConfig:
    values = {
        "data": {"dynamics": "pusht_agent", "control_stride": 5, "obs_steps": 2, "chunk_length": 4,
                 "synthesis_options": {"terminal": "dare"}, **data},
        "model": {"denoiser": "mlp", "mlp_hidden": 64, "mlp_blocks": 2, "step_embed_dim": 16},
        "diffusion": {"train_steps": 20, "prediction": "sample"},
        "train": {"steps": 40, "batch_size": 16, "lr": 1e-3, "warmup_steps": 5, "out_dir": str(out_dir),
                  "checkpoint_every": 0, "progress": False, "threads": 1},
    }
    config = config_from_dict(HintConfig, values)
    config.validate()
    return config


class CleanOracle(torch.nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target = target

    def forward(self, x, k, obs):
        return self.target.expand(x.shape[0], -1, -1)


@pytest.mark.parametrize("sampler,steps", [("ddpm", None), ("ddim", 10)])
def test_sample_prediction_samplers_return_the_predicted_clean_action(sampler, steps):
    target = torch.linspace(-0.8, 0.8, 12).reshape(4, 3)
    ddpm = ConditionalDDPM(NoiseSchedule(50), (4, 3), prediction="sample")
    out = ddpm.sample(CleanOracle(target), torch.zeros(3, 2, 1), sampler, steps, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, target.expand(3, -1, -1), atol=1e-4, rtol=0)
    noise = torch.randn(3, 4, 3)
    loss = ddpm.loss(CleanOracle(target), target.expand(3, -1, -1), torch.zeros(3, 2, 1), noise=noise,
                     steps=torch.tensor([0, 10, 49]))
    assert float(loss) < 1e-12
    with pytest.raises(ValueError, match="prediction"):
        ConditionalDDPM(NoiseSchedule(50), (4, 3), prediction="velocity")


def test_dare_terminal_cost_keeps_the_gains_constant_to_the_end():
    model = PushTAgent()
    demo = pd_demos(1, horizon=80)[0]
    states, inputs = demo.states[:, :4], demo.inputs
    q, r, qf = TVLQRConfig().matrices(model)
    fading = synthesize_gains(model, states, inputs, q, r, qf).gains
    held = synthesize_gains(model, states, inputs, q, r, "dare").gains
    assert np.abs(fading[-1]).max() < 0.5 * np.abs(fading[0]).max()  # Qf = Q: the last gains fade out
    np.testing.assert_allclose(held, np.broadcast_to(held[0], held.shape), atol=1e-9)
    np.testing.assert_allclose(held[0], fading[0], rtol=1e-4)  # far from the end both agree
    assert TVLQRConfig(terminal="dare").terminal_cost(qf) == "dare"
    with pytest.raises(ValueError, match="terminal"):
        TVLQRConfig(terminal="nope").matrices(model)


def test_constant_action_coordinates_are_not_learned_and_come_back_exactly(tmp_path):
    config = recipe_config(tmp_path)
    demos = pd_demos(4)
    model = PushTAgent()
    chunks, layout = build_chunks(demos, model, make_synthesis(model, "tvlqr", {"terminal": "dare"}), config.data)
    normalizers = fit_normalizers(chunks)
    # x_ref (4) and u_ff (2) vary; the 8 gain entries are constant with DARE gains on a double integrator
    assert layout.action_dim == 14 and normalizers.learned_action_dim == 6
    learned = normalizers.encode_actions(torch.as_tensor(chunks.actions, dtype=torch.float32))
    assert learned.shape[-1] == 6
    np.testing.assert_allclose(normalizers.decode_actions(learned.numpy()), chunks.actions, rtol=1e-5, atol=1e-3)
    result = train(config, demos=demos)
    policy = HintPolicy.from_checkpoint(result.checkpoint, sigma=0.0, seed=0)
    action = policy.act(demos[0].states[:1], np.zeros((1, 2)), 0.0)
    np.testing.assert_allclose(action.gains, np.broadcast_to(chunks.actions[0, 0, 6:].reshape(2, 4), action.gains.shape),
                               rtol=1e-5)


def test_narrowed_observation_drops_velocity_and_previous_input(tmp_path):
    config = recipe_config(tmp_path, obs_states=["agent_x", "agent_y", "block_x", "block_y", "block_theta"],
                           obs_previous_input=False, obs_angles=["block_theta"])
    demo = pd_demos(1)[0]
    chunks, layout = build_chunks([demo], PushTAgent(), None, config.data)
    assert layout.obs_dim == 6  # 5 states, the angle as cos in place + its sine, no input
    row = chunks.obs[3, -1]
    state = demo.states[3 * 5]
    np.testing.assert_allclose(row, [state[0], state[1], state[4], state[5], np.cos(state[6]), np.sin(state[6])])
    with pytest.raises(ValueError, match="obs_angles"):
        build_chunks([demo], PushTAgent(), None, recipe_config(tmp_path, obs_states=["agent_x"],
                                                                obs_angles=["block_theta"]).data)


def test_nearest_neighbour_baseline_returns_the_training_chunk_of_a_training_observation(tmp_path):
    demos = pd_demos(3)
    path = tmp_path / "demos.npz"
    save_demos(path, demos)
    config = recipe_config(tmp_path, demos=[str(path)])
    policy = NearestNeighbourPolicy.from_config(config)
    chunks, _ = build_chunks(demos, PushTAgent(), make_synthesis(PushTAgent(), "tvlqr", {"terminal": "dare"}),
                             config.data)
    index = 7  # demo 0, knot 7: observed states at knots 6 and 7
    states = demos[0].states[[30, 35]]
    inputs = demos[0].inputs[[29, 34]]
    action = policy.act(states, inputs, 1.5)
    np.testing.assert_allclose(action.x_ref, chunks.actions[index, :, :4])
    assert action.start_time == 1.5 and policy.sequence == 1


def test_best_checkpoints_keep_the_top_scores_and_the_curve_is_plotted(tmp_path):
    config = recipe_config(tmp_path)
    config.train.steps, config.eval.every_steps, config.eval.keep_best = 40, 10, 2
    scores = {10: 0.2, 20: 0.7, 30: 0.5, 40: 0.1}
    train(config, demos=pd_demos(3), eval_fn=lambda policy, step: {"mean_score": scores[step]})
    folder = tmp_path / "checkpoints"
    assert sorted(p.name for p in folder.glob("best_step_*.pt")) == ["best_step_00000020.pt", "best_step_00000030.pt"]
    best = torch.load(folder / "best.pt", weights_only=True)
    assert best["step"] == 20 and best["metrics"]["score"] == 0.7
    assert (tmp_path / "training_curve.png").stat().st_size > 1000
    records = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert [r["mean_score"] for r in records if r.get("event") == "eval"] == [0.2, 0.7, 0.5, 0.1]
    assert plot_training_curve(tmp_path / "missing.jsonl", tmp_path / "x.png") is None


def test_overfit_config_trains_on_n_demos_without_noise_and_evaluates_from_their_seeds(tmp_path):
    demos = pd_demos(5)
    path = tmp_path / "demos.npz"
    save_demos(path, demos)
    config = recipe_config(tmp_path / "run", demos=[str(path)], sigma=0.1)
    config.eval.env = "pusht"
    overfit = overfit_config(config, 3)
    assert overfit.data.num_demos == 3 and overfit.data.sigma == 0.0 and overfit.eval.sigma == 0.0
    assert overfit.eval.seeds == [0, 1, 2] and overfit.eval.every_steps == 10
    assert overfit.train.out_dir.endswith("overfit_3")


def test_servo_targets_recover_the_pd_target_and_execute_as_gym_pushts_pd(tmp_path):
    config = recipe_config(tmp_path, action_content="servo_targets")
    demos = pd_demos(2)
    chunks, layout = build_chunks(demos, PushTAgent(), None, config.data)
    assert layout.action_dim == 2
    block = demos[0].states[0, 4:6]
    np.testing.assert_allclose(chunks.actions[0], np.broadcast_to(512 - block, (4, 2)), atol=1e-9)
    x_ref, u_ff, gains = layout.unpack(chunks.actions[0])
    np.testing.assert_allclose(x_ref[:, 2:], 0.0)
    np.testing.assert_allclose(u_ff, 0.0)
    np.testing.assert_allclose(gains[0], PushTAgent().servo_gains())
    # the primitive u = K (x - (target, 0)) is gym-pusht's PD law
    state = demos[0].states[3, :4]
    np.testing.assert_allclose(gains[0] @ (state - x_ref[0]), demos[0].inputs[3], rtol=1e-9)
