"""Stage 5: the noised, normalized training samples (the replica policy's data, Algorithm 1).

Observation chunks are normalized (:mod:`hint_policy.training_data.normalizers`) and then perturbed by
sigma times a unit draw of ``noise_law`` (:mod:`hint_policy.observation_noise`) over the whole
chunk, padding included; composite actions are normalized and reduced to their learned
coordinates. ``noise_mode="fixed"`` materializes ``noise_draws`` (N_aug) unit draws per sample
once, from ``noise_seed``, so the dataset has N * N_aug items (Algorithm 1); the same unit draws
serve every sigma. ``"fresh"`` draws new noise each time a sample is used (N items). With
sigma = 0 there is one item per sample.
"""

from __future__ import annotations

import torch

from hint_policy.config import DataConfig
from hint_policy.observation_noise import NOISE_LAWS, unit_noise
from hint_policy.training_data.chunks import ChunkArrays
from hint_policy.training_data.normalizers import Normalizers


class HintDataset(torch.utils.data.Dataset):
    """Normalized, noise-augmented samples; items are dicts ``{"obs", "action"}`` of float32.

    ``obs`` is the noised normalized observation chunk (obs_steps, obs_dim), ``action`` the
    normalized composite action's learned coordinates (chunk_length, learned_action_dim).
    :meth:`get_batch` gathers many items at once (what the training loop uses).
    """

    def __init__(
        self,
        chunks: ChunkArrays,
        normalizers: Normalizers,
        sigma: float,
        noise_draws: int = 1,
        noise_mode: str = "fixed",
        noise_seed: int = 0,
        noise_law: str = "gaussian",
    ) -> None:
        if sigma < 0 or noise_draws < 1 or noise_mode not in ("fixed", "fresh") or noise_law not in NOISE_LAWS:
            raise ValueError(f"need sigma >= 0, noise_draws >= 1, noise_mode 'fixed' or 'fresh', "
                             f"noise_law one of {', '.join(NOISE_LAWS)}")
        self.normalizers = normalizers
        self.sigma = float(sigma)
        self.noise_mode = noise_mode
        self.noise_law = noise_law
        self.clean_obs = normalizers.obs.normalize(torch.as_tensor(chunks.obs, dtype=torch.float32))
        self.actions = normalizers.encode_actions(torch.as_tensor(chunks.actions, dtype=torch.float32))
        self.num_samples = len(self.clean_obs)
        self.draws = noise_draws if (noise_mode == "fixed" and self.sigma > 0) else 1
        self.unit_noise: torch.Tensor | None = None
        if noise_mode == "fixed" and self.sigma > 0:
            generator = torch.Generator().manual_seed(noise_seed)
            self.unit_noise = unit_noise(
                (self.num_samples, self.draws) + tuple(self.clean_obs.shape[1:]), noise_law, generator
            )

    @classmethod
    def from_config(
        cls, chunks: ChunkArrays, normalizers: Normalizers, config: DataConfig
    ) -> HintDataset:
        return cls(chunks, normalizers, config.sigma, config.noise_draws, config.noise_mode, config.noise_seed,
                   config.noise_law)

    def __len__(self) -> int:
        return self.num_samples * self.draws

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        batch = self.get_batch(torch.tensor([index]))
        return {key: value[0] for key, value in batch.items()}

    def get_batch(
        self, indices: torch.Tensor, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Items `indices` (item i = sample i // draws with noise draw i % draws)."""
        indices = torch.as_tensor(indices, dtype=torch.long)
        if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= len(self)):
            raise IndexError(f"dataset index out of range [0, {len(self)})")
        sample, draw = indices // self.draws, indices % self.draws
        obs = self.clean_obs[sample]
        if self.sigma > 0:
            if self.unit_noise is not None:
                noise = self.unit_noise[sample, draw]
            else:
                noise = unit_noise(obs.shape, self.noise_law, generator)
            obs = obs + self.sigma * noise
        return {"obs": obs, "action": self.actions[sample]}
