"""Harness of the paper experiments: a grid of training runs, each trained then evaluated, resumable.

An experiment config (YAML, see ``experiments/configs/``) names a base training config
(``base_config``, e.g. hint_policy/config/quadrotor.yaml), sections merged over it for every run
(``training``), a ``grid`` of dotted config keys with the values to try (plus ``seed``), the demo
file, the evaluation (test seeds, variants = evaluation sigmas) and the CPU ``budget``.

Runs are the Cartesian product of the grid, seed-major: every setting's seed 0 comes before any
seed 1, so an experiment stopped half-way already covers the whole figure with fewer seeds.
A run with seed s trains with ``train.seed = data.noise_seed = s`` (and, with
``demos.subsets: by_seed``, on the successful demos s*N .. s*N + N - 1 of the file, so seeds also
differ in their data), then is evaluated once per variant with
:func:`hint_policy.evaluate.evaluate_policy` on the test seeds ``first_seed ..``, the policy's
sampling noise seeded with s.

Files under ``<results_root>/<name>/``:

* ``runs/<run_id>/``: the training output (config.yaml, train_log.jsonl, checkpoints/latest.pt)
  and ``run.json`` (grid values, demo seeds and digest, the run's settings hash);
* ``results.jsonl``: one line per (run, variant): grid values, metrics, per-episode results;
* ``summary.csv``: mean and standard deviation across seeds per (setting, variant);
* ``<name>.png``: the figure (drawn by the experiment module); ``experiment.yaml``: the config used.

Resuming: a run whose result lines all exist is skipped; a run with a checkpoint continues
training from it (``train(resume=True)``; bitwise the same as an uninterrupted run on CPU) or, if
training had finished, is only evaluated. Each result line and run folder carries a hash of the
settings it was made with and the seeds and a digest of the demos it trained on; if the config
changed, or the demo file was rewritten with other demos (another expert, say), the harness stops
and names the stale runs (``--restart-stale`` moves their result lines to
``results.stale.jsonl`` and deletes their run folders).

Where runs go: ``--workers 1`` trains them one after another in this process; ``--workers K``
runs them as Ray tasks (one CPU and one torch thread each) on a local Ray instance of K CPUs
started for the sweep; ``--address HOST:PORT`` (or ``auto``) sends the same tasks to a running
Ray cluster instead, whose workers must see this repository at the same path (a shared file
system) and the same environment (``make setup`` on each node). Results stream back to this
process, which alone writes ``results.jsonl``, so a sweep interrupted on a cluster resumes like a
local one.
"""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import functools
import hashlib
import importlib
import itertools
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from hint_policy.config import HintConfig, config_from_dict, config_to_dict

#: the grid key that sets the training seed, the noise seed, the demo subset and the policy's seed
SEED_KEY = "seed"
#: training settings that do not change the result (left out of the run hash)
_NEUTRAL_TRAIN_KEYS = ("out_dir", "progress", "threads", "device", "checkpoint_every", "log_every",
                       "keep_checkpoints")


# --------------------------------------------------------------------------- the config


@dataclasses.dataclass
class DemoSource:
    """The demo file; written by the expert when missing."""

    file: str = ""
    #: expert environment (hint_policy.experts.generate --env)
    env: str = ""
    #: demos to generate when the file is missing
    generate: int = 100
    generate_seed_start: int = 0
    #: "first" = every run uses the first data.num_demos successful demos (all when null);
    #: "by_seed" = the run with seed s uses successful demos s*N .. s*N + N - 1
    subsets: str = "first"


@dataclasses.dataclass
class EvaluationSettings:
    """Closed-loop evaluation of every run (see hint_policy.evaluate)."""

    env: str = ""
    episodes: int = 25
    first_seed: int = 100000
    exec_knots: int = 8
    #: episodes run in lockstep (one batched policy call per replanning time)
    batch: int = 25
    sampler: str = "ddim"
    sampler_steps: int = 10
    #: variant name -> observation noise sigma at evaluation; null = the run's training sigma
    variants: dict[str, float | None] = dataclasses.field(default_factory=lambda: {"hint": None})
    #: training steps whose checkpoints are evaluated (they must be saved: train.checkpoint_every
    #: divides each, train.keep_checkpoints); empty = the final checkpoint only
    checkpoints: list[int] = dataclasses.field(default_factory=list)
    #: a run's metrics = the mean over its `best_of` best evaluated checkpoints, ranked by mean
    #: score (the paper's protocol: 3); 0 = the mean over all of them
    best_of: int = 0

    def seeds(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.episodes))


