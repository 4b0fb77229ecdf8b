"""The experiment config: its schema and checks (the grid's runs are built in :mod:`.grid`).

An experiment config (YAML, see ``experiments/configs/``) names a base training config
(``base_config``, e.g. hint_policy/config/quadrotor.yaml), sections merged over it for every run
(``training``), a ``grid`` of dotted config keys with the values to try (plus ``seed``), grid points
to leave out (``exclude``), the demo file, the evaluation (test seeds, variants = evaluation sigmas,
evaluated checkpoints) and the CPU ``budget``.

Files under ``<results_root>/<name>/``:

* ``runs/<run_id>/``: the training output (config.yaml, train_log.jsonl, checkpoints/) and
  ``run.json`` (grid values, demo seeds and digest, the run's settings hash);
* ``results.jsonl``: one line per (run, variant): grid values, metrics, per-checkpoint metrics,
  per-episode results;
* ``summary.csv``: mean and standard deviation across seeds per (setting, variant);
* ``<name>.png``: the figure (drawn by the experiment module); ``experiment.yaml``: the config used.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from experiments.harness.grid import RunSpec

#: the grid key that sets the training seed, the noise seed, the demo subset and the policy's seed
SEED_KEY = "seed"


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
    """Closed-loop evaluation of every run (see hint_policy.evaluate). Every field is part of the
    hash of each result line (:func:`experiments.harness.staleness.record_hash`)."""

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
    #: a result line's ``metrics`` = the mean over its `best_of` best evaluated checkpoints, ranked
    #: by mean score; 0 = the mean over all of them. The summary reports both of
    #: :data:`experiments.harness.scoring.SCORINGS` besides.
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
    #: grid points left out: each entry maps some grid keys to one value each, and every run whose
    #: grid values match all of them is dropped (e.g. {data.noise_law: uniform, data.sigma: 0.0}:
    #: at sigma 0 the noise law changes nothing, so one law's run stands for both)
    exclude: list[dict[str, Any]] = dataclasses.field(default_factory=list)
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
        for entry in self.exclude:
            if not isinstance(entry, dict) or not entry:
                raise ValueError(f"each exclude entry must map grid keys to values, got {entry!r}")
            for key, value in entry.items():
                if key not in self.grid or value not in self.grid[key]:
                    raise ValueError(f"exclude entry {entry}: {key}={value!r} is not a grid value")
        if self.budget.train_steps_per_second <= 0 or self.budget.workers < 1:
            raise ValueError("budget.train_steps_per_second must be > 0 and budget.workers >= 1")
