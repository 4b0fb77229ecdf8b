"""Mean and spread across seeds of the current results: ``summary.csv`` and the figure.

One row per (grid setting, variant). For each metric m of the experiment:

* ``m_mean``, ``m_std``: over the seeds' result lines, each scored as ``evaluation.best_of`` says;
* ``m_best3_mean``, ``m_best3_std``, ``m_best1_mean``, ``m_best1_std``: the same with each run
  scored by the mean of its 3 best evaluated checkpoints and by its single best
  (:data:`experiments.harness.scoring.SCORINGS`), from the per-checkpoint metrics of its result line.

The standard deviation is the sample one (ddof = 1) over the seeds' values; 0 with one seed.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from experiments.harness.grid import expand_grid, setting_key
from experiments.harness.scoring import SCORINGS, scored_metrics
from experiments.harness.spec import ExperimentSpec
from experiments.harness.staleness import current_records

if TYPE_CHECKING:
    from experiments.harness.runner import Experiment


def summarize(spec: ExperimentSpec, metrics: Sequence[str]) -> list[dict]:
    """The summary rows (module docstring) of the spec's current results."""
    runs = expand_grid(spec)
    by_key = current_records(spec, runs)
    rows = []
    settings = list(dict.fromkeys(setting_key(run.params) for run in runs))
    for setting, variant in itertools.product(settings, spec.evaluation.variants):
        chosen = [by_key[(run.run_id, variant)] for run in runs
                  if setting_key(run.params) == setting and (run.run_id, variant) in by_key]
        if not chosen:
            continue
        row: dict[str, Any] = {**dict(setting), "variant": variant, "seeds": len(chosen)}
        row |= _spread([r["metrics"] for r in chosen], metrics, "")
        for name, best_of in SCORINGS.items():
            row |= _spread([scored_metrics(r, best_of) for r in chosen], metrics, f"_{name}")
        rows.append(row)
    return rows


def _spread(scored: list[dict[str, float]], metrics: Sequence[str], infix: str) -> dict[str, float]:
    """``{metric}{infix}_mean`` and ``_std`` over the seeds' scored metrics."""
    columns = {}
    for metric in metrics:
        values = np.array([s.get(metric, math.nan) for s in scored], dtype=float)
        columns[f"{metric}{infix}_mean"] = float(np.mean(values))
        columns[f"{metric}{infix}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return columns


def write_summary_csv(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_outputs(spec: ExperimentSpec, experiment: Experiment) -> tuple[Path, Path | None]:
    """summary.csv and the figure from the current results (the figure only when there are any)."""
    rows = summarize(spec, experiment.metrics)
    csv_path = write_summary_csv(rows, spec.directory / "summary.csv")
    if not rows:
        return csv_path, None
    import matplotlib

    matplotlib.use("Agg")
    png = spec.directory / f"{spec.name}.png"
    experiment.plot(rows, spec, png)
    return csv_path, png
