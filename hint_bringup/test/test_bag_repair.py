"""A bag whose writer was SIGKILLed: flushed chunks survive, repair_bag restores a complete bag (ROS-free)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import pytest

from hint_bringup.bags import CorruptBagError, read_episodes, repair_bag

PERIOD_NS = 10_000_000

# Writes episode 0 (100 steps, SUCCESS) and half of episode 1, flushes, writes 50 more states that
# are never flushed, then kills itself: as a recorder killed mid-episode.
WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from hint_bringup.bags import BagWriter, event_message, input_message, state_message
    from hint_bringup.simulation import EVENT_START, EVENT_SUCCESS
    bag = BagWriter(sys.argv[1], chunk_size=int(sys.argv[2]))
    for topic, msgtype in [("state", "hint_msgs/msg/StateVector"), ("applied_input", "hint_msgs/msg/InputVector"),
                           ("episode_event", "hint_msgs/msg/EpisodeEvent")]:
        bag.add_topic(topic, msgtype)
    bag.set_custom("operator", "expert")
    bag.set_custom("environment", "toy")
    bag.set_custom("physics_period", "0.01")
    bag.flush()
    store, t = bag.store, 0
    def step(k):
        bag.write("applied_input", t, input_message(store, ["u"], [0.1 * k], t))
        bag.write("state", t, state_message(store, ["x", "v"], [float(k), 1.0], t))
    for episode, steps in ((0, 100), (1, 60)):
        fields = dict(environment="toy", seed=10 + episode, episode_index=episode)
        bag.write("episode_event", t, event_message(store, EVENT_START, t, **fields))
        for k in range(steps):
            step(k)
            t += 10_000_000
        if episode == 0:
            bag.write("state", t, state_message(store, ["x", "v"], [100.0, 1.0], t))
            bag.write("episode_event", t, event_message(store, EVENT_SUCCESS, t, score=1.0, **fields))
            bag.set_custom("episodes", [{"episode_index": 0, "seed": 10, "event": "SUCCESS", "score": 1.0}])
            t += 10_000_000
    bag.flush()
    for k in range(50):  # lost: never flushed
        step(60 + k)
        t += 10_000_000
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def killed_bag(tmp_path, chunk_size: int = 1 << 20):
    bag = tmp_path / "killed"
    result = subprocess.run([sys.executable, "-c", WRITER, str(bag), str(chunk_size)], capture_output=True, text=True)
    assert result.returncode == -signal.SIGKILL, result.stderr
    return bag


def test_flushed_chunks_survive_sigkill_and_repair_restores_a_complete_bag(tmp_path):
    from mcap.reader import make_reader
    from rosbags.rosbag2 import Reader

    bag = killed_bag(tmp_path)
    assert (bag / "metadata.yaml").is_file()  # the snapshot written by flush()
    with pytest.raises(CorruptBagError):  # no summary, no footer: rosbags cannot open it
        read_episodes(bag)

    assert repair_bag(bag) == bag
    backup = tmp_path / "killed.truncated"
    assert sorted(p.name for p in backup.iterdir()) == ["killed.mcap.truncated", "metadata.yaml.truncated"]
    with Reader(bag) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        custom = reader.storage.metadata.custom
    assert counts == {"/state": 161, "/applied_input": 160, "/episode_event": 3}  # the 50 unflushed are lost
    assert custom["hint.operator"] == "expert"
    assert json.loads(custom["hint.episodes"]) == [{"episode_index": 0, "seed": 10, "event": "SUCCESS", "score": 1.0}]
    with next(bag.glob("*.mcap")).open("rb") as stream:  # an independent reader, through the summary
        summary = make_reader(stream).get_summary()
    assert summary is not None and summary.statistics.message_count == 324

    demos = read_episodes(bag)  # episode 1 has no end event: cut
    assert [(d.seed, d.horizon, d.success) for d in demos] == [(10, 100, True)]


def test_small_chunks_bound_the_loss_between_flushes(tmp_path):
    """With 2 KiB chunks most of the unflushed tail is on disk as complete chunks too."""
    bag = killed_bag(tmp_path, chunk_size=2048)
    repair_bag(bag)
    from rosbags.rosbag2 import Reader

    with Reader(bag) as reader:
        states = {c.topic: c.msgcount for c in reader.connections}["/state"]
    assert 161 + 30 <= states < 211


def test_repair_refuses_what_it_cannot_recover(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "empty.mcap").write_bytes(b"")
    with pytest.raises(CorruptBagError, match="nothing to recover"):
        repair_bag(empty)
    assert sorted(p.name for p in empty.iterdir()) == ["empty.mcap"]  # left as it was
    assert not (tmp_path / "empty.truncated").exists()


def test_bag_to_dataset_repairs_on_request(tmp_path):
    from hint_bringup.bag_to_dataset import main as bag_to_dataset
    from hint_policy.cli import UserFacingError
    from hint_policy.demos import load_demos

    bag = killed_bag(tmp_path)
    out = tmp_path / "demos.npz"
    with pytest.raises(UserFacingError, match="--repair recovers its complete chunks"):
        bag_to_dataset([str(bag), "--out", str(out)])
    assert bag_to_dataset([str(tmp_path), "--out", str(out), "--repair"]) == 0
    assert [d.seed for d in load_demos(out)] == [10]