@dataclasses.dataclass
class Budget:
    """CPU cost model used by --dry-run (seconds of one core); figures measured as the config says."""

    #: training steps per second of one run with one torch thread
    train_steps_per_second: float = 50.0
    #: per run: reading demos, gain synthesis, building chunks, model set-up
    setup_seconds_per_run: float = 5.0
    eval_seconds_per_episode: float = 0.3
    #: wall-clock target of the whole experiment with `workers` processes
    wall_minutes: float = 60.0
    workers: int = 2
    #: training steps `--calibrate` times
    calibrate_steps: int = 100
    note: str = ""


@dataclasses.dataclass
class ExperimentSpec:
    name: str = ""
    results_root: str = "results/experiments"
    #: training config every run starts from (YAML of hint_policy.config)
    base_config: str = ""
    #: sections merged over the base config for every run, e.g. {model: {mlp_hidden: 256}}
    training: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: dotted training-config key (or "seed") -> values; runs are the Cartesian product
    grid: dict[str, list] = dataclasses.field(default_factory=dict)
    demos: DemoSource = dataclasses.field(default_factory=DemoSource)
    evaluation: EvaluationSettings = dataclasses.field(default_factory=EvaluationSettings)
    budget: Budget = dataclasses.field(default_factory=Budget)

    @property
    def directory(self) -> Path:
        return Path(self.results_root) / self.name

    @property
    def results_file(self) -> Path:
        return self.directory / "results.jsonl"

    def run_directory(self, run: RunSpec) -> Path:
        return self.directory / "runs" / run.run_id

    def validate(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9._-]+", self.name or ""):
            raise ValueError(f"experiment name must be a plain file name, got {self.name!r}")
        if not self.base_config:
            raise ValueError("base_config (a hint_policy training config) is required")
        if not self.demos.file or not self.demos.env:
            raise ValueError("demos.file and demos.env are required")
        if self.demos.subsets not in ("first", "by_seed"):
            raise ValueError(f"demos.subsets must be 'first' or 'by_seed', got {self.demos.subsets!r}")
        if not self.evaluation.env or self.evaluation.episodes < 1:
            raise ValueError("evaluation.env is required and evaluation.episodes must be >= 1")
        if not self.evaluation.variants:
            raise ValueError("evaluation.variants must name at least one variant")
        steps = self.evaluation.checkpoints
        if not all(isinstance(s, int) and s > 0 for s in steps) or steps != sorted(set(steps)):
            raise ValueError(f"evaluation.checkpoints must list increasing positive training steps, got {steps}")
        if not 0 <= self.evaluation.best_of <= max(1, len(steps)):
            raise ValueError(f"evaluation.best_of must be within 0 .. {max(1, len(steps))} "
                             f"(the evaluated checkpoints), got {self.evaluation.best_of}")
        for key, values in self.grid.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"grid.{key} must be a non-empty list")
            if len(set(map(repr, values))) != len(values):
                raise ValueError(f"grid.{key} lists a value twice")
        seeds = self.grid.get(SEED_KEY, [0])
        if not all(isinstance(s, int) and s >= 0 for s in seeds):
            raise ValueError(f"grid.seed must list non-negative integers, got {seeds}")
        if self.budget.train_steps_per_second <= 0 or self.budget.workers < 1:
            raise ValueError("budget.train_steps_per_second must be > 0 and budget.workers >= 1")


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read and check an experiment config; every run's training config is built once to check it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"experiment config {path} does not exist")
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict):
        raise ValueError(f"experiment config {path} must hold a mapping")
    spec = config_from_dict(ExperimentSpec, values)
    spec.validate()
    for run in expand_grid(spec):
        build_run_config(spec, run)
    return spec


# --------------------------------------------------------------------------- the grid


@dataclasses.dataclass
class RunSpec:
    """One training run: grid values (dotted keys, seed excluded) and the seed."""

    run_id: str
    params: dict[str, Any]
    seed: int


def expand_grid(spec: ExperimentSpec) -> list[RunSpec]:
    """All runs of the grid, seed-major (all settings of seed 0 first), keys in config order."""
    keys = [k for k in spec.grid if k != SEED_KEY]
    runs = []
    for seed in spec.grid.get(SEED_KEY, [0]):
        for values in itertools.product(*(spec.grid[k] for k in keys)):
            params = dict(zip(keys, values))
            runs.append(RunSpec(run_id=run_identifier(params, seed), params=params, seed=int(seed)))
    return runs


