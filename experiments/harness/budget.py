"""The CPU-time estimate of ``--dry-run``: each unfinished run's cost from the config's cost model
(``budget``), or from a short timed training (``--calibrate``)."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

from experiments.harness.demos import run_demos
from experiments.harness.grid import build_run_config, expand_grid
from experiments.harness.spec import Budget, ExperimentSpec
from experiments.harness.staleness import survey


@dataclasses.dataclass
class Estimate:
    run_id: str
    status: str
    cpu_seconds: float


def estimate(spec: ExperimentSpec, budget: Budget | None = None) -> list[Estimate]:
    """Remaining CPU seconds per run from the budget's cost model and the runs' checkpoints."""
    budget = budget or spec.budget
    runs = expand_grid(spec)
    progress = survey(spec, runs)
    rows = []
    for run in runs:
        missing = progress.missing_variants(spec, run)
        steps = build_run_config(spec, run).train.steps
        stale = run.run_id in progress.stale_runs
        trained = 0 if stale else min(steps, _checkpoint_step(spec.run_directory(run) / "checkpoints" / "latest.pt"))
        if not missing:
            rows.append(Estimate(run.run_id, "done", 0.0))
            continue
        evaluations = len(missing) * max(1, len(spec.evaluation.checkpoints))
        seconds = evaluations * spec.evaluation.episodes * budget.eval_seconds_per_episode
        if trained < steps:
            seconds += budget.setup_seconds_per_run + (steps - trained) / budget.train_steps_per_second
        if stale:
            status = "stale: to redo"
        elif trained >= steps:
            status = "to evaluate"
        else:
            status = f"trained {trained}/{steps}" if trained else "to do"
        rows.append(Estimate(run.run_id, status, seconds))
    return rows


def _checkpoint_step(path: Path) -> int:
    if not path.is_file():
        return 0
    from hint_policy.checkpoint import load_checkpoint

    return int(load_checkpoint(path)["step"])


def calibrate(spec: ExperimentSpec) -> Budget:
    """Time ``budget.calibrate_steps`` training steps of the grid's last run (largest settings last
    in most grids) in a temporary folder; the budget with measured training speed and set-up time.

    Timed in CPU seconds of this process (one torch thread), the cost model's unit, so that a
    machine busy with other jobs gives the cost of a core rather than the share of one this process
    got; the CPU time is split between set-up and the training loop as their wall times are."""
    import torch

    from hint_policy.train import read_training_log, train

    torch.set_num_threads(1)
    run = expand_grid(spec)[-1]
    config = build_run_config(spec, run)
    with tempfile.TemporaryDirectory() as folder:
        config.train.out_dir = folder
        config.train.steps = spec.budget.calibrate_steps
        config.train.checkpoint_every = 0
        start, start_cpu = time.perf_counter(), time.process_time()
        train(config, demos=run_demos(spec, run, config))
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        log = read_training_log(Path(folder) / "train_log.jsonl")
    loop_share = min(1.0, max(1e-6, log[-1]["time"] - log[0]["time"]) / wall)
    loop, setup = cpu * loop_share, cpu * (1 - loop_share)
    print(f"calibration on {run.run_id}: {config.train.steps} steps in {loop:.1f} CPU-s "
          f"({config.train.steps / loop:.1f} steps/s), set-up {setup:.1f} CPU-s ({wall:.1f} s wall in all)")
    return dataclasses.replace(spec.budget, train_steps_per_second=config.train.steps / loop,
                               setup_seconds_per_run=setup)


def print_dry_run(spec: ExperimentSpec, workers: int, budget: Budget | None = None) -> float:
    """Print the grid with each run's status and estimated CPU time; return the total CPU seconds."""
    budget = budget or spec.budget
    rows = estimate(spec, budget)
    print(f"{spec.name}: grid " + " x ".join(f"{key} {values}" for key, values in spec.grid.items())
          + "".join(f", without {entry}" for entry in spec.exclude))
    width = max(len(r.run_id) for r in rows)
    for row in rows:
        print(f"  {row.run_id:<{width}}  {row.status:<18} {row.cpu_seconds / 60:6.1f} min")
    total = sum(r.cpu_seconds for r in rows)
    pending = sum(r.status != "done" for r in rows)
    wall = total / max(1, workers)
    print(f"{spec.name}: {len(rows)} runs x {len(spec.evaluation.variants)} variant(s), {pending} unfinished; "
          f"estimated {total / 60:.1f} CPU-min, about {wall / 60:.1f} min wall with {workers} worker(s) "
          f"(target {budget.wall_minutes:.0f} min with {budget.workers})")
    print(f"  cost model: {budget.train_steps_per_second:.1f} train steps/s, {budget.setup_seconds_per_run:.1f} s "
          f"set-up per run, {budget.eval_seconds_per_episode:.2f} s per evaluation episode"
          + (f"; {budget.note}" if budget.note else ""))
    return total
