"""Training and evaluating the runs of an experiment.

Resuming: a run whose result lines all exist is skipped; a run with a checkpoint continues
training from it (``train(resume=True)``; bitwise the same as an uninterrupted run on CPU) or, if
training had finished, is only evaluated. Each run is evaluated once per variant with
:func:`hint_policy.evaluate.evaluate_policy` on the test seeds ``first_seed ..``, at every
checkpoint ``evaluation.checkpoints`` names (the final one when it names none).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from experiments.harness.demos import DemoSelection, ensure_demos, run_demos
from experiments.harness.dispatch import dispatch, importable
from experiments.harness.grid import RunSpec, build_run_config, expand_grid
from experiments.harness.scoring import best_checkpoints, mean_metrics
from experiments.harness.spec import ExperimentSpec
from experiments.harness.staleness import append_records, handle_stale, record_hash, run_hash, survey
from hint_policy.config import HintConfig


@dataclasses.dataclass
class Experiment:
    """What a figure module adds to the harness. Functions must be module-level (they are sent to
    worker processes)."""

    #: keys of the evaluation metrics (EvalSummary.metrics) to summarize
    metrics: tuple[str, ...]
    #: env_factory(spec) -> a function making one evaluation env (called in the worker)
    env_factory: Callable[[ExperimentSpec], Callable[[], Any]]
    #: plot(summary_rows, spec, png_path)
    plot: Callable[[list[dict], ExperimentSpec, Path], None]
    #: prepare(spec): main-process set-up before any run (e.g. expert reference paths)
    prepare: Callable[[ExperimentSpec], None] | None = None

    def importable(self) -> Experiment:
        """This experiment with its functions made :func:`~experiments.harness.dispatch.importable`."""
        return dataclasses.replace(self, **{field: importable(getattr(self, field))
                                            for field in ("env_factory", "plot", "prepare")
                                            if getattr(self, field) is not None})


@dataclasses.dataclass
class RunJob:
    spec: ExperimentSpec
    run: RunSpec
    variants: list[str]
    env_factory: Callable[[ExperimentSpec], Callable[[], Any]]


def execute_run(job: RunJob) -> list[dict]:
    """Train (or finish training) one run with one torch thread, then evaluate the requested
    variants; one record each."""
    import torch

    torch.set_num_threads(1)
    spec, run = job.spec, job.run
    config = build_run_config(spec, run)
    demos = run_demos(spec, run, config)
    selection = DemoSelection.of(demos)
    run_dir = spec.run_directory(run)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "run.json").write_text(json.dumps({
        "run_id": run.run_id, "params": run.params, "seed": run.seed, "run_hash": run_hash(spec, run),
        "demo_seeds": selection.seeds, "demo_digest": selection.digest,
    }, indent=2) + "\n")
    training = train_run(config, demos)
    make_env = job.env_factory(spec)
    return [evaluate_variant(spec, run, variant, training, make_env, selection) for variant in job.variants]


@dataclasses.dataclass
class TrainingOutcome:
    checkpoint: Path
    step: int
    loss: float
    seconds: float  # wall time of training in this call (0 when it had finished before)


def train_run(config: HintConfig, demos: list) -> TrainingOutcome:
    """Train to ``train.steps``, continuing from the run's checkpoint; skipped when already there."""
    from hint_policy.checkpoint import load_checkpoint
    from hint_policy.train import train

    latest = Path(config.train.out_dir) / "checkpoints" / "latest.pt"
    if latest.is_file():
        payload = load_checkpoint(latest)
        if int(payload["step"]) >= config.train.steps:
            return TrainingOutcome(latest, int(payload["step"]), float(payload["metrics"]["loss"]), 0.0)
    start = time.perf_counter()
    result = train(config, demos=demos, resume=latest.is_file())
    if result.checkpoint is None:
        raise RuntimeError(f"training into {config.train.out_dir} wrote no checkpoint")
    return TrainingOutcome(result.checkpoint, result.step, result.last_loss, time.perf_counter() - start)


