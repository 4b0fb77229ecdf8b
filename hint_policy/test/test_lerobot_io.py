"""LeRobot interop (hint_policy.lerobot_io): hint demos -> LeRobotDataset -> hint demos is exact and
gives the same training data; a dataset written by the lerobot package itself trains hint through a
column map; a dataset that does not fit the model is refused naming the columns."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hint_policy.config import HintConfig, config_from_dict
from hint_policy.demos import save_demos
from hint_policy.lerobot_io import INSTALL_HINT
from hint_policy.training_data.chunks import build_chunks
from hint_policy.training_data.demo_sources import config_demos
from hint_policy.training_data.synthesis import model_and_synthesis
from policy_test_utils import FULL_STATES, INPUTS, one_torch_thread, pd_demos  # noqa: F401  (autouse fixture)

lerobot_dataset = pytest.importorskip("lerobot.datasets.lerobot_dataset", reason=INSTALL_HINT)

from hint_policy.lerobot_io import read_lerobot_demos, write_lerobot_dataset  # noqa: E402


def data_config(demos: list[str], **extra) -> HintConfig:
    return config_from_dict(HintConfig, {
        "data": {"demos": demos, "dynamics": "pusht_agent", "control_stride": 5, "obs_steps": 2, "chunk_length": 4,
                 "sigma": 0.05, "noise_draws": 2, **extra},
        "model": {"denoiser": "mlp", "mlp_hidden": 32, "mlp_blocks": 1, "step_embed_dim": 8},
        "diffusion": {"train_steps": 10},
        "train": {"steps": 3, "batch_size": 8, "progress": False},
    })


def test_hint_demos_round_trip_exactly_and_give_the_same_training_data(tmp_path):
    demos = pd_demos(3, horizon=30, seed=4)
    demos[1].success, demos[2].extra = False, {"operator": "alice"}
    save_demos(tmp_path / "demos.npz", demos)
    root = write_lerobot_dataset(demos, tmp_path / "lerobot", "hint/pd")
    info = json.loads((root / "meta" / "info.json").read_text())
    assert (info["fps"], info["total_episodes"], info["total_frames"]) == (100, 3, 3 * 31)
    assert info["features"]["observation.state"]["names"] == list(FULL_STATES)
    # LeRobot's own reader sees the episodes, states and actions
    dataset = lerobot_dataset.LeRobotDataset("hint/pd", root=root)
    frame = dataset[31 + 5]  # episode 1, frame 5
    np.testing.assert_allclose(frame["observation.state"].numpy(), demos[1].states[5], rtol=1e-6)
    np.testing.assert_allclose(frame["action"].numpy(), demos[1].inputs[5], rtol=1e-6)
    assert frame["task"] == "pusht"

    back = read_lerobot_demos(str(root))
    for want, have in zip(demos, back, strict=True):
        np.testing.assert_array_equal(have.states, want.states)
        np.testing.assert_array_equal(have.inputs, want.inputs)
        assert (have.state_names, have.input_names, have.period) == (want.state_names, want.input_names, want.period)
        assert (have.env, have.seed, have.success, have.extra) == (want.env, want.seed, want.success, want.extra)

    direct, via_lerobot = data_config([str(tmp_path / "demos.npz")]), data_config([f"lerobot:{root}"])
    demos_direct, demos_lerobot = config_demos(direct.data), config_demos(via_lerobot.data)
    model, synthesis = model_and_synthesis(direct.data, demos_direct[0].period)
    chunks_direct, layout_direct = build_chunks(demos_direct, model, synthesis, direct.data)
    chunks_lerobot, layout_lerobot = build_chunks(demos_lerobot, model, synthesis, via_lerobot.data)
    assert layout_lerobot == layout_direct
    for field in ("obs", "actions"):
        np.testing.assert_array_equal(getattr(chunks_lerobot, field), getattr(chunks_direct, field))


def write_foreign_dataset(root, episodes: int = 2, frames: int = 25):
    """A dataset as another LeRobot user would write it: its own names, no hint metadata."""
    features = {
        "observation.state": {"dtype": "float32", "shape": (4,), "names": ["x", "y", "vx", "vy"]},
        "action": {"dtype": "float32", "shape": (2,), "names": ["ax", "ay"]},
    }
    dataset = lerobot_dataset.LeRobotDataset.create("someone/pusht_agent", fps=100, features=features, root=root,
                                                    use_videos=False)
    for episode in range(episodes):
        demo = pd_demos(1, horizon=frames - 1, seed=episode)[0]
        for t in range(frames):
            dataset.add_frame({"observation.state": demo.states[t, :4].astype(np.float32),
                               "action": demo.inputs[min(t, frames - 2)].astype(np.float32), "task": "reach"})
        dataset.save_episode()
    dataset.finalize()


def test_a_dataset_written_by_lerobot_trains_hint_through_a_column_map(tmp_path):
    from hint_policy.train import train

    root = tmp_path / "foreign"
    write_foreign_dataset(root)
    demos_entry = [f"lerobot:{root}"]
    with pytest.raises(ValueError, match=r"lacks the columns \['agent_x', 'agent_y', 'agent_vx', 'agent_vy', "
                                         r"'agent_ax', 'agent_ay'\].*data.lerobot.rename"):
        config_demos(data_config(demos_entry).data)
    rename = {"x": "agent_x", "y": "agent_y", "vx": "agent_vx", "vy": "agent_vy", "ax": "agent_ax", "ay": "agent_ay"}
    config = data_config(demos_entry, lerobot={"rename": rename})
    demos = config_demos(config.data)
    assert len(demos) == 2 and demos[0].horizon == 24 and demos[0].source == "lerobot" and demos[1].seed == 1
    assert demos[0].state_names == ("agent_x", "agent_y", "agent_vx", "agent_vy")
    config.train.out_dir = str(tmp_path / "train")
    result = train(config)
    assert result.step == 3 and np.isfinite(result.last_loss)
    with pytest.raises(ValueError, match="no feature 'observation.joints'"):
        config_demos(data_config(demos_entry, lerobot={"state_key": "observation.joints"}).data)
