"""A run's score from its evaluated checkpoints.

A run evaluated at several checkpoints (``evaluation.checkpoints``) is scored by the mean of its k
best, ranked by mean score (ties: the later step), every metric taken from the same k checkpoints.
Two scorings are reported side by side (:data:`SCORINGS`): the mean of the 3 best, as the HINT
paper's text describes its protocol, and the single best, as the authors' plotting notebook does.
A run with fewer evaluated checkpoints than k scores the mean over all of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: summary scorings: column infix -> how many best checkpoints a run's metrics are the mean of
SCORINGS = {"best3": 3, "best1": 1}
#: the metric checkpoints are ranked by
RANKING_METRIC = "mean_score"


def best_checkpoints(evaluations: list[dict], best_of: int) -> list[dict]:
    """The `best_of` evaluations ({"step", "metrics"}) with the highest mean score (ties: the later
    step), in step order; 0 = all."""
    if best_of <= 0:
        return evaluations
    ranked = sorted(evaluations, key=lambda e: (e["metrics"][RANKING_METRIC], e["step"]), reverse=True)
    return sorted(ranked[:best_of], key=lambda e: e["step"])


def mean_metrics(metrics: Sequence[dict[str, float]]) -> dict[str, float]:
    """Each metric's mean over evaluations (the metrics every evaluation has)."""
    keys = [k for k in metrics[0] if all(k in m for m in metrics)]
    return {k: float(np.mean([m[k] for m in metrics])) for k in keys}


def scored_metrics(record: dict, best_of: int) -> dict[str, float]:
    """A result line's metrics under the best-`best_of` scoring, from its per-checkpoint metrics
    (``checkpoints``); a line evaluated at one checkpoint only (no ``checkpoints``) has its
    ``metrics``, whatever `best_of`."""
    evaluations = record.get("checkpoints")
    if not evaluations:
        return record["metrics"]
    return mean_metrics([e["metrics"] for e in best_checkpoints(evaluations, best_of)])
