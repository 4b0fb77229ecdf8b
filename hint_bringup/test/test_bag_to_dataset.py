"""Bags written by BagWriter convert into demo datasets; every error path is clear and safe."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from hint_bringup import bags
from hint_bringup.bag_to_dataset import main
from hint_bringup.bags import (
    BagWriter, MissingTopicError, event_message, input_message, read_episodes, state_message, write_demo_bag,
)
from hint_bringup.simulation import EVENT_START, EVENT_SUCCESS
from hint_policy.cli import UserFacingError
from hint_policy.demos import Demo, load_demos

STATE_NAMES = ("agent_x", "agent_y", "agent_vx", "agent_vy", "block_x")
INPUT_NAMES = ("agent_ax", "agent_ay")


def make_demos(horizons=(40, 25), seed0=10) -> list[Demo]:
    rng = np.random.default_rng(seed0)
    return [
        Demo(states=rng.normal(size=(t + 1, len(STATE_NAMES))), inputs=rng.normal(size=(t, 2)), period=0.01,
             state_names=STATE_NAMES, input_names=INPUT_NAMES, env="pusht", seed=seed0 + i, success=i == 0,
             source="expert")
        for i, t in enumerate(horizons)
    ]


def assert_same_demos(expected: list[Demo], got: list[Demo]) -> None:
    assert len(got) == len(expected)
    for want, have in zip(expected, got):
        np.testing.assert_array_equal(have.states, want.states)
        np.testing.assert_array_equal(have.inputs, want.inputs)
        assert (have.state_names, have.input_names) == (want.state_names, want.input_names)
        assert have.period == pytest.approx(want.period)
        assert (have.env, have.seed, have.success) == (want.env, want.seed, want.success)


def test_round_trip_through_cli(tmp_path):
    demos = make_demos()
    write_demo_bag(tmp_path / "bags" / "session_a", demos, operator="teleop")
    out = tmp_path / "data" / "demos.npz"
    assert main([str(tmp_path / "bags"), "--out", str(out)]) == 0
    loaded = load_demos(out)
    assert_same_demos(demos, loaded)
    assert {d.source for d in loaded} == {"teleop"}  # the bag's hint.operator
    assert loaded[0].extra["end_event"] == "SUCCESS" and loaded[1].extra["end_event"] == "TIMEOUT"
    assert loaded[0].extra["input_topic"] == "/applied_input"


def test_bag_is_readable_by_mcap_and_rosbags_with_built_type_hashes(tmp_path):
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    from rosbags.rosbag2 import Reader

    path = write_demo_bag(tmp_path / "bag", make_demos((5,)))
    with next(path.glob("*.mcap")).open("rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        states = [decoded for _, channel, _, decoded in reader.iter_decoded_messages() if channel.topic == "/state"]
    assert len(states) == 6 and list(states[0].names) == list(STATE_NAMES)
    with Reader(path) as reader:
        topics = {c.topic: c for c in reader.connections}
        assert topics["/state"].msgcount == 6
        custom = reader.storage.metadata.custom
    assert custom["hint.operator"] == "expert"
    assert json.loads(custom["hint.episodes"])[0]["event"] == "SUCCESS"
    built = bags.hint_msgs_dir() / "StateVector.json"
    if built.is_file():  # the colcon-built package: rosbags' type hash must equal rosidl's
        hashes = {h["type_name"]: h["hash_string"] for h in json.loads(built.read_text())["type_hashes"]}
        assert topics["/state"].digest == hashes["hint_msgs/msg/StateVector"]


def test_command_topic_is_zero_order_held_and_leading_states_dropped(tmp_path):
    """Without /applied_input, the input of step k is the latest command stamped before t_{k+1}."""
    rng = np.random.default_rng(3)
    states = rng.normal(size=(31, len(STATE_NAMES)))
    period_ns = 10_000_000
    commands = {5: [1.0, 2.0], 12: [3.0, 4.0], 20: [5.0, 6.0]}  # physics step -> command
    with BagWriter(tmp_path / "bag") as bag:
        store = bag.store
        for topic in ("state", "command", "episode_event"):
            bag.add_topic(topic, bags.DEFAULT_TOPICS[topic])
        fields = dict(environment="pusht", seed=4, episode_index=0)
        bag.write("episode_event", 0, event_message(store, EVENT_START, 0, **fields))
        for k, state in enumerate(states):
            bag.write("state", k * period_ns, state_message(store, STATE_NAMES, state, k * period_ns))
            if k in commands:  # stamped a little after the state, before the next one; step 12's
                t = k * period_ns + 3_000_000  # command lists the names in the other order
                order = slice(None, None, -1 if k == 12 else 1)
                bag.write("command", t, input_message(store, INPUT_NAMES[order], commands[k][order], t))
        bag.write("episode_event", 30 * period_ns, event_message(store, EVENT_SUCCESS, 30 * period_ns, **fields))
    (demo,) = read_episodes(tmp_path / "bag")
    np.testing.assert_array_equal(demo.states, states[5:])
    expected = np.array([commands[max(k for k in commands if k <= step)] for step in range(5, 30)])
    np.testing.assert_array_equal(demo.inputs, expected)  # matched by name
    assert demo.input_names == INPUT_NAMES
    assert demo.extra["dropped_leading_states"] == 5
    assert demo.extra["max_input_hold_s"] == pytest.approx(0.29 - 0.203, abs=1e-9)  # steps 20..29
    assert demo.success and demo.source == "bag"


def test_missing_topic_is_named(tmp_path, caplog):
    write_demo_bag(tmp_path / "no_state", make_demos((5,)), topics=("applied_input", "episode_event"))
    with pytest.raises(MissingTopicError, match=r"missing topic /state \(hint_msgs/msg/StateVector\)"):
        read_episodes(tmp_path / "no_state")
    write_demo_bag(tmp_path / "no_input", make_demos((5,)), topics=("state", "episode_event"))
    with pytest.raises(MissingTopicError, match="missing topic /applied_input or /command"):
        read_episodes(tmp_path / "no_input")
    with pytest.raises(MissingTopicError, match="missing topic /events.*--event-topic"):
        read_episodes(tmp_path / "no_input", event_topic="events")
    out = tmp_path / "out.npz"
    # no bag converts: the first one's problem is the error, the other one's is warned about
    with caplog.at_level(logging.WARNING), pytest.raises(UserFacingError) as raised:
        main([str(tmp_path), "--out", str(out)])
    text = caplog.text + str(raised.value)
    assert "missing topic /state" in text and "missing topic /applied_input or /command" in text
    assert not out.exists()


def test_corrupt_bag_is_skipped_and_the_others_convert(tmp_path, caplog):
    demos = make_demos()
    write_demo_bag(tmp_path / "good", demos)
    broken = write_demo_bag(tmp_path / "truncated", make_demos((30,), seed0=50))
    storage = next(broken.glob("*.mcap"))
    storage.write_bytes(storage.read_bytes()[: storage.stat().st_size // 2])
    (tmp_path / "loose.mcap").write_bytes(b"not an mcap file")
    out = tmp_path / "out.npz"
    with caplog.at_level(logging.WARNING):
        assert main([str(tmp_path), "--out", str(out)]) == 0
    assert str(storage.parent) in caplog.text and "loose.mcap" in caplog.text
    assert_same_demos(demos, load_demos(out))
    out_only_broken = tmp_path / "nothing.npz"
    with pytest.raises(UserFacingError) as raised:
        main([str(broken), "--out", str(out_only_broken)])
    assert raised.value.path == str(broken) and "(a killed recorder?" in raised.value.problem
    assert not out_only_broken.exists()


def test_refuses_overwrite_and_appends_without_duplicates(tmp_path):
    first, second = make_demos(seed0=1), make_demos((7,), seed0=30)
    write_demo_bag(tmp_path / "a", first)
    write_demo_bag(tmp_path / "b", second)
    out = tmp_path / "out.npz"
    assert main([str(tmp_path / "a"), "--out", str(out)]) == 0
    before = out.read_bytes()
    assert main([str(tmp_path / "b"), "--out", str(out)]) == 2  # refused
    assert out.read_bytes() == before
    assert main([str(tmp_path / "b"), "--out", str(out), "--append"]) == 0
    assert_same_demos(first + second, load_demos(out))
    assert main([str(tmp_path), "--out", str(out), "--append"]) == 0  # everything already there
    assert len(load_demos(out)) == 3
    assert main([str(tmp_path / "b"), "--out", str(out), "--force"]) == 0
    assert_same_demos(second, load_demos(out))
    assert not list(tmp_path.glob("*.tmp*"))


def test_incomplete_and_gappy_episodes_are_skipped_with_a_reason(tmp_path, caplog):
    demos = make_demos((20, 20, 20))
    path = write_demo_bag(tmp_path / "bag", demos)
    # rewrite without the last end event and without one state of episode 1
    from rosbags.rosbag2 import Reader

    with Reader(path) as reader, BagWriter(tmp_path / "edited") as out:
        for c in reader.connections:
            out.add_topic(c.topic, c.msgtype)
        messages = list(reader.messages())
        last_event = max(t for c, t, _ in messages if c.topic == "/episode_event")
        for connection, timestamp, data in messages:
            episode_one_state = connection.topic == "/state" and timestamp == 31 * 10_000_000
            if not episode_one_state and not (connection.topic == "/episode_event" and timestamp == last_event):
                out.write_raw(connection.topic, timestamp, data)
    with caplog.at_level(logging.WARNING):
        converted = read_episodes(tmp_path / "edited")
    assert_same_demos(demos[:1], converted)
    assert "episode 1 (seed 11): 1 irregular state interval" in caplog.text
    assert "episode 2 (seed 12) has no end event" in caplog.text


def test_mixed_layouts_are_refused(tmp_path):
    write_demo_bag(tmp_path / "a", make_demos((5,)))
    other = Demo(states=np.zeros((4, 2)), inputs=np.zeros((3, 1)), period=0.01, state_names=("x", "v"),
                 input_names=("a",), env="other", seed=0)
    write_demo_bag(tmp_path / "b", [other])
    out = tmp_path / "out.npz"
    assert main([str(tmp_path), "--out", str(out)]) == 2
    assert not out.exists()


def test_writer_never_overwrites_a_bag(tmp_path):
    write_demo_bag(tmp_path / "bag", make_demos((3,)))
    with pytest.raises(FileExistsError):
        write_demo_bag(tmp_path / "bag", make_demos((3,)))
    assert Path(tmp_path / "bag" / "metadata.yaml").is_file()