def run_identifier(params: dict[str, Any], seed: int) -> str:
    """``name=value,...,seed=s`` with each key's last dotted part (a folder name)."""
    parts = [f"{key.rsplit('.', 1)[-1]}={value}" for key, value in params.items()] + [f"{SEED_KEY}={seed}"]
    identifier = ",".join(parts)
    if not re.fullmatch(r"[A-Za-z0-9._=,+-]+", identifier):
        raise ValueError(f"grid values give the run id {identifier!r}, not usable as a folder name")
    return identifier


def setting_key(params: dict[str, Any]) -> tuple:
    return tuple(params.items())


def build_run_config(spec: ExperimentSpec, run: RunSpec) -> HintConfig:
    """Base YAML, then ``training`` merged over it, then the run's grid values, seed and paths."""
    base_path = Path(spec.base_config)
    if not base_path.is_file():
        raise FileNotFoundError(f"base_config {base_path} does not exist")
    values = yaml.safe_load(base_path.read_text()) or {}
    values = _deep_merge(values, spec.training)
    for key, value in run.params.items():
        _set_dotted(values, key, value)
    fixed = {
        "data.demos": [spec.demos.file], "data.noise_seed": run.seed, "train.seed": run.seed,
        "train.out_dir": str(spec.run_directory(run)), "train.progress": False, "train.threads": 1,
        "eval.every_steps": 0,
    }
    for key, value in fixed.items():
        _set_dotted(values, key, value)
    try:
        config = config_from_dict(HintConfig, values)
        config.validate()
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"run {run.run_id}: bad training config: {error}") from error
    _check_evaluated_checkpoints(spec.evaluation.checkpoints, config, run)
    return config


def _check_evaluated_checkpoints(steps: Sequence[int], config: HintConfig, run: RunSpec) -> None:
    """Every evaluated checkpoint is one training saves and keeps."""
    train = config.train
    saved = {train.steps} | ({s for s in steps if train.checkpoint_every > 0 and s % train.checkpoint_every == 0}
                              if train.keep_checkpoints else set())
    missing = [s for s in steps if s not in saved or s > train.steps]
    if missing:
        raise ValueError(f"run {run.run_id}: evaluation.checkpoints {missing} are not saved by training "
                         f"(train.steps {train.steps}, checkpoint_every {train.checkpoint_every}, "
                         f"keep_checkpoints {train.keep_checkpoints})")


