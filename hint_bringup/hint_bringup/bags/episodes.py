"""Hint episodes in a bag: demos written as the simulator and controller publish them, and a bag
cut back into one demo per episode.

Episodes are delimited by episode events: a START opens episode `episode_index`, the next end
event with the same index closes it; both are stamped with the sim time of the first and of the
last state. Conversion to demos (:func:`read_episodes`): for each episode, the states stamped in
[START, end] (at the physics period; a gap or a late start skips the episode with a warning)
and, for each state time t_k, the input in effect during the step from t_k to t_{k+1}: the
applied input stamped t_k when /applied_input is there, else the latest /command stamped
before t_{k+1} within the episode (zero-order hold; leading states before the first command are
dropped). Bags recorded with ``ros2 bag record -s mcap /state /command /episode_event`` lack
custom_data; the period then comes from the state stamps and the source from the argument.
Problems that affect one episode are logged as warnings and that episode is skipped; problems
with the whole bag raise :class:`BagError`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from rosbags.typesys.store import Typestore

from hint_policy.demos import Demo

from hint_bringup.bags.errors import BagError, CorruptBagError, MissingTopicError
from hint_bringup.bags.reader import custom_data, open_reader
from hint_bringup.bags.types import (
    DEFAULT_TOPICS, EVENT_TYPE, INPUT_TYPE, STATE_TYPE, event_message, input_message, make_typestore, stamp_ns,
    state_message, topic_name,
)
from hint_bringup.bags.writer import BagWriter
from hint_bringup.simulation import EVENT_NAMES, EVENT_START, EVENT_SUCCESS, NS

LOG = logging.getLogger(__name__)


def write_demo_bag(
    path: str | os.PathLike,
    demos: Sequence[Demo],
    *,
    operator: str | None = None,
    storage: str = "mcap",
    start_time: float = 0.0,
    topics: Iterable[str] = ("state", "applied_input", "command", "episode_event"),
) -> Path:
    """Write `demos` as the simulator and controller would have published them.

    Episode i starts one period after episode i-1 ended (sim_node's reset also takes one period).
    States on /state, each demo input on /applied_input and /command stamped with the start of its
    step, START and end events (SUCCESS when `demo.success`, else demo.extra["end_event"] or
    TIMEOUT) on /episode_event. Used by tests and to turn a demo file back into a bag.
    """
    topics = set(topics)
    if not demos:
        raise ValueError("no demos to write")
    periods = {demo.period for demo in demos}
    if len(periods) != 1:
        raise ValueError(f"demos have different periods {sorted(periods)}; one bag has one physics period")
    period_ns = round(demos[0].period * NS)
    t_ns = round(start_time * NS)
    episodes = []
    with BagWriter(path, storage=storage) as bag:
        store = bag.store
        for topic in topics:
            bag.add_topic(topic, DEFAULT_TOPICS[topic])
        for index, demo in enumerate(demos):
            event_fields = dict(environment=demo.env, seed=demo.seed, episode_index=index)
            if "episode_event" in topics:
                bag.write("episode_event", t_ns, event_message(store, EVENT_START, t_ns, **event_fields))
            for k, state in enumerate(demo.states):
                step_t = t_ns + k * period_ns
                if k < demo.horizon:
                    for topic in ("applied_input", "command"):
                        if topic in topics:
                            bag.write(topic, step_t, input_message(store, demo.input_names, demo.inputs[k], step_t))
                if "state" in topics:
                    bag.write("state", step_t, state_message(store, demo.state_names, state, step_t))
            end_t = t_ns + demo.horizon * period_ns
            end_name = "SUCCESS" if demo.success else str(demo.extra.get("end_event", "TIMEOUT"))
            end_event = {name: code for code, name in EVENT_NAMES.items()}[end_name]
            score = float(demo.extra.get("score", 1.0 if demo.success else 0.0))
            if "episode_event" in topics:
                bag.write("episode_event", end_t, event_message(store, end_event, end_t, score=score, **event_fields))
            episodes.append({"episode_index": index, "seed": demo.seed, "event": end_name, "score": score})
            t_ns = end_t + period_ns
        bag.set_custom("operator", operator if operator is not None else demos[0].source)
        bag.set_custom("environment", demos[0].env)
        bag.set_custom("physics_period", repr(demos[0].period))
        bag.set_custom("episodes", episodes)
        bag.set_custom("recorder", "hint_bringup.bags.write_demo_bag")
    return Path(path)


@dataclasses.dataclass
class _Vectors:
    """Stamped named vectors of one topic, sorted by stamp."""

    stamps: np.ndarray  # int64 ns
    values: np.ndarray  # (N, d)
    names: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Event:
    """One hint_msgs/EpisodeEvent as read from a bag."""

    stamp: int
    event: int
    environment: str
    seed: int
    episode_index: int
    score: float
    detail: str


def read_episodes(
    bag_path: str | os.PathLike,
    *,
    state_topic: str = "state",
    input_topic: str | None = None,
    event_topic: str = "episode_event",
    source: str | None = None,
) -> list[Demo]:
    """The complete episodes of one bag as demos (see the module docstring for the rules).

    input_topic: None picks /applied_input when the bag has it, else /command.
    source: the demos' `source`; None takes the bag's hint.operator, else "bag".
    Raises MissingTopicError (naming the topic and listing the bag's topics) or CorruptBagError.
    """
    bag_path = Path(bag_path)
    store = make_typestore()
    with open_reader(bag_path) as reader:
        available = {c.topic: c.msgtype for c in reader.connections}
        custom = custom_data(reader)
        state_name = _require_topic(bag_path, available, [state_topic], STATE_TYPE, "--state-topic")
        event_name = _require_topic(bag_path, available, [event_topic], EVENT_TYPE, "--event-topic")
        candidates = [input_topic] if input_topic else ["applied_input", "command"]
        input_name = _require_topic(bag_path, available, candidates, INPUT_TYPE, "--command-topic")
        raw: dict[str, list[tuple[int, bytes]]] = {state_name: [], event_name: [], input_name: []}
        wanted = [c for c in reader.connections if c.topic in raw]
        try:
            for connection, timestamp, data in reader.messages(connections=wanted):
                raw[connection.topic].append((timestamp, bytes(data)))
        except Exception as error:
            raise CorruptBagError(f"{bag_path}: bag is truncated or corrupt: {error}") from error
    try:
        states = _vectors(store, raw[state_name], STATE_TYPE, state_name, bag_path)
        inputs = _vectors(store, raw[input_name], INPUT_TYPE, input_name, bag_path)
        events = read_events(store, raw[event_name])
    except BagError:
        raise
    except Exception as error:
        raise CorruptBagError(f"{bag_path}: cannot deserialize messages: {error}") from error
    period_ns = _period_ns(custom, states, bag_path)
    source = source or custom.get("operator") or "bag"
    demos = []
    for start, end in episode_bounds(events, bag_path):
        try:
            demos.append(_episode_demo(states, inputs, start, end, period_ns, input_name, source, bag_path))
        except ValueError as problem:
            LOG.warning("%s: skipping episode %d (seed %d): %s", bag_path, start.episode_index, start.seed, problem)
    return demos


def _require_topic(bag: Path, available: dict[str, str], names: Sequence[str], msgtype: str, option: str) -> str:
    for name in names:
        if topic_name(name) in available:
            found = available[topic_name(name)]
            if found != msgtype:
                raise MissingTopicError(f"{bag}: topic {topic_name(name)} has type {found}, expected {msgtype}")
            return topic_name(name)
    listing = ", ".join(f"{t} ({m})" for t, m in sorted(available.items())) or "none"
    same_type = [t for t, m in available.items() if m == msgtype]
    hint = f"; topics of type {msgtype}: {', '.join(sorted(same_type))} (choose with {option})" if same_type else ""
    wanted = " or ".join(topic_name(n) for n in names)
    raise MissingTopicError(f"{bag}: missing topic {wanted} ({msgtype}); the bag has: {listing}{hint}")


def _vectors(store: Typestore, raw: list[tuple[int, bytes]], msgtype: str, topic: str, bag: Path) -> _Vectors:
    """Deserialize StateVector/InputVector messages; reorder by the first message's names.

    Messages whose names do not contain the first message's names or hold non-finite values are
    dropped with one warning (the simulator rejects such commands too).
    """
    names: tuple[str, ...] | None = None
    rows: dict[int, np.ndarray] = {}
    dropped = 0
    for _, data in raw:
        message = store.deserialize_cdr(data, msgtype)
        values = np.asarray(message.values, dtype=float)
        message_names = tuple(message.names)
        if names is None:
            names = message_names
        if len(message_names) != len(values) or not set(names) <= set(message_names) or len(set(message_names)) != len(message_names):
            dropped += 1
            continue
        index = {name: i for i, name in enumerate(message_names)}
        ordered = values[[index[name] for name in names]]
        if not np.all(np.isfinite(ordered)):
            dropped += 1
            continue
        rows[stamp_ns(message.header.stamp)] = ordered  # a repeated stamp keeps the later message
    if dropped:
        LOG.warning("%s: dropped %d %s message(s) with other names or non-finite values", bag, dropped, topic)
    if not rows:
        raise MissingTopicError(f"{bag}: topic {topic} has no usable messages")
    stamps = np.array(sorted(rows), dtype=np.int64)
    return _Vectors(stamps, np.array([rows[s] for s in stamps]), names or ())


def read_events(store: Typestore, raw: list[tuple[int, bytes]]) -> list[Event]:
    """Episode events from their CDR bytes, sorted by stamp (a START before an end event at the same stamp)."""
    events = set()
    for _, data in raw:
        m = store.deserialize_cdr(data, EVENT_TYPE)
        events.add(Event(stamp_ns(m.header.stamp), int(m.event), m.environment, int(m.seed), int(m.episode_index), float(m.score), m.detail))
    # duplicates (a transient-local re-delivery, two recorders) collapse in the set
    return sorted(events, key=lambda e: (e.stamp, e.event != EVENT_START))


def _period_ns(custom: dict[str, str], states: _Vectors, bag: Path) -> int:
    if "physics_period" in custom:
        return round(float(custom["physics_period"]) * NS)
    diffs = np.diff(states.stamps)
    if len(diffs) == 0:
        raise CorruptBagError(f"{bag}: fewer than two states; cannot tell the physics period")
    return int(np.median(diffs))


def episode_bounds(events: list[Event], bag: Path) -> list[tuple[Event, Event]]:
    """(START, end event) pairs by episode_index; unmatched ones are warned about."""
    open_starts: dict[int, Event] = {}
    bounds = []
    for event in events:
        if event.event == EVENT_START:
            if event.episode_index in open_starts:
                LOG.warning("%s: episode %d started twice; keeping the later start", bag, event.episode_index)
            open_starts[event.episode_index] = event
        elif event.episode_index in open_starts:
            bounds.append((open_starts.pop(event.episode_index), event))
        else:
            LOG.warning("%s: %s of episode %d without its START (recording began mid-episode); skipped",
                        bag, EVENT_NAMES.get(event.event, event.event), event.episode_index)
    for start in open_starts.values():
        LOG.warning("%s: episode %d (seed %d) has no end event (recording stopped mid-episode); skipped",
                    bag, start.episode_index, start.seed)
    return bounds


def _episode_demo(
    states: _Vectors, inputs: _Vectors, start: Event, end: Event, period_ns: int, input_topic: str,
    source: str, bag: Path,
) -> Demo:
    """One Demo from the states in [start, end] and the inputs in effect (raises ValueError)."""
    tolerance = max(1, period_ns // 4)
    first = np.searchsorted(states.stamps, start.stamp - tolerance, side="left")
    last = np.searchsorted(states.stamps, end.stamp + tolerance, side="right")
    stamps, values = states.stamps[first:last], states.values[first:last]
    if len(stamps) < 2:
        raise ValueError(f"{len(stamps)} state(s) between its START and {EVENT_NAMES.get(end.event)}")
    if abs(stamps[0] - start.stamp) > tolerance:
        raise ValueError(f"its first state is {(stamps[0] - start.stamp) / NS:.3f} s after START (recording began late)")
    if abs(stamps[-1] - end.stamp) > tolerance:
        raise ValueError(f"its last state is {(end.stamp - stamps[-1]) / NS:.3f} s before the end event (recording stopped early)")
    gaps = np.flatnonzero(np.abs(np.diff(stamps) - period_ns) > tolerance)
    if len(gaps):
        raise ValueError(
            f"{len(gaps)} irregular state interval(s), first after t={stamps[gaps[0]] / NS:.3f} s "
            f"(states lost; the period is {period_ns / NS} s)"
        )
    # input in effect during step k (t_k -> t_{k+1}): latest input stamped in [t_0, t_{k+1})
    in_episode = (inputs.stamps >= start.stamp - tolerance) & (inputs.stamps < end.stamp)
    input_stamps, input_values = inputs.stamps[in_episode], inputs.values[in_episode]
    if len(input_stamps) == 0:
        raise ValueError(f"no {input_topic} message stamped within the episode (are all nodes on sim time?)")
    step_ends = stamps[1:] - tolerance
    latest = np.searchsorted(input_stamps, step_ends, side="right") - 1
    commanded = np.flatnonzero(latest >= 0)
    skip = int(commanded[0])  # leading steps before the first input
    latest = latest[skip:]
    step_starts = stamps[skip:-1]
    hold = (step_starts - input_stamps[latest]) / NS
    extra = {
        "bag": str(bag),
        "episode_index": start.episode_index,
        "end_event": EVENT_NAMES.get(end.event, str(end.event)),
        "score": end.score,
        "input_topic": input_topic,
        "start_time": int(stamps[skip]) / NS,
    }
    if end.detail:
        extra["detail"] = end.detail
    if skip:
        extra["dropped_leading_states"] = skip
    if len(hold):
        extra["max_input_hold_s"] = float(max(0.0, hold.max()))
    return Demo(
        states=values[skip:], inputs=input_values[latest], period=period_ns / NS,
        state_names=states.names, input_names=inputs.names, env=start.environment, seed=start.seed,
        success=end.event == EVENT_SUCCESS, source=source, extra=extra,
    )