def evaluate_variant(
    spec: ExperimentSpec, run: RunSpec, variant: str, training: TrainingOutcome,
    make_env: Callable[[], Any], demos: DemoSelection,
) -> dict:
    """Closed-loop evaluation of one variant of a trained run, as a result record: ``metrics`` the
    mean over the ``evaluation.best_of`` best checkpoints (``best_steps``), ``checkpoints`` every
    evaluated checkpoint's step and metrics, ``episodes`` the last checkpoint's episodes."""
    from hint_policy.evaluate import evaluate_policy
    from hint_policy.inference import HintPolicy

    settings = spec.evaluation
    evaluations = []
    for step, path in evaluated_checkpoints(spec, training):
        policy = HintPolicy.from_checkpoint(path, sigma=settings.variants[variant], sampler=settings.sampler,
                                            sampler_steps=settings.sampler_steps, seed=run.seed)
        summary = evaluate_policy(policy, make_env, settings.seeds(), settings.exec_knots, settings.batch)
        evaluations.append({"step": step, "metrics": summary.metrics,
                            "episodes": [_episode_record(e) for e in summary.episodes]})
    best = best_checkpoints(evaluations, settings.best_of)
    return {
        "experiment": spec.name, "run_id": run.run_id, "variant": variant,
        "record_hash": record_hash(spec, run, variant), "run_hash": run_hash(spec, run),
        "params": run.params, "seed": run.seed, "train_sigma": policy.training_sigma, "eval_sigma": policy.sigma,
        "demo_seeds": demos.seeds, "demo_digest": demos.digest, "metrics": mean_metrics([e["metrics"] for e in best]),
        "best_steps": [e["step"] for e in best],
        "checkpoints": [{"step": e["step"], "metrics": e["metrics"]} for e in evaluations],
        "episodes": evaluations[-1]["episodes"],
        "train": {"step": training.step, "loss": training.loss, "seconds": round(training.seconds, 2)},
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def evaluated_checkpoints(spec: ExperimentSpec, training: TrainingOutcome) -> list[tuple[int, Path]]:
    """(training step, checkpoint file) of each checkpoint a run is evaluated at."""
    if not spec.evaluation.checkpoints:
        return [(training.step, training.checkpoint)]
    folder = training.checkpoint.parent
    chosen = [(step, folder / f"step_{step:08d}.pt") for step in spec.evaluation.checkpoints]
    missing = [str(path) for _, path in chosen if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"checkpoints to evaluate are missing: {', '.join(missing)} "
                                "(trained with train.keep_checkpoints off? delete the run folder to retrain)")
    return chosen


def _episode_record(episode) -> dict:
    return {"seed": episode.seed, "score": episode.score, "success": episode.success,
            "collision": episode.collision, "steps": episode.steps, **episode.task_metrics}


def run_experiment(spec: ExperimentSpec, experiment: Experiment, workers: int = 1,
                   restart_stale: bool = False, progress_bar: bool = True, address: str | None = None) -> list[str]:
    """Train and evaluate every unfinished run; returns the ids of runs that failed. `workers` > 1
    or a Ray cluster `address` runs them as Ray tasks (:mod:`experiments.harness.dispatch`)."""
    runs = expand_grid(spec)
    ensure_demos(spec, runs, workers)  # first: results made on other demos are stale
    progress = survey(spec, runs)
    handle_stale(spec, progress, restart_stale)
    spec.directory.mkdir(parents=True, exist_ok=True)
    (spec.directory / "experiment.yaml").write_text(yaml.safe_dump(dataclasses.asdict(spec), sort_keys=False))
    if experiment.prepare is not None:
        experiment.prepare(spec)
    jobs = [RunJob(spec, run, missing, experiment.env_factory)
            for run in runs if (missing := progress.missing_variants(spec, run))]
    where = f"on the Ray cluster at {address}" if address else f"with {workers} worker(s)"
    print(f"{spec.name}: {len(runs)} runs, {len(runs) - len(jobs)} finished, {len(jobs)} to do {where}", flush=True)
    failed: list[str] = []
    bar = _bar(len(runs), len(runs) - len(jobs), spec.name, progress_bar)
    try:
        for job, outcome in dispatch(execute_run, jobs, workers, address):
            if isinstance(outcome, BaseException):
                failed.append(job.run.run_id)
                print(f"\nrun {job.run.run_id} failed: {''.join(traceback.format_exception(outcome))}",
                      file=sys.stderr, flush=True)
            else:
                append_records(spec.results_file, outcome)
                bar.set_postfix_str(_postfix(outcome, experiment.metrics[0]))
            bar.update(1)
    finally:
        bar.close()
    return failed


def _bar(total: int, initial: int, name: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=name, unit="run", dynamic_ncols=True, disable=not enabled)


def _postfix(records: list[dict], metric: str) -> str:
    parts = [f"{r['variant']} {metric}={r['metrics'].get(metric, math.nan):.3g}" for r in records]
    return f"{records[0]['run_id']}: " + ", ".join(parts)
