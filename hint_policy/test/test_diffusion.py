"""Noise schedule, denoisers, DDPM/DDIM samplers and EMA of hint_policy.diffusion."""

import math

import pytest
import torch
from torch import nn

from hint_policy.config import ModelConfig
from hint_policy.diffusion import EMA, ConditionalDDPM, NoiseSchedule, build_denoiser
from hint_policy.diffusion.ddpm import Inpainting, soft_mask
from hint_policy.diffusion.selection import medoid
from hint_policy.diffusion.unet1d import UNet1DDenoiser
from policy_test_utils import one_torch_thread  # noqa: F401  (autouse fixture)

CHUNK, ACTION_DIM, OBS_STEPS, OBS_DIM = 8, 5, 2, 3


def test_cosine_schedule_follows_the_squared_cosine():
    schedule = NoiseSchedule(100)

    def f(s):
        return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2

    for k in (0, 10, 50, 90):
        assert float(schedule.alpha_bars[k]) == pytest.approx(f((k + 1) / 100) / f(0), rel=1e-4)
    assert torch.all(schedule.alpha_bars[1:] < schedule.alpha_bars[:-1])
    assert float(schedule.betas.max()) <= 0.999 + 1e-7
    assert float(schedule.alpha_bars[-1]) < 1e-4 and float(schedule.alpha_bars_prev[0]) == 1.0


class PointMassOracle(nn.Module):
    """The exact epsilon predictor when every clean action equals `target`."""

    def __init__(self, schedule: NoiseSchedule, target: torch.Tensor) -> None:
        super().__init__()
        self.schedule, self.target = schedule, target

    def forward(self, x, k, obs):
        alpha_bar = self.schedule.alpha_bars[k].view(-1, 1, 1)
        return (x - alpha_bar.sqrt() * self.target) / (1 - alpha_bar).sqrt()


class GaussianOracle(nn.Module):
    """The exact epsilon predictor for clean actions ~ N(0, std^2 I)."""

    def __init__(self, schedule: NoiseSchedule, std: float) -> None:
        super().__init__()
        self.schedule, self.std = schedule, std

    def forward(self, x, k, obs):
        alpha_bar = self.schedule.alpha_bars[k].view(-1, 1, 1)
        return x * (1 - alpha_bar).sqrt() / (alpha_bar * self.std**2 + 1 - alpha_bar)


@pytest.mark.parametrize("sampler,steps", [("ddpm", None), ("ddim", 10), ("ddim", 3)])
def test_samplers_recover_a_point_mass(sampler, steps):
    schedule = NoiseSchedule(100)
    target = torch.linspace(-0.9, 0.9, CHUNK * ACTION_DIM).reshape(CHUNK, ACTION_DIM)
    ddpm = ConditionalDDPM(schedule, (CHUNK, ACTION_DIM))
    out = ddpm.sample(PointMassOracle(schedule, target), torch.zeros(4, OBS_STEPS, OBS_DIM), sampler, steps,
                      torch.Generator().manual_seed(0))
    assert out.shape == (4, CHUNK, ACTION_DIM)
    torch.testing.assert_close(out, target.expand(4, -1, -1), atol=1e-3, rtol=0)


@pytest.mark.parametrize("sampler,steps,eta", [("ddpm", None, 1.0), ("ddim", 100, 0.0), ("ddim", 100, 1.0)])
def test_samplers_reproduce_a_gaussian_spread(sampler, steps, eta):
    # (with few steps both DDIM variants shrink the spread - 0.33 deterministic, 0.29 with eta = 1
    # at 10 steps - since each coarse step uses the conditional mean of the clean action)
    schedule = NoiseSchedule(100)
    ddpm = ConditionalDDPM(schedule, (CHUNK, ACTION_DIM), clip_sample=False, ddim_eta=eta)
    out = ddpm.sample(GaussianOracle(schedule, 0.4), torch.zeros(400, 1, 1), sampler, steps,
                      torch.Generator().manual_seed(1))
    assert float(out.std()) == pytest.approx(0.4, rel=0.06)
    assert abs(float(out.mean())) < 0.02


