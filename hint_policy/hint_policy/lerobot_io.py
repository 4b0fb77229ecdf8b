"""LeRobot datasets in and out: hint demos as a LeRobotDataset, and a LeRobotDataset as hint demos.

Both directions go through the ``lerobot`` package's own API (``LeRobotDataset.create`` /
``add_frame`` / ``save_episode`` / ``finalize`` to write, ``LeRobotDataset(repo_id, root=...)``
to read), an optional dependency: ``make setup-lerobot`` installs it (docs/training.md, LeRobot).

Frames. A hint demo has T+1 states x_1..x_{T+1} and T inputs u_1..u_T at one period. It becomes
one LeRobot episode of T+1 frames at fps = 1 / period: frame t holds ``observation.state`` = x_t
and ``action`` = u_t (the input applied from that state on, as recorded); the last frame holds
x_{T+1} and repeats u_T (a LeRobot frame always has an action). Values are stored as float64, so
nothing is rounded. Reading, an episode of F frames
becomes a demo of F states and the first F - 1 actions (the last frame's action is dropped),
so hint demos -> LeRobot -> hint demos is exact. Names: the features' ``names`` are the demo's
state and input names. hint's per-episode facts (environment, seed, success, source, extras) go
to ``meta/hint_episodes.jsonl`` beside LeRobot's metadata, and the task string of every frame
is the environment name; a dataset from elsewhere has no such file and reads with seed = the
episode index, success = True, source = "lerobot".

Training from a LeRobot dataset: list it in ``data.demos`` as ``lerobot:<root>`` (a local
folder) or ``lerobot:<repo id>`` (LeRobot's cache), and map its columns in ``data.lerobot``
(:class:`LeRobotColumns`): which feature holds the state and which the input, and a renaming of
the dataset's names to the dynamics model's.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hint_policy.cli import MissingDependency
from hint_policy.demos import Demo

#: what ``data.demos`` entries that are LeRobot datasets start with
PREFIX = "lerobot:"
#: hint's per-episode metadata beside LeRobot's own
EPISODES_FILE = "meta/hint_episodes.jsonl"
INSTALL_HINT = ("LeRobot interop needs the optional 'lerobot' package; install it with `make setup-lerobot` "
                "(about 5 GB: lerobot 0.4.4, its dataset dependencies and the PyPI build of torch "
                "2.13 with CUDA libraries, which torchvision needs)")


@dataclasses.dataclass(frozen=True)
class LeRobotColumns:
    """Which LeRobot features hold a demo's states and inputs, and how their names map to hint's."""

    state_key: str = "observation.state"
    action_key: str = "action"
    #: dataset name -> hint name (e.g. {"x": "agent_x"}); names not listed are kept
    rename: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_config(cls, values: dict[str, Any] | None) -> LeRobotColumns:
        values = dict(values or {})
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise KeyError(f"unknown data.lerobot keys {unknown} (state_key, action_key, rename)")
        return cls(**values)


class _NoTorchcodecWarning(logging.Filter):
    """lerobot logs "'torchcodec' is not available" on every dataset load; hint stores no videos."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "torchcodec" not in record.getMessage()


_TORCHCODEC_FILTER = _NoTorchcodecWarning()


def import_lerobot():
    """The ``lerobot.datasets.lerobot_dataset`` module, or :class:`hint_policy.cli.MissingDependency` saying how to install it."""
    try:
        from lerobot.datasets import lerobot_dataset
    except ImportError as error:
        raise MissingDependency(f"{INSTALL_HINT} ({error})") from error
    logging.getLogger().addFilter(_TORCHCODEC_FILTER)  # a filter already there is not added twice
    return lerobot_dataset


# --------------------------------------------------------------------------- hint -> LeRobot


def fps_of(demos: Sequence[Demo]) -> int:
    """The integer frame rate of the demos' common period (LeRobot stores fps as an integer)."""
    periods = {round(d.period, 12) for d in demos}
    if len(periods) != 1:
        raise ValueError(f"the demos have different periods {sorted(periods)}; export them separately")
    fps = 1.0 / periods.pop()
    if abs(fps - round(fps)) > 1e-6:
        raise ValueError(f"the demos' rate {fps:g} Hz is not a whole number of frames per second")
    return int(round(fps))


