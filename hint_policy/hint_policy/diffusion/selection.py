"""Choosing the composite action to execute among candidates sampled for one observation.

A diffusion policy's sample is one draw from the action distribution it learned. Drawing
``candidates`` chunks for the same observation and executing their medoid (the candidate whose
summed distance to the other candidates is least) keeps the choice inside the data's modes (the
medoid is one of the draws, never an average of two modes) and takes the draw nearest the centre
of the likeliest mode: for PushT, 8 candidates halve the episodes lost in the last, fine pushes
(docs/results.md, Sampling several candidates).
"""

from __future__ import annotations

import torch


def medoid(candidates: torch.Tensor) -> torch.Tensor:
    """(K, B, ...) candidates -> (B, ...): for each batch element, the candidate with the least summed
    Euclidean distance to the other K - 1 (the first such candidate on a tie)."""
    if candidates.ndim < 2 or candidates.shape[0] < 1:
        raise ValueError(f"candidates must be shaped (K >= 1, B, ...), got {tuple(candidates.shape)}")
    count, batch = candidates.shape[:2]
    if count == 1:
        return candidates[0]
    flat = candidates.reshape(count, batch, -1).transpose(0, 1)  # (B, K, features)
    chosen = torch.cdist(flat, flat).sum(dim=-1).argmin(dim=-1)  # (B,)
    return candidates[chosen, torch.arange(batch)]
