"""Demonstrations and the demo dataset file.

A demonstration is a trajectory (x_1..x_{T+1}, u_1..u_T) sampled at a fixed period: ``states``
has T+1 rows, ``inputs`` T rows. States carry every observed coordinate (for PushT also the
block pose); the synthesis oracle picks the coordinates its model controls by name.

File format (``.npz``, written by :func:`save_demos`, read by :func:`load_demos`)::

    format_version     int, currently 1
    num_demos          int
    demo_{i}/states    float64 (T_i + 1, n)
    demo_{i}/inputs    float64 (T_i, m)
    demo_{i}/meta      JSON string: period, state_names, input_names, env, seed, success,
                       source ("expert", "teleop", "policy", "bag"), extra (free dict)

Writing is atomic (temporary file + rename), so an interrupted run never leaves a truncated
dataset behind.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hint_controller.names import name_indices

FORMAT_VERSION = 1


@dataclasses.dataclass
class Demo:
    """One demonstrated trajectory."""

    states: np.ndarray  # (T+1, n)
    inputs: np.ndarray  # (T, m)
    period: float  # seconds between consecutive rows
    state_names: tuple[str, ...]
    input_names: tuple[str, ...]
    env: str = ""
    seed: int = -1
    success: bool = True
    source: str = "expert"
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.states = np.asarray(self.states, dtype=float)
        self.inputs = np.asarray(self.inputs, dtype=float)
        self.state_names = tuple(self.state_names)
        self.input_names = tuple(self.input_names)
        if self.states.ndim != 2 or self.inputs.ndim != 2:
            raise ValueError("states and inputs must be 2-D arrays")
        if len(self.states) != len(self.inputs) + 1:
            raise ValueError(
                f"a demo has T+1 states for T inputs, got {len(self.states)} states "
                f"and {len(self.inputs)} inputs"
            )
        if self.states.shape[1] != len(self.state_names):
            raise ValueError(f"{self.states.shape[1]} state columns, {len(self.state_names)} names")
        if self.inputs.shape[1] != len(self.input_names):
            raise ValueError(f"{self.inputs.shape[1]} input columns, {len(self.input_names)} names")
        if not (np.all(np.isfinite(self.states)) and np.all(np.isfinite(self.inputs))):
            raise ValueError("demo contains non-finite values")

    @property
    def horizon(self) -> int:
        """T, the number of inputs."""
        return len(self.inputs)

    def select_states(self, names: Sequence[str]) -> np.ndarray:
        """The state columns named `names`, in that order, shape (T+1, len(names))."""
        return self.states[:, name_indices(self.state_names, names)]

    def _meta(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "state_names": list(self.state_names),
            "input_names": list(self.input_names),
            "env": self.env,
            "seed": int(self.seed),
            "success": bool(self.success),
            "source": self.source,
            "extra": self.extra,
        }


def save_demos(path: str | os.PathLike, demos: Sequence[Demo]) -> Path:
    """Write `demos` to `path` (.npz) atomically and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {
        "format_version": np.array(FORMAT_VERSION),
        "num_demos": np.array(len(demos)),
    }
    for i, demo in enumerate(demos):
        arrays[f"demo_{i}/states"] = demo.states
        arrays[f"demo_{i}/inputs"] = demo.inputs
        arrays[f"demo_{i}/meta"] = np.array(json.dumps(demo._meta()))
    fd, tmp_name = tempfile.mkstemp(prefix=path.name, suffix=".tmp.npz", dir=path.parent)
    os.close(fd)
    try:
        np.savez_compressed(tmp_name, **arrays)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return path


def load_demos(path: str | os.PathLike) -> list[Demo]:
    """Read a demo file written by :func:`save_demos`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"demo file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            version = int(data["format_version"])
            if version != FORMAT_VERSION:
                raise ValueError(f"{path}: demo format version {version}, expected {FORMAT_VERSION}")
            demos = []
            for i in range(int(data["num_demos"])):
                meta = json.loads(str(data[f"demo_{i}/meta"]))
                demos.append(
                    Demo(states=data[f"demo_{i}/states"], inputs=data[f"demo_{i}/inputs"], **meta)
                )
    except (KeyError, OSError, EOFError, zipfile.BadZipFile, json.JSONDecodeError, TypeError) as error:
        raise ValueError(f"{path}: not a valid hint demo file: {error}") from error
    return demos


def select_demos(demos: Sequence[Demo], only_successful: bool = True, num_demos: int | None = None) -> list[Demo]:
    """The successful demos (all with `only_successful` False), the first `num_demos` of them."""
    selected = [d for d in demos if d.success or not only_successful]
    if num_demos is not None:
        if len(selected) < num_demos:
            raise ValueError(f"asked for {num_demos} demos, only {len(selected)} available")
        selected = selected[:num_demos]
    if not selected:
        raise ValueError("no demos left after filtering (data.only_successful / data.num_demos)")
    return selected
