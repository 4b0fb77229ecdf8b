"""Baseline chunk policies evaluated through the same executor as HINT (no learning).

:class:`NearestNeighbourPolicy` answers an observation chunk with the composite action of the
closest training observation chunk: the same chunks, layout and normalization that training
builds from a config (:func:`hint_policy.training_data.training_chunks`), Euclidean distance between
normalized, flattened observation chunks, no noise. A learned policy that loses to it over the
same demos has a bug or a wrong recipe.

    python -m hint_policy.evaluate --baseline nearest --config hint_policy/config/pusht.yaml \
        --env pusht --episodes 50 --first-seed 100000
"""

from __future__ import annotations

import numpy as np
import torch

from hint_policy.config import HintConfig
from hint_policy.inference import ChunkPolicy
from hint_policy.training_data import training_chunks
from hint_policy.training_data.chunks import ChunkArrays, ChunkLayout
from hint_policy.training_data.demo_sources import config_demos
from hint_policy.training_data.normalizers import Normalizers, fit_normalizers

#: baselines selectable by name (evaluate --baseline)
BASELINES = ("nearest",)


class NearestNeighbourPolicy(ChunkPolicy):
    """The composite action of the nearest training observation chunk (normalized L2)."""

    def __init__(self, chunks: ChunkArrays, layout: ChunkLayout, normalizers: Normalizers,
                 source: str = "<memory>") -> None:
        super().__init__(layout, sigma=0.0, source=source)
        self.normalizers = normalizers
        self.keys = self._keys(chunks.obs)
        self.actions = np.asarray(chunks.actions, dtype=float)

    @classmethod
    def from_config(cls, config: HintConfig) -> NearestNeighbourPolicy:
        """Index the chunks that training on `config` would use (its demos, features and gains)."""
        demos = config_demos(config.data)
        chunks, layout = training_chunks(config.data, demos)
        return cls(chunks, layout, fit_normalizers(chunks), source=f"nearest({len(demos)} demos)")

    def _keys(self, raw_obs: np.ndarray) -> torch.Tensor:
        normalized = self.normalizers.obs.normalize(torch.as_tensor(raw_obs, dtype=torch.float32))
        return normalized.flatten(start_dim=1)

    def raw_actions(self, raw_obs: np.ndarray) -> np.ndarray:
        nearest = torch.cdist(self._keys(raw_obs), self.keys).argmin(dim=1).numpy()
        return self.actions[nearest]

    def __repr__(self) -> str:
        return f"NearestNeighbourPolicy({self.source}, {len(self.actions)} chunks)"
