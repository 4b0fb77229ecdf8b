"""The observation noise of the replica policy (Block et al. 2023, eq. 4.1 and Algorithm 1).

HINT trains on noised observations ``o_h + sigma * w`` and adds the same noise again at run time.
``sigma`` scales a unit draw ``w`` of one of two laws, applied per coordinate of the normalized
observation chunk (padding included):

* ``"gaussian"``: w ~ N(0, I), the paper's Algorithm 1 (mean 0, standard deviation sigma);
* ``"uniform"``: w ~ U[0, 1), what the HINT authors' code adds (``sigma * torch.rand``): mean
  sigma / 2, standard deviation sigma / sqrt(12).

The training data (:class:`hint_policy.training_data.noised_dataset.HintDataset`) and the policy
(:class:`hint_policy.inference.HintPolicy`) draw through :func:`unit_noise` with the checkpoint's
``data.noise_law``, so a policy always sees the law it was trained with.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

#: the laws of the unit draw w, by their config name (``data.noise_law``)
NOISE_LAWS = ("gaussian", "uniform")


def unit_noise(shape: Sequence[int], law: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """A float32 tensor of unit draws w of `law`; the noise is ``sigma * w``."""
    if law == "gaussian":
        return torch.randn(tuple(shape), generator=generator)
    if law == "uniform":
        return torch.rand(tuple(shape), generator=generator)
    raise ValueError(f"noise law must be one of {', '.join(NOISE_LAWS)}, got {law!r}")
