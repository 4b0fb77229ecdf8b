"""The runs of an experiment and each run's training config.

Runs are the Cartesian product of the grid, seed-major: every setting's seed 0 comes before any
seed 1, so an experiment stopped half-way already covers the whole figure with fewer seeds. A run
with seed s trains with ``train.seed = data.noise_seed = s`` (and, with ``demos.subsets:
by_seed``, on the successful demos s*N .. s*N + N - 1 of the file, so seeds also differ in their
data); its evaluation seeds the policy's sampling noise with s.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from experiments.harness.spec import SEED_KEY, ExperimentSpec
from hint_policy.config import HintConfig, config_from_dict


@dataclasses.dataclass
class RunSpec:
    """One training run: grid values (dotted keys, seed excluded) and the seed."""

    run_id: str
    params: dict[str, Any]
    seed: int


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


def expand_grid(spec: ExperimentSpec) -> list[RunSpec]:
    """All runs of the grid but the excluded ones, seed-major (all settings of seed 0 first), keys in
    config order."""
    keys = [k for k in spec.grid if k != SEED_KEY]
    runs = []
    for seed in spec.grid.get(SEED_KEY, [0]):
        for values in itertools.product(*(spec.grid[k] for k in keys)):
            params = dict(zip(keys, values))
            if is_excluded(spec, params, seed):
                continue
            runs.append(RunSpec(run_id=run_identifier(params, seed), params=params, seed=int(seed)))
    return runs


def is_excluded(spec: ExperimentSpec, params: dict[str, Any], seed: int) -> bool:
    """Whether grid values (and seed) match every key of one of the spec's ``exclude`` entries."""
    values = {**params, SEED_KEY: seed}
    return any(all(values[key] == value for key, value in entry.items()) for entry in spec.exclude)


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