def write_lerobot_dataset(demos: Sequence[Demo], root: str | Path, repo_id: str, robot_type: str | None = None) -> Path:
    """Write `demos` (same period and names) as a new local LeRobotDataset at `root`; returns root."""
    if not demos:
        raise ValueError("no demos to export")
    first = demos[0]
    for demo in demos:
        if demo.state_names != first.state_names or demo.input_names != first.input_names:
            raise ValueError(f"demo seed {demo.seed} has other state or input names than the first; export them separately")
    root = Path(root)
    if root.exists():
        raise FileExistsError(f"{root} exists; LeRobot writes a new dataset folder (remove it or pick another --out)")
    fps = fps_of(demos)
    lerobot_dataset = import_lerobot()
    features = {
        "observation.state": {"dtype": "float64", "shape": (len(first.state_names),), "names": list(first.state_names)},
        "action": {"dtype": "float64", "shape": (len(first.input_names),), "names": list(first.input_names)},
    }
    dataset = lerobot_dataset.LeRobotDataset.create(repo_id, fps=fps, features=features, root=root,
                                                    robot_type=robot_type or first.env or None, use_videos=False)
    for demo in demos:
        actions = np.vstack([demo.inputs, demo.inputs[-1:]]) if demo.horizon else np.zeros((1, len(demo.input_names)))
        for state, action in zip(demo.states, actions):
            dataset.add_frame({"observation.state": state, "action": action, "task": demo.env or "hint"})
        dataset.save_episode()
    dataset.finalize()
    with (root / EPISODES_FILE).open("w") as stream:
        for index, demo in enumerate(demos):
            stream.write(json.dumps({"episode_index": index, "env": demo.env, "seed": demo.seed, "success": demo.success,
                                     "source": demo.source, "period": demo.period, "extra": demo.extra}) + "\n")
    return root


# --------------------------------------------------------------------------- LeRobot -> hint


def _feature_names(feature: dict[str, Any], key: str) -> list[str]:
    names = feature.get("names")
    if isinstance(names, dict):  # LeRobot's {"motors": [...]} form
        names = [n for group in names.values() for n in group]
    size = int(np.prod(feature["shape"]))
    if not names or len(names) != size:
        return [f"{key}[{i}]" for i in range(size)]
    return [str(n) for n in names]


def read_lerobot_demos(source: str, columns: LeRobotColumns = LeRobotColumns(),
                       required_states: Sequence[str] = (), required_inputs: Sequence[str] = ()) -> list[Demo]:
    """The episodes of the LeRobot dataset `source` (a local root folder, or a repo id in LeRobot's
    cache) as hint demos (module docstring). `required_states` / `required_inputs`: the names a
    dynamics model needs; a dataset lacking any gets a ValueError naming them."""
    lerobot_dataset = import_lerobot()
    path = Path(source)
    if path.is_dir():
        dataset = lerobot_dataset.LeRobotDataset(path.name, root=path)
    else:
        dataset = lerobot_dataset.LeRobotDataset(source)
    features = dataset.meta.features
    for key in (columns.state_key, columns.action_key):
        if key not in features:
            raise ValueError(f"LeRobot dataset {source} has no feature {key!r} (it has {sorted(features)}); "
                             f"set data.lerobot.state_key / action_key")
    state_names = [columns.rename.get(n, n) for n in _feature_names(features[columns.state_key], columns.state_key)]
    input_names = [columns.rename.get(n, n) for n in _feature_names(features[columns.action_key], columns.action_key)]
    missing = [n for n in required_states if n not in state_names] + [n for n in required_inputs if n not in input_names]
    if missing:
        raise ValueError(f"LeRobot dataset {source} lacks the columns {missing} that the dynamics model needs; "
                         f"its {columns.state_key} names are {state_names} and its {columns.action_key} names "
                         f"{input_names} (rename them with data.lerobot.rename)")
    table = dataset.hf_dataset.with_format("arrow")[:]  # the stored values (LeRobot's torch view is float32)
    episode_index = np.asarray(table.column("episode_index").to_numpy())
    states_all = _column(table, columns.state_key, len(episode_index))
    actions_all = _column(table, columns.action_key, len(episode_index))
    extras = _hint_episodes(Path(dataset.root))
    demos = []
    for episode in np.unique(episode_index):
        rows = np.flatnonzero(episode_index == episode)
        facts = extras.get(int(episode), {})
        demos.append(Demo(states=states_all[rows], inputs=actions_all[rows[:-1]],
                          period=float(facts.get("period", 1.0 / dataset.fps)),
                          state_names=tuple(state_names), input_names=tuple(input_names),
                          env=facts.get("env", dataset.meta.robot_type or ""), seed=int(facts.get("seed", episode)),
                          success=bool(facts.get("success", True)), source=facts.get("source", "lerobot"),
                          extra=facts.get("extra", {})))
    return demos


def _column(table, key: str, rows: int) -> np.ndarray:
    """A fixed-size-list (or scalar) column of an Arrow table as a float64 array (rows, width)."""
    import pyarrow

    column = table.column(key).combine_chunks()
    if pyarrow.types.is_fixed_size_list(column.type) or pyarrow.types.is_list(column.type):
        column = column.flatten()
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=float).reshape(rows, -1)


def _hint_episodes(root: Path) -> dict[int, dict[str, Any]]:
    path = root / EPISODES_FILE
    if not path.is_file():
        return {}
    return {int(r["episode_index"]): r for r in map(json.loads, path.read_text().splitlines()) if r}
