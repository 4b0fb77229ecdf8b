"""What ties a result to the settings it was made with, and what is done or stale.

Each result line and run folder carries a hash of the settings it was made with, and the seeds and
a digest of the demos it trained on. If the config changed, or the demo file was rewritten with
other demos (another expert, say), the harness stops and names the stale runs; ``--restart-stale``
moves their result lines to ``results.stale.jsonl`` and deletes their run folders.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from experiments.harness.demos import DemoSelection, current_demos
from experiments.harness.grid import RunSpec, build_run_config
from experiments.harness.spec import ExperimentSpec
from hint_policy.config import config_to_dict

#: training settings that do not change the result (left out of the run hash)
NEUTRAL_TRAIN_KEYS = ("out_dir", "progress", "threads", "device", "checkpoint_every", "log_every",
                      "keep_checkpoints")


def run_hash(spec: ExperimentSpec, run: RunSpec) -> str:
    """Hash of what determines the trained weights: the training config (minus paths and logging)
    and the demo selection."""
    config = config_to_dict(build_run_config(spec, run))
    for key in NEUTRAL_TRAIN_KEYS:
        config["train"].pop(key)
    config.pop("eval")
    return _hash({"config": config, "subsets": spec.demos.subsets})


def record_hash(spec: ExperimentSpec, run: RunSpec, variant: str) -> str:
    """Hash of a result line: the run hash, the evaluation settings and the variant's sigma."""
    settings = dataclasses.asdict(spec.evaluation)
    settings.pop("variants")
    return _hash({"run": run_hash(spec, run), "evaluation": settings, "variant": variant,
                  "sigma": spec.evaluation.variants[variant]})


def expected_record_hashes(spec: ExperimentSpec, runs: Sequence[RunSpec]) -> dict[tuple[str, str], str]:
    """The record hash each (run id, variant) of `runs` has under the spec now."""
    return {(run.run_id, v): record_hash(spec, run, v) for run in runs for v in spec.evaluation.variants}


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def read_records(path: Path) -> list[dict]:
    """The JSON lines of a results file (none when it does not exist)."""
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


def is_current(facts: dict, hash_key: str, expected_hash: str | None,
               demos: dict[str, DemoSelection] | None) -> bool:
    """A result line (hash_key "record_hash") or run.json ("run_hash") made with the settings and
    the demos its run has now."""
    if facts.get(hash_key) != expected_hash:
        return False
    return demos is None or demos[facts["run_id"]].made(facts)


def current_records(spec: ExperimentSpec, runs: Sequence[RunSpec]) -> dict[tuple[str, str], dict]:
    """The current result line of each finished (run id, variant)."""
    expected = expected_record_hashes(spec, runs)
    demos = current_demos(spec, runs)
    return {(r["run_id"], r["variant"]): r for r in read_records(spec.results_file)
            if (r.get("run_id"), r.get("variant")) in expected
            and is_current(r, "record_hash", expected[(r["run_id"], r["variant"])], demos)}


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
    expected = expected_record_hashes(spec, runs)
    demos = current_demos(spec, runs)
    done, stale = set(), []
    for record in read_records(spec.results_file):
        key = (record.get("run_id"), record.get("variant"))
        if key not in expected:
            continue  # a run no longer in the grid: kept, not summarized
        if is_current(record, "record_hash", expected[key], demos):
            done.add(key)
        else:
            stale.append(record)
    stale_runs = []
    for run in runs:
        info = spec.run_directory(run) / "run.json"
        if info.is_file() and not is_current(json.loads(info.read_text()), "run_hash", run_hash(spec, run), demos):
            stale_runs.append(run.run_id)
    return Progress(done, stale, stale_runs)


class StaleResultsError(RuntimeError):
    pass


def handle_stale(spec: ExperimentSpec, progress: Progress, restart_stale: bool) -> None:
    """Nothing when nothing is stale; else discard the stale leftovers (`restart_stale`) or raise
    :class:`StaleResultsError` naming them."""
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
