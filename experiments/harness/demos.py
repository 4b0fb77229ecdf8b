"""The demos each run trains on: chosen from the experiment's demo file, generated when missing."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from experiments.harness.grid import RunSpec, build_run_config
from experiments.harness.spec import ExperimentSpec
from hint_policy.config import HintConfig


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


def ensure_demos(spec: ExperimentSpec, runs: Sequence[RunSpec], workers: int = 1) -> Path:
    """Generate the demo file with the expert when missing; check it has enough demos for `runs`."""
    from hint_policy.experts.generate import ensure_demo_file

    path = ensure_demo_file(spec.demos.file, spec.demos.env, spec.demos.generate, spec.demos.generate_seed_start,
                            workers)
    for run in runs:
        run_demos(spec, run, build_run_config(spec, run))  # raises when too few
    return path


@dataclasses.dataclass(frozen=True)
class DemoSelection:
    """The demos a run trains on: their seeds and a digest of their content."""

    seeds: list[int]
    digest: str

    @classmethod
    def of(cls, demos: Sequence) -> DemoSelection:
        content = hashlib.sha256()
        for demo in demos:
            content.update(str(demo.seed).encode())
            for array in (demo.states, demo.inputs):
                content.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        return cls([int(d.seed) for d in demos], content.hexdigest()[:16])

    def made(self, facts: dict) -> bool:
        """Whether a result line or run.json was made on these demos: the same demo seeds, and the
        same digest where the facts keep one (a line without ``demo_digest`` is matched by its seeds)."""
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