def _deep_merge(base: dict, update: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in (update or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _set_dotted(values: dict, key: str, value: Any) -> None:
    node = values
    *sections, leaf = key.split(".")
    if not sections:
        raise ValueError(f"grid key {key!r} must be 'section.key' (e.g. data.sigma) or 'seed'")
    for section in sections:
        node = node.setdefault(section, {})
        if not isinstance(node, dict):
            raise ValueError(f"config key {key!r}: {section} is not a section")
    node[leaf] = value


# --------------------------------------------------------------------------- hashes and records


def run_hash(spec: ExperimentSpec, run: RunSpec) -> str:
    """Hash of what determines the trained weights: the training config (minus paths and logging)
    and the demo selection."""
    config = config_to_dict(build_run_config(spec, run))
    for key in _NEUTRAL_TRAIN_KEYS:
        config["train"].pop(key)
    config.pop("eval")
    return _hash({"config": config, "subsets": spec.demos.subsets})


def record_hash(spec: ExperimentSpec, run: RunSpec, variant: str) -> str:
    """Hash of a result line: the run hash, the evaluation settings and the variant's sigma."""
    settings = dataclasses.asdict(spec.evaluation)
    settings.pop("variants")
    return _hash({"run": run_hash(spec, run), "evaluation": settings, "variant": variant,
                  "sigma": spec.evaluation.variants[variant]})


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def read_records(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number} is not JSON ({error}); remove the line to continue") from error
    return records


def append_records(path: Path, records: Sequence[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as stream:
        for record in records:
            stream.write(json.dumps(record) + "\n")
        stream.flush()


@dataclasses.dataclass(frozen=True)
class DemoSelection:
    """The demos a run trains on: their seeds and a digest of their content."""

    seeds: list[int]
    digest: str

    @classmethod
    def of(cls, demos: Sequence) -> "DemoSelection":
        content = hashlib.sha256()
        for demo in demos:
            content.update(str(demo.seed).encode())
            for array in (demo.states, demo.inputs):
                content.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        return cls([int(d.seed) for d in demos], content.hexdigest()[:16])

    def made(self, facts: dict) -> bool:
        """Whether a result line or run.json was made on these demos (lines written before the
        digest was kept are compared by their demo seeds)."""
        return facts.get("demo_seeds") == self.seeds and facts.get("demo_digest", self.digest) == self.digest


def current_demos(spec: ExperimentSpec, runs: Sequence[RunSpec]) -> dict[str, DemoSelection] | None:
    """What each run would train on now; None while the demo file does not exist (it is written
    by the expert first, and the same expert writes the same demos)."""
    if not Path(spec.demos.file).is_file():
        return None
    by_demos: dict[tuple[int, ...], DemoSelection] = {}  # runs sharing their demos share one digest
    selections = {}
    for run in runs:
        chosen = run_demos(spec, run, build_run_config(spec, run))  # objects of the one cached load
        key = tuple(map(id, chosen))
        if key not in by_demos:
            by_demos[key] = DemoSelection.of(chosen)
        selections[run.run_id] = by_demos[key]
    return selections


def _is_current(facts: dict, hash_key: str, expected_hash: str | None,
                demos: dict[str, DemoSelection] | None) -> bool:
    """A result line (hash_key "record_hash") or run.json ("run_hash") made with the settings and
    the demos its run has now."""
    if facts.get(hash_key) != expected_hash:
        return False
    return demos is None or demos[facts["run_id"]].made(facts)


@dataclasses.dataclass
class Progress:
    """Where the experiment stands: finished (run, variant) pairs and stale leftovers."""

    done: set[tuple[str, str]]
    stale_records: list[dict]
    stale_runs: list[str]  # run ids whose run folder was trained with other settings

    def missing_variants(self, spec: ExperimentSpec, run: RunSpec) -> list[str]:
        return [v for v in spec.evaluation.variants if (run.run_id, v) not in self.done]


def survey(spec: ExperimentSpec, runs: Sequence[RunSpec]) -> Progress:
    """Finished and stale results and run folders. Stale: made with other settings than the config
    gives now, or on other demos than the demo file holds now (a rewritten file)."""
    expected = {(run.run_id, v): record_hash(spec, run, v) for run in runs for v in spec.evaluation.variants}
    demos = current_demos(spec, runs)
    done, stale = set(), []
    for record in read_records(spec.results_file):
        key = (record.get("run_id"), record.get("variant"))
        if key not in expected:
            continue  # a run no longer in the grid: kept, not summarized
        if _is_current(record, "record_hash", expected[key], demos):
            done.add(key)
        else:
            stale.append(record)
    stale_runs = []
    for run in runs:
        info = spec.run_directory(run) / "run.json"
        if info.is_file() and not _is_current(json.loads(info.read_text()), "run_hash", run_hash(spec, run), demos):
            stale_runs.append(run.run_id)
    return Progress(done, stale, stale_runs)


def discard_stale(spec: ExperimentSpec, progress: Progress) -> None:
    """Move stale result lines to results.stale.jsonl and delete stale run folders."""
    if progress.stale_records:
        append_records(spec.directory / "results.stale.jsonl", progress.stale_records)
        keep = [r for r in read_records(spec.results_file) if r not in progress.stale_records]
        temporary = spec.results_file.with_suffix(".jsonl.tmp")
        temporary.write_text("".join(json.dumps(r) + "\n" for r in keep))
        temporary.replace(spec.results_file)
    for run_id in progress.stale_runs:
        shutil.rmtree(spec.directory / "runs" / run_id)
    progress.stale_records, progress.stale_runs = [], []


# --------------------------------------------------------------------------- one run


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


@dataclasses.dataclass
class RunJob:
    spec: ExperimentSpec
    run: RunSpec
    variants: list[str]
    env_factory: Callable[[ExperimentSpec], Callable[[], Any]]


def execute_run(job: RunJob) -> list[dict]:
    """Train (or finish training) one run, then evaluate the requested variants; one record each."""
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


def run_demos(spec: ExperimentSpec, run: RunSpec, config: HintConfig) -> list:
    """The demos a run trains on (successful ones; see DemoSource.subsets)."""
    path = Path(spec.demos.file)
    usable = [d for d in _load_demos(str(path), path.stat().st_mtime_ns)
              if d.success or not config.data.only_successful]
    count = config.data.num_demos
    if spec.demos.subsets == "first" or count is None:
        chosen = usable[:count] if count is not None else usable
    else:
        chosen = usable[run.seed * count : (run.seed + 1) * count]
    if not chosen or (count is not None and len(chosen) < count):
        raise ValueError(f"run {run.run_id}: {path} has {len(usable)} usable demos, too few "
                         f"for data.num_demos={count} with demos.subsets={spec.demos.subsets}")
    return chosen


@functools.lru_cache(maxsize=2)
def _load_demos(path: str, modified_ns: int) -> list:
    """The demos of `path` (cached per process; `modified_ns` makes a rewritten file load again)."""
    from hint_policy.demos import load_demos

    return load_demos(path)


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
    """Closed-loop evaluation of one variant of a trained run, as a result record."""
    from hint_policy.evaluate import evaluate_policy
    from hint_policy.inference import HintPolicy

    settings = spec.evaluation
    evaluations = []
    for step, path in evaluated_checkpoints(spec, training):
        policy = HintPolicy.from_checkpoint(path, sigma=settings.variants[variant], sampler=settings.sampler,
                                            steps=settings.sampler_steps, seed=run.seed)
        summary = evaluate_policy(policy, make_env, settings.seeds(), settings.exec_knots, settings.batch)
        evaluations.append({"step": step, "metrics": summary.metrics,
                            "episodes": [_episode_record(e) for e in summary.episodes]})
    best = best_checkpoints(evaluations, settings.best_of)
    record = {
        "experiment": spec.name, "run_id": run.run_id, "variant": variant,
        "record_hash": record_hash(spec, run, variant), "run_hash": run_hash(spec, run),
        "params": run.params, "seed": run.seed, "train_sigma": policy.training_sigma, "eval_sigma": policy.sigma,
        "demo_seeds": demos.seeds, "demo_digest": demos.digest, "metrics": mean_metrics([e["metrics"] for e in best]),
        "episodes": evaluations[-1]["episodes"],
        "train": {"step": training.step, "loss": training.loss, "seconds": round(training.seconds, 2)},
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if settings.checkpoints:  # metrics: the mean over best_steps; episodes: the last checkpoint's
        record |= {"best_steps": [e["step"] for e in best],
                   "checkpoints": [{"step": e["step"], "metrics": e["metrics"]} for e in evaluations]}
    return record


def evaluated_checkpoints(spec: ExperimentSpec, training: TrainingOutcome) -> list[tuple[int, Path]]:
    """(training step, checkpoint file) of each checkpoint a run is evaluated at."""
    if not spec.evaluation.checkpoints:
        return [(training.step, training.checkpoint)]
    folder = training.checkpoint.parent
    chosen = [(step, folder / f"step_{step:08d}.pt") for step in spec.evaluation.checkpoints]
    missing = [str(path) for _, path in chosen if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"checkpoints to evaluate are missing: {', '.join(missing)} "
                                "(trained before train.keep_checkpoints was set? delete the run folder to retrain)")
    return chosen


def best_checkpoints(evaluations: list[dict], best_of: int) -> list[dict]:
    """The `best_of` evaluations with the highest mean score (ties: the later step); 0 = all."""
    if best_of <= 0:
        return evaluations
    ranked = sorted(evaluations, key=lambda e: (e["metrics"]["mean_score"], e["step"]), reverse=True)
    return sorted(ranked[:best_of], key=lambda e: e["step"])


def mean_metrics(metrics: Sequence[dict[str, float]]) -> dict[str, float]:
    """Each metric's mean over evaluations (the metrics every evaluation has)."""
    keys = [k for k in metrics[0] if all(k in m for m in metrics)]
    return {k: float(np.mean([m[k] for m in metrics])) for k in keys}


def _episode_record(episode) -> dict:
    return {"seed": episode.seed, "score": episode.score, "success": episode.success,
            "collision": episode.collision, "steps": episode.steps, **episode.task_metrics}


# --------------------------------------------------------------------------- many runs


def run_experiment(spec: ExperimentSpec, experiment: Experiment, workers: int = 1,
                   restart_stale: bool = False, progress_bar: bool = True, address: str | None = None) -> list[str]:
    """Train and evaluate every unfinished run; returns the ids of runs that failed. `workers` > 1
    or a Ray cluster `address` runs them as Ray tasks (module docstring)."""
    runs = expand_grid(spec)
    ensure_demos(spec, runs, workers)  # first: results made on other demos are stale
    progress = survey(spec, runs)
    _handle_stale(spec, progress, restart_stale)
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
        for job, outcome in _dispatch(jobs, workers, address):
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


def _handle_stale(spec: ExperimentSpec, progress: Progress, restart_stale: bool) -> None:
    if not (progress.stale_records or progress.stale_runs):
        return
    stale = sorted({r["run_id"] for r in progress.stale_records} | set(progress.stale_runs))
    if not restart_stale:
        raise StaleResultsError(
            f"{len(stale)} run(s) in {spec.directory} were made with other settings than "
            f"{spec.name}'s config now gives ({', '.join(stale[:4])}{', ...' if len(stale) > 4 else ''}); "
            "pass --restart-stale to discard them, or give the experiment a new name"
        )
    discard_stale(spec, progress)
    print(f"discarded results and run folders of {len(stale)} stale run(s)", file=sys.stderr)


class StaleResultsError(RuntimeError):
    pass


def _dispatch(jobs: list[RunJob], workers: int, address: str | None = None):
    """(job, records or exception) as runs finish: in this process when workers == 1 and no
    address is given, else as Ray tasks (module docstring)."""
    if workers <= 1 and address is None:
        for job in jobs:
            try:
                yield job, execute_run(job)
            except KeyboardInterrupt:
                raise
            except Exception as error:  # noqa: BLE001 - reported, the other runs go on
                yield job, error
        return
    yield from _dispatch_ray(jobs, workers, address)


def _dispatch_ray(jobs: list[RunJob], workers: int, address: str | None):
    yield from ray_map(_execute_run_task, jobs, workers, address)


def ray_map(function: Callable[[Any], Any], items: Sequence[Any], workers: int, address: str | None = None):
    """(item, function(item) or the exception it raised) as each finishes, computed as Ray tasks
    of one CPU each: on a local Ray instance of `workers` CPUs, or on the cluster at `address`.
    `function` must be importable by name (module-level)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report leaves the machine
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    task = ray.remote(num_cpus=1, max_retries=0)(importable(function))
    pending = {task.remote(item): item for item in items}
    try:
        while pending:
            (ready,), _ = ray.wait(list(pending), num_returns=1)
            item = pending.pop(ready)
            try:
                yield item, ray.get(ready)
            except ray.exceptions.RayTaskError as error:
                yield item, error.as_instanceof_cause()
            except ray.exceptions.RayError as error:  # a lost worker or node: reported, retried next time
                yield item, error
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started_here:
            ray.shutdown()


def _execute_run_task(job: RunJob) -> list[dict]:
    """One run in a Ray worker: one torch thread, as the CPU it was given."""
    import torch

    torch.set_num_threads(1)
    return execute_run(job)


def _bar(total: int, initial: int, name: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=name, unit="run", dynamic_ncols=True, disable=not enabled)


def _postfix(records: list[dict], metric: str) -> str:
    parts = [f"{r['variant']} {metric}={r['metrics'].get(metric, math.nan):.3g}" for r in records]
    return f"{records[0]['run_id']}: " + ", ".join(parts)


def ensure_demos(spec: ExperimentSpec, runs: Sequence[RunSpec], workers: int = 1) -> Path:
    """Generate the demo file with the expert when missing; check it has enough demos for the grid."""
    from hint_policy.experts.generate import ensure_demo_file

    path = ensure_demo_file(spec.demos.file, spec.demos.env, spec.demos.generate, spec.demos.generate_seed_start,
                            workers)
    for run in runs:
        run_demos(spec, run, build_run_config(spec, run))  # raises when too few
    return path


# --------------------------------------------------------------------------- summary


def summarize(spec: ExperimentSpec, metrics: Sequence[str]) -> list[dict]:
    """Mean and standard deviation across seeds per (grid setting, variant), from current results.

    The standard deviation is the sample one (ddof = 1) over the seeds' values; 0 with one seed."""
    runs = expand_grid(spec)
    current = {(run.run_id, v): record_hash(spec, run, v) for run in runs for v in spec.evaluation.variants}
    demos = current_demos(spec, runs)
    by_key = {}
    for record in read_records(spec.results_file):
        key = (record["run_id"], record["variant"])
        if key in current and _is_current(record, "record_hash", current[key], demos):
            by_key[key] = record
    rows = []
    settings = list(dict.fromkeys(setting_key(run.params) for run in runs))
    for setting, variant in itertools.product(settings, spec.evaluation.variants):
        chosen = [by_key[(run.run_id, variant)] for run in runs
                  if setting_key(run.params) == setting and (run.run_id, variant) in by_key]
        if not chosen:
            continue
        row: dict[str, Any] = {**dict(setting), "variant": variant, "seeds": len(chosen)}
        for metric in metrics:
            values = np.array([r["metrics"].get(metric, math.nan) for r in chosen], dtype=float)
            row[f"{metric}_mean"] = float(np.mean(values))
            row[f"{metric}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        rows.append(row)
    return rows


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


# --------------------------------------------------------------------------- estimates


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
    in most grids) in a temporary folder; the budget with measured training speed and set-up time."""
    import torch

    from hint_policy.train import read_training_log, train

    torch.set_num_threads(1)
    run = expand_grid(spec)[-1]
    config = build_run_config(spec, run)
    with tempfile.TemporaryDirectory() as folder:
        config.train.out_dir = folder
        config.train.steps = spec.budget.calibrate_steps
        config.train.checkpoint_every = 0
        start = time.perf_counter()
        train(config, demos=run_demos(spec, run, config))
        total = time.perf_counter() - start
        log = read_training_log(Path(folder) / "train_log.jsonl")
    loop = max(1e-6, log[-1]["time"] - log[0]["time"])
    print(f"calibration on {run.run_id}: {config.train.steps} steps in {loop:.1f} s "
          f"({config.train.steps / loop:.1f} steps/s), set-up {total - loop:.1f} s")
    return dataclasses.replace(spec.budget, train_steps_per_second=config.train.steps / loop,
                               setup_seconds_per_run=total - loop)


def print_dry_run(spec: ExperimentSpec, workers: int, budget: Budget | None = None) -> float:
    """Print the grid with each run's status and estimated CPU time; return the total CPU seconds."""
    budget = budget or spec.budget
    rows = estimate(spec, budget)
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


# --------------------------------------------------------------------------- command line


def main(experiment: Experiment, default_config: str, argv: list[str] | None = None, doc: str = "") -> int:
    parser = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path(default_config), help="experiment config (YAML)")
    parser.add_argument("--workers", type=int, default=None, help="runs trained at once, as Ray tasks on a local "
                        "Ray instance (one CPU and torch thread each); default: budget.workers of the config")
    parser.add_argument("--address", default=None, help="run the sweep's tasks on the Ray cluster at this address "
                        "(HOST:PORT or auto) instead of a local instance")
    parser.add_argument("--dry-run", action="store_true", help="print the grid and the estimated CPU time")
    parser.add_argument("--calibrate", action="store_true",
                        help="with --dry-run: time a short training instead of using the config's speed figures")
    parser.add_argument("--only-plot", action="store_true", help="only rewrite summary.csv and the figure")
    parser.add_argument("--restart-stale", action="store_true",
                        help="discard results and run folders made with other settings than the config's")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    experiment = importable_experiment(experiment)
    spec = load_spec(args.config)
    args.workers = spec.budget.workers if args.workers is None else args.workers
    if args.workers < 1:
        parser.error("--workers must be >= 1")
    if args.calibrate and not args.dry_run:
        parser.error("--calibrate goes with --dry-run")
    if args.dry_run:
        if args.calibrate:
            ensure_demos(spec, expand_grid(spec), args.workers)
        print_dry_run(spec, args.workers, calibrate(spec) if args.calibrate else None)
        return 0
    failed: list[str] = []
    if not args.only_plot:
        try:
            failed = run_experiment(spec, experiment, args.workers, args.restart_stale, not args.no_progress,
                                    args.address)
        except StaleResultsError as error:
            print(error, file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("\ninterrupted; run the same command again to resume", file=sys.stderr)
            write_outputs(spec, experiment)
            return 130
    csv_path, png = write_outputs(spec, experiment)
    print(f"summary: {csv_path}" + (f", figure: {png}" if png else " (no results yet)"))
    if failed:
        print(f"{len(failed)} run(s) failed: {', '.join(failed)}; run again to retry them", file=sys.stderr)
        return 1
    return 0


def importable(function: Callable) -> Callable:
    """`function`, or where it was defined in ``__main__`` (a module run as ``python -m
    experiments.<name>``) the same function of that module by its import name: Ray's worker
    processes cannot unpickle functions of ``__main__``."""
    if getattr(function, "__module__", None) != "__main__":
        return function
    name = getattr(getattr(sys.modules.get("__main__"), "__spec__", None), "name", None)
    if not name or name == "__main__":
        return function
    return getattr(importlib.import_module(name), function.__name__)


def importable_experiment(experiment: Experiment) -> Experiment:
    """`experiment` with its functions made :func:`importable`."""
    return dataclasses.replace(experiment, **{field: importable(getattr(experiment, field))
                                              for field in ("env_factory", "plot", "prepare")
                                              if getattr(experiment, field) is not None})


def save_figure(figure, path: Path, title: str) -> None:
    """Title, lay out, write (PNG, 130 dpi) and close a matplotlib figure."""
    import matplotlib.pyplot as plt

    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=130)
    plt.close(figure)


#: legend names of the Figure 5 settings (grid values of data.action_content and data.synthesis)
SETTING_LABELS = {"feedforward": "learn u_bar only (K = 0)", "primitives": "learn (x_bar, u_bar, K)",
                  "tvlqr": "TVLQR gains", "per_step_lqr": "per-step LQR gains"}


def plot_against_demos(rows: list[dict], spec: ExperimentSpec, path: Path, panels: Sequence[tuple[str, str]],
                       title: str, ylim: dict[str, tuple[float, float]] | None = None) -> None:
    """One panel per (metric, axis label) against the number of demos N (log axis): one line per
    combination of the other grid values, mean +- std over seeds (Figure 5's layout)."""
    import matplotlib.pyplot as plt

    if any("data.num_demos" not in r for r in rows):
        raise ValueError("this plot needs data.num_demos among the grid keys")
    others = [k for k in spec.grid if k not in ("data.num_demos", SEED_KEY)]
    lines = list(dict.fromkeys(tuple(r.get(k) for k in others) + (r["variant"],) for r in rows))

    def style_key(line_key: tuple) -> tuple:
        """One line style per setting apart from the action content (e.g. per sigma); colour = action content."""
        return tuple(v for k, v in zip(others, line_key) if k != "data.action_content") + line_key[-1:]

    style_keys = list(dict.fromkeys(style_key(key) for key in lines))
    contents = sorted({r.get("data.action_content") for r in rows}, key=str)
    palette = dict(zip(contents, ["tab:orange", "tab:blue", "tab:green", "tab:red"]))
    styles = ["-", "--", ":", "-."]
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.4), squeeze=False)
    for axis, (metric, label) in zip(axes[0], panels):
        for number, line_key in enumerate(lines):
            dodge = 1 + 0.03 * (number - (len(lines) - 1) / 2)  # keep error bars at the same N apart
            line = sorted((r for r in rows if tuple(r.get(k) for k in others) + (r["variant"],) == line_key),
                          key=lambda r: r["data.num_demos"])
            values = dict(zip(others, line_key[:-1]))
            name = ", ".join(SETTING_LABELS.get(v, f"{k.rsplit('.', 1)[-1]}={v}") for k, v in values.items())
            if len(spec.evaluation.variants) > 1:
                name += f" [{line_key[-1]}]"
            axis.errorbar([r["data.num_demos"] * dodge for r in line], [r[f"{metric}_mean"] for r in line],
                          yerr=[r[f"{metric}_std"] for r in line], capsize=3, marker="o",
                          linestyle=styles[style_keys.index(style_key(line_key)) % len(styles)],
                          color=palette.get(values.get("data.action_content")), label=name)
        axis.set_xscale("log")
        demos = sorted({r["data.num_demos"] for r in rows})
        axis.set_xticks(demos, [str(n) for n in demos])
        axis.minorticks_off()
        axis.set_xlabel("demonstrations N")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
        if ylim and metric in ylim:
            axis.set_ylim(*ylim[metric])
    axes[0][0].legend(fontsize=7)
    seeds = max(r["seeds"] for r in rows)
    save_figure(figure, path, f"{title} ({spec.evaluation.episodes} test starts, mean +- std over up to {seeds} seeds)")
