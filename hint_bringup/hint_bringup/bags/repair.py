"""Repair of an MCAP bag whose writer died: its complete chunks rewritten as a complete bag."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from rosbags.rosbag2.metadata import parse_qos
from ruamel.yaml import YAML

from hint_bringup.bags.episodes import episode_bounds, read_events
from hint_bringup.bags.errors import BagError, CorruptBagError
from hint_bringup.bags.types import EVENT_TYPE
from hint_bringup.bags.writer import CUSTOM_PREFIX, BagWriter
from hint_bringup.simulation import EVENT_NAMES

LOG = logging.getLogger(__name__)

TRUNCATED_SUFFIX = ".truncated"


def repair_bag(path: str | os.PathLike) -> Path:
    """Rewrite an MCAP bag whose writer died (SIGKILL, power loss) as a complete bag.

    `path`: the bag directory or its .mcap file. Every complete MCAP chunk is kept: the storage
    file is read with the `mcap` package's stream reader up to its first incomplete record and
    written again with :class:`BagWriter` (summary, index and metadata.yaml included). custom_data and the
    type hashes come from the metadata.yaml snapshot the recorder keeps writing; hint.episodes
    becomes the episodes whose end event survived, so the conversion ends at the last complete
    episode (the cut one is skipped with a warning). The original files stay in
    ``<bag>.truncated/`` with the suffix .truncated (so they are not found as a bag again).
    Returns the repaired bag directory; raises CorruptBagError when nothing is recoverable.
    """
    bag_dir, storage_file = _bag_storage_file(Path(path))
    backup = bag_dir.with_name(bag_dir.name + TRUNCATED_SUFFIX)
    if backup.exists():
        raise BagError(f"{bag_dir}: {backup} exists already (repaired before?); move it away to repair again")
    snapshot = _metadata_snapshot(bag_dir)
    moves = _set_aside(bag_dir, storage_file, backup)
    try:
        messages = _recover_bag(moves[storage_file], bag_dir, snapshot)
    except BaseException:
        if bag_dir.exists():
            shutil.rmtree(bag_dir)
        _undo(moves, bag_dir, backup)
        raise
    LOG.warning("%s: repaired: kept %d message(s) of its complete chunks; originals in %s", bag_dir, messages, backup)
    return bag_dir


def _bag_storage_file(path: Path) -> tuple[Path, Path]:
    """(bag directory, its .mcap file) of a bag directory or an .mcap file."""
    if path.is_dir():
        files = sorted(path.glob("*.mcap"))
        if len(files) != 1:
            raise CorruptBagError(f"{path}: expected one .mcap file to repair, found {len(files)}")
        return path, files[0]
    if path.suffix != ".mcap" or not path.is_file():
        raise CorruptBagError(f"{path}: not an MCAP bag (only MCAP bags can be repaired)")
    return (path.parent if path.parent.name == path.stem else path.with_suffix("")), path


def _metadata_snapshot(bag_dir: Path) -> dict[str, Any]:
    """The bag's metadata.yaml as a dict ({} when absent or unreadable)."""
    try:
        with (bag_dir / "metadata.yaml").open(encoding="utf8") as stream:
            return YAML(typ="safe").load(stream)["rosbag2_bagfile_information"] or {}
    except Exception:  # noqa: BLE001 - a killed writer may have left no or a broken snapshot
        return {}


def _set_aside(bag_dir: Path, storage_file: Path, backup: Path) -> dict[Path, Path]:
    """Move the bag's files into `backup` with the .truncated suffix; original -> new path."""
    originals = [storage_file] + ([bag_dir / "metadata.yaml"] if (bag_dir / "metadata.yaml").is_file() else [])
    if storage_file.parent == bag_dir:
        bag_dir.rename(backup)
    else:
        backup.mkdir()
        storage_file.rename(backup / storage_file.name)
    moves = {}
    for original in originals:
        inside = backup / original.name
        target = inside.with_name(inside.name + TRUNCATED_SUFFIX)
        inside.rename(target)
        moves[original] = target
    return moves


def _undo(moves: dict[Path, Path], bag_dir: Path, backup: Path) -> None:
    for original, moved in moves.items():
        moved.rename(backup / original.name)
    if next(iter(moves)).parent == bag_dir:
        backup.rename(bag_dir)
    else:
        for original in moves:
            (backup / original.name).rename(original)
        backup.rmdir()


def _recover_bag(source: Path, bag_dir: Path, snapshot: dict[str, Any]) -> int:
    """Copy the complete chunks' messages of `source` into a new bag at `bag_dir`; their number."""
    from mcap.exceptions import McapError
    from mcap.records import Channel, Message, Schema
    from mcap.stream_reader import StreamReader

    hashes = {t["topic_metadata"]["name"]: t["topic_metadata"].get("type_description_hash")
              for t in snapshot.get("topics_with_message_count") or []}
    schemas: dict[int, Any] = {}
    topics: dict[int, str] = {}
    event_channels: set[int] = set()
    events: list[tuple[int, bytes]] = []
    count = 0
    with source.open("rb") as stream, BagWriter(bag_dir) as bag:
        try:
            for record in StreamReader(stream).records:
                if isinstance(record, Schema):
                    schemas[record.id] = record
                elif isinstance(record, Channel):
                    schema = schemas[record.schema_id]
                    qos = parse_qos(record.metadata.get("offered_qos_profiles", "") or [])
                    try:
                        bag.add_topic(record.topic, schema.name, msgdef=schema.data.decode(),
                                      rihs01=hashes.get(record.topic), qos=qos)
                        topics[record.id] = record.topic
                        if schema.name == EVENT_TYPE:
                            event_channels.add(record.id)
                    except KeyError as error:
                        LOG.warning("%s: dropping topic %s: %s (no type hash in metadata.yaml)", source, record.topic, error)
                elif isinstance(record, Message) and record.channel_id in topics:
                    bag.write_raw(topics[record.channel_id], record.log_time, record.data)
                    count += 1
                    if record.channel_id in event_channels:
                        events.append((record.log_time, bytes(record.data)))
        except (McapError, EOFError, ValueError, KeyError) as error:  # the first incomplete record
            LOG.info("%s: stopped at an incomplete record (%s)", source, type(error).__name__)
        if not count:
            raise CorruptBagError(f"{source}: no complete MCAP chunk with messages; nothing to recover")
        for key, value in (snapshot.get("custom_data") or {}).items():
            if key.startswith(CUSTOM_PREFIX):
                bag.set_custom(key[len(CUSTOM_PREFIX):], str(value))
        finished = [
            {"episode_index": start.episode_index, "seed": start.seed,
             "event": EVENT_NAMES.get(end.event, str(end.event)), "score": end.score}
            for start, end in episode_bounds(read_events(bag.store, events), bag_dir)
        ]
        bag.set_custom("episodes", finished)
        bag.set_custom("repaired", f"from {source.name}: {count} message(s) of its complete chunks")
    return count
