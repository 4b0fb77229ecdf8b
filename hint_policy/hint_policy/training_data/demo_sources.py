"""Stage 1: the demos a data config lists.

``data.demos`` names .npz demo files (:mod:`hint_policy.demos`) or LeRobot datasets
(``"lerobot:<root or repo id>"``, read with the ``data.lerobot`` column map by
:mod:`hint_policy.lerobot_io`). Their demos are read in order, then the unsuccessful ones are
dropped (``data.only_successful``) and the first ``data.num_demos`` kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hint_policy.config import DataConfig
from hint_policy.demos import Demo, load_demos, select_demos
from hint_policy.lerobot_io import PREFIX, LeRobotColumns, read_lerobot_demos
from hint_policy.training_data.synthesis import data_model


def read_demo_files(paths: Sequence[str], lerobot: dict[str, Any] | None = None,
                    required_states: Sequence[str] = (), required_inputs: Sequence[str] = ()) -> list[Demo]:
    """Every demo of the sources `paths` (a training config's ``data.demos``: .npz files, or
    LeRobot datasets as "lerobot:<root or repo id>" read with the ``data.lerobot`` column map;
    `required_*`: the model's names such a dataset must provide), in order."""
    if not paths:
        raise ValueError("data.demos lists no demo files")
    demos: list[Demo] = []
    for path in paths:
        if str(path).startswith(PREFIX):
            demos.extend(read_lerobot_demos(str(path)[len(PREFIX):], LeRobotColumns.from_config(lerobot),
                                            required_states, required_inputs))
        else:
            demos.extend(load_demos(path))
    return demos


def config_demos(data: DataConfig) -> list[Demo]:
    """The demos a data config trains on: its files' demos, filtered and cut as it says (a LeRobot
    dataset among them must provide the names of the config's dynamics model)."""
    required: tuple[Sequence[str], Sequence[str]] = ((), ())
    if data.dynamics and any(str(path).startswith(PREFIX) for path in data.demos):
        model = data_model(data)
        required = (model.state_names, model.input_names)
    return select_demos(read_demo_files(data.demos, data.lerobot, *required), data.only_successful, data.num_demos)