def test_add_noise_and_loss_of_the_exact_predictor_is_zero():
    schedule = NoiseSchedule(50)
    target = torch.full((CHUNK, ACTION_DIM), 0.3)
    ddpm = ConditionalDDPM(schedule, (CHUNK, ACTION_DIM))
    noise = torch.randn(6, CHUNK, ACTION_DIM)
    steps = torch.tensor([0, 5, 10, 20, 40, 49])
    noisy = ddpm.add_noise(target.expand(6, -1, -1), noise, steps)
    alpha_bar = schedule.alpha_bars[steps].view(-1, 1, 1)
    torch.testing.assert_close(noisy, alpha_bar.sqrt() * target + (1 - alpha_bar).sqrt() * noise)
    loss = ddpm.loss(PointMassOracle(schedule, target), target.expand(6, -1, -1), torch.zeros(6, 1, 1),
                     noise=noise, steps=steps)
    assert float(loss) < 1e-8


@pytest.mark.parametrize("kind", ["unet", "mlp"])
def test_denoisers_shapes_conditioning_and_sampling(kind):
    torch.manual_seed(0)
    config = ModelConfig(denoiser=kind, unet_channels=[16, 32], unet_groups=4, mlp_hidden=32, mlp_blocks=2,
                         step_embed_dim=16)
    model = build_denoiser(config, ACTION_DIM, CHUNK, OBS_STEPS, OBS_DIM)
    x = torch.randn(3, CHUNK, ACTION_DIM)
    k = torch.tensor([0, 50, 99])
    obs = torch.randn(3, OBS_STEPS, OBS_DIM)
    out = model(x, k, obs)
    assert out.shape == x.shape and torch.all(torch.isfinite(out))
    assert not torch.allclose(out, model(x, k, obs + 1.0))  # the observation conditions the output
    assert not torch.allclose(out, model(x, k + 1, obs))  # so does the diffusion step
    ddpm = ConditionalDDPM(NoiseSchedule(100), (CHUNK, ACTION_DIM))
    for sampler, steps in (("ddpm", None), ("ddim", 10)):
        sample = ddpm.sample(model, obs, sampler, steps, torch.Generator().manual_seed(2))
        assert sample.shape == (3, CHUNK, ACTION_DIM) and torch.all(torch.isfinite(sample))
        again = ddpm.sample(model, obs, sampler, steps, torch.Generator().manual_seed(2))
        assert torch.equal(sample, again)


def test_unet_rejects_lengths_it_cannot_halve():
    with pytest.raises(ValueError, match="divisible"):
        UNet1DDenoiser(ACTION_DIM, 6, 6, channels=[16, 32, 64], groups=4)


def test_ddim_timesteps_and_invalid_requests():
    ddpm = ConditionalDDPM(NoiseSchedule(100), (CHUNK, ACTION_DIM))
    steps = ddpm.ddim_timesteps(10)
    assert steps[0] == 99 and steps[-1] == 0 and len(steps) == 10
    assert steps == sorted(steps, reverse=True)
    with pytest.raises(ValueError):
        ddpm.ddim_timesteps(0)
    with pytest.raises(ValueError, match="DDPM sampling runs all"):
        ddpm.sample(nn.Identity(), torch.zeros(1, 1, 1), "ddpm", 10)
    with pytest.raises(ValueError, match="unknown sampler"):
        ddpm.sample(nn.Identity(), torch.zeros(1, 1, 1), "euler", 10)


