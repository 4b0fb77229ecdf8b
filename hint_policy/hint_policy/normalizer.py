"""Per-coordinate min-max scaling to [-1, 1], fitted on training data.

Every coordinate (last axis) is mapped affinely so that its training minimum goes to -1 and its
maximum to +1: ``normalized = (x - center) / half_range`` with ``center = (max + min) / 2`` and
``half_range = (max - min) / 2``. A coordinate that is constant on the training data (for
example a gain entry that never changes) would divide by zero; its ``half_range`` is set to 1,
so it normalizes to ``x - center`` (0 on the training data) and the map stays exactly invertible;
such coordinates are flagged in ``constant`` (a model need not learn them, see
:class:`hint_policy.dataset.Normalizers`).

The normalizer is stored in checkpoints as a dict of two tensors (``state_dict``), so checkpoints
load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

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
        return cls(state["center"], state["half_range"], state.get("constant"))  # older files: no mask

    def __repr__(self) -> str:
        return f"MinMaxNormalizer(dim={self.dim})"
