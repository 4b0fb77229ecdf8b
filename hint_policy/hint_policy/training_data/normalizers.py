"""Stage 4: per-coordinate min-max scaling to [-1, 1] of observations and actions.

Every coordinate (last axis) is mapped affinely so that its training minimum goes to -1 and its
maximum to +1: ``normalized = (x - center) / half_range`` with ``center = (max + min) / 2`` and
``half_range = (max - min) / 2`` (:class:`MinMaxNormalizer`). A coordinate that is constant on
the training data (for example a gain entry that never changes) would divide by zero; its
``half_range`` is set to 1, so it normalizes to ``x - center`` (0 on the training data) and the
map stays exactly invertible; such coordinates are flagged in ``constant``, and a model learns
only the others (:class:`Normalizers`).

:func:`fit_normalizers` fits the observation normalizer on the real (non-padding) rows of the
observation chunks and the action normalizer on every knot of the composite actions. Both are
stored in checkpoints as dicts of tensors (``state_dict``), so checkpoints load with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

import numpy as np
import torch

from hint_policy.training_data.chunks import ChunkArrays

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)


class MinMaxNormalizer:
    """Affine map of each coordinate of the last axis onto [-1, 1]."""

    def __init__(self, center: torch.Tensor, half_range: torch.Tensor, constant: torch.Tensor | None = None) -> None:
        center = torch.as_tensor(center, dtype=torch.float32)
        half_range = torch.as_tensor(half_range, dtype=torch.float32)
        if center.ndim != 1 or center.shape != half_range.shape:
            raise ValueError(
                f"center and half_range must be 1-D of equal shape, got {tuple(center.shape)} "
                f"and {tuple(half_range.shape)}"
            )
        if not bool(torch.all(half_range > 0)):
            raise ValueError("half_range must be positive")
        constant = torch.zeros_like(center, dtype=torch.bool) if constant is None else torch.as_tensor(constant)
        if constant.shape != center.shape or constant.dtype != torch.bool:
            raise ValueError("constant must be a bool mask of the same shape as center")
        self.center = center
        self.half_range = half_range
        #: coordinates that were constant on the training data
        self.constant = constant

    @property
    def dim(self) -> int:
        return int(self.center.shape[0])

    @classmethod
    def fit(cls, data: np.ndarray | torch.Tensor, relative_eps: float = 1e-6) -> MinMaxNormalizer:
        """Fit on `data` of shape (..., dim): every row along the leading axes is one sample.

        A coordinate whose range is below ``relative_eps * max(1, |center|)`` counts as constant.
        """
        values = torch.as_tensor(np.asarray(data) if not torch.is_tensor(data) else data)
        values = values.to(torch.float64).reshape(-1, values.shape[-1])
        if values.shape[0] == 0:
            raise ValueError("cannot fit a normalizer on zero samples")
        if not bool(torch.all(torch.isfinite(values))):
            raise ValueError("cannot fit a normalizer on non-finite data")
        low = values.min(dim=0).values
        high = values.max(dim=0).values
        center = (high + low) / 2
        half_range = (high - low) / 2
        constant = half_range <= relative_eps * torch.clamp(center.abs(), min=1.0)
        half_range = torch.where(constant, torch.ones_like(half_range), half_range)
        return cls(center.to(torch.float32), half_range.to(torch.float32), constant)

    def normalize(self, x: ArrayT) -> ArrayT:
        """Map raw values (..., dim) to normalized values."""
        center, half_range = self._params_like(x)
        return (x - center) / half_range

    def unnormalize(self, y: ArrayT) -> ArrayT:
        """Map normalized values (..., dim) back to raw values."""
        center, half_range = self._params_like(y)
        return y * half_range + center

    def _params_like(self, x: np.ndarray | torch.Tensor):
        if x.shape[-1] != self.dim:
            raise ValueError(f"expected last dimension {self.dim}, got shape {tuple(x.shape)}")
        if torch.is_tensor(x):
            return self.center.to(x.device, x.dtype), self.half_range.to(x.device, x.dtype)
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
        return self.center.numpy().astype(dtype), self.half_range.numpy().astype(dtype)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"center": self.center.clone(), "half_range": self.half_range.clone(), "constant": self.constant.clone()}

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> MinMaxNormalizer:
        missing = {"center", "half_range"} - set(state)
        if missing:
            raise KeyError(f"normalizer state lacks {sorted(missing)}")
        return cls(state["center"], state["half_range"], state.get("constant"))  # no mask: none constant

    def __repr__(self) -> str:
        return f"MinMaxNormalizer(dim={self.dim})"


@dataclasses.dataclass
class Normalizers:
    """Observation and action scaling, and which action coordinates a model learns.

    Action coordinates that are constant over the training data (gain entries that are always
    zero, or all equal when the gains are time-invariant) carry no information: the denoiser
    learns only the others (:attr:`learned_action_dim`), and :meth:`decode_actions` fills the
    constant ones back in. Noise prediction on a constant coordinate is not free: the denoiser
    would have to output a_noisy / sqrt(1 - alpha_bar_k), unbounded at small k.
    """

    obs: MinMaxNormalizer
    action: MinMaxNormalizer

    @property
    def learned_action_dim(self) -> int:
        return int((~self.action.constant).sum())

    def encode_actions(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw actions (..., D) -> normalized learned coordinates (..., learned_action_dim)."""
        return self.action.normalize(raw)[..., ~self.action.constant]

    def decode_actions(self, learned: np.ndarray) -> np.ndarray:
        """Normalized learned coordinates (..., learned_action_dim) -> raw actions (..., D)."""
        learned = np.asarray(learned, dtype=np.float64)
        full = np.zeros(learned.shape[:-1] + (self.action.dim,))
        full[..., ~self.action.constant.numpy()] = learned
        return self.action.unnormalize(full)

    def state_dict(self) -> dict:
        return {"obs": self.obs.state_dict(), "action": self.action.state_dict()}

    @classmethod
    def from_state_dict(cls, state: dict) -> Normalizers:
        return cls(MinMaxNormalizer.from_state_dict(state["obs"]),
                   MinMaxNormalizer.from_state_dict(state["action"]))


def fit_normalizers(chunks: ChunkArrays) -> Normalizers:
    """Observation normalizer on the real (non-padding) rows, action normalizer on all knots."""
    return Normalizers(
        obs=MinMaxNormalizer.fit(chunks.obs[chunks.obs_real]),
        action=MinMaxNormalizer.fit(chunks.actions),
    )