def test_ema_starts_as_a_copy_and_then_lags():
    model = nn.Linear(3, 2)
    ema = EMA(model, power=0.75, max_decay=0.9999)
    assert ema.decay() == 0.0
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)
    torch.testing.assert_close(ema.model.weight, model.weight)
    before = ema.model.weight.clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    decay = ema.decay()
    assert 0 < decay < 1
    ema.update(model)
    torch.testing.assert_close(ema.model.weight, decay * before + (1 - decay) * model.weight)
    restored = EMA(nn.Linear(3, 2))
    restored.load_state_dict(ema.state_dict())
    assert restored.updates == 2 and torch.equal(restored.model.weight, ema.model.weight)


def test_soft_mask_freezes_then_decays_over_the_overlap():
    weights = soft_mask(8, frozen=2, overlap=6)
    assert list(weights[:2]) == [1.0, 1.0] and list(weights[6:]) == [0.0, 0.0]
    assert all(1.0 > a > b > 0.0 for a, b in zip(weights[2:5], weights[3:6]))
    c = 4 / 5  # knot 2: c = (overlap - i) / (overlap - frozen + 1)
    assert weights[2] == pytest.approx(c * math.expm1(c) / math.expm1(1))
    assert list(soft_mask(4, frozen=3, overlap=0)) == [0.0] * 4  # no previous chunk left: nothing held


@pytest.mark.parametrize("sampler,steps", [("ddpm", None), ("ddim", 10)])
def test_inpainting_holds_weighted_knots_to_the_target_and_leaves_the_rest(sampler, steps):
    schedule = NoiseSchedule(100)
    data = torch.full((CHUNK, ACTION_DIM), 0.5)
    target = torch.full((2, CHUNK, ACTION_DIM), -0.5)
    weights = torch.zeros(2, CHUNK)
    weights[:, :2] = 1.0
    weights[:, 2] = 0.5
    ddpm = ConditionalDDPM(schedule, (CHUNK, ACTION_DIM))
    out = ddpm.sample(PointMassOracle(schedule, data), torch.zeros(2, OBS_STEPS, OBS_DIM), sampler, steps,
                      torch.Generator().manual_seed(0), guide=Inpainting(target, weights))
    torch.testing.assert_close(out[:, :2], target[:, :2], atol=1e-5, rtol=0)  # frozen knots: the target
    torch.testing.assert_close(out[:, 3:], data[3:].expand(2, -1, -1), atol=1e-2, rtol=0)  # unguided: the data
    assert -0.5 < float(out[:, 2].mean()) < 0.5  # half-weighted: in between


def test_medoid_picks_the_most_central_candidate_of_each_batch_element():
    # element 0: candidates at 0, 0.1 and 5 (summed distances 5.1, 5.0, 9.9: the draw at 0.1 is
    # central); element 1: 3, 3 and -3 (the two agreeing draws win over the outlier, the first on a tie)
    values = torch.tensor([[0.0, 3.0], [0.1, 3.0], [5.0, -3.0]])  # (K=3, B=2)
    candidates = values[:, :, None, None].expand(3, 2, 4, 2).clone()  # (K, B, L, D)
    candidates[2, 1, 0, 0] = 1.0  # the outlier need not be a constant chunk
    chosen = medoid(candidates)
    assert chosen.shape == (2, 4, 2)
    torch.testing.assert_close(chosen[0], candidates[1, 0])
    torch.testing.assert_close(chosen[1], candidates[0, 1])
    torch.testing.assert_close(medoid(candidates[:1]), candidates[0])  # one candidate: itself
    with pytest.raises(ValueError, match="candidates"):
        medoid(torch.zeros(3))


def test_a_repeated_inpainting_guide_stacks_its_batch():
    guide = Inpainting(torch.arange(6.0).reshape(2, 3, 1), torch.tensor([[1.0, 0.5, 0.0], [0.0, 0.0, 1.0]]))
    stacked = guide.repeated(3)
    assert stacked.target.shape == (6, 3, 1) and stacked.weights.shape == (6, 3)
    torch.testing.assert_close(stacked.target[4], guide.target[0])
    torch.testing.assert_close(stacked.weights[5], guide.weights[1])
