"""python -m hint_bringup.to_lerobot: recorded bags and demo files become a LeRobotDataset that reads
back as the same demos bag_to_dataset makes; a missing lerobot package is one clear line."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from hint_bringup.bags import read_episodes, write_demo_bag
from hint_bringup.to_lerobot import main
from hint_policy.cli import run_main
from hint_policy.demos import Demo, save_demos

STATE_NAMES = ("agent_x", "agent_y", "agent_vx", "agent_vy", "block_x")
INPUT_NAMES = ("agent_ax", "agent_ay")


def make_demos(horizons=(30, 20)) -> list[Demo]:
    rng = np.random.default_rng(3)
    return [Demo(states=rng.normal(size=(t + 1, 5)), inputs=rng.normal(size=(t, 2)), period=0.01,
                 state_names=STATE_NAMES, input_names=INPUT_NAMES, env="pusht", seed=40 + i, success=i == 0)
            for i, t in enumerate(horizons)]


def test_without_lerobot_the_command_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    save_demos(tmp_path / "demos.npz", make_demos())
    monkeypatch.setitem(sys.modules, "lerobot", None)  # as if the package were not installed
    monkeypatch.setitem(sys.modules, "lerobot.datasets", None)
    assert run_main(main, [str(tmp_path / "demos.npz"), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("error: LeRobot interop needs the optional 'lerobot' package; install it with "
                                "`make setup-lerobot`")
    assert not (tmp_path / "out").exists()


def test_bags_and_demo_files_export_and_read_back(tmp_path):
    pytest.importorskip("lerobot.datasets.lerobot_dataset")
    from hint_policy.lerobot_io import read_lerobot_demos

    demos = make_demos()
    bag = write_demo_bag(tmp_path / "bags" / "run1", demos, operator="alice")
    recorded = read_episodes(bag)
    assert main([str(tmp_path / "bags"), "--out", str(tmp_path / "from_bags")]) == 0
    back = read_lerobot_demos(str(tmp_path / "from_bags"))
    assert len(back) == len(recorded) == 2
    for want, have in zip(recorded, back):
        np.testing.assert_array_equal(have.states, want.states)
        np.testing.assert_array_equal(have.inputs, want.inputs)
        assert (have.seed, have.success, have.source) == (want.seed, want.success, "alice")
    save_demos(tmp_path / "demos.npz", demos)
    assert main([str(tmp_path / "demos.npz"), "--out", str(tmp_path / "from_npz"), "--successful-only"]) == 0
    assert [d.seed for d in read_lerobot_demos(str(tmp_path / "from_npz"))] == [40]
    assert main([str(tmp_path / "demos.npz"), "--out", str(tmp_path / "from_npz")]) == 2  # never overwritten
