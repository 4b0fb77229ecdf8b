"""Finding bags on disk and opening them with rosbags' Reader."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from rosbags.rosbag2 import Reader

from hint_bringup.bags.errors import CorruptBagError
from hint_bringup.bags.writer import CUSTOM_PREFIX

LOG = logging.getLogger(__name__)


def find_bags(path: str | os.PathLike) -> list[Path]:
    """Bags at or below `path`, sorted: bag directories (with metadata.yaml) and bare .mcap files
    outside them (a recorder that died leaves no metadata.yaml; rosbags reads a complete .mcap
    alone, `ros2 bag reindex` rebuilds the metadata)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if (path / "metadata.yaml").is_file() or path.is_file():
        return [path]
    bags = sorted(p.parent for p in path.rglob("metadata.yaml"))
    loose = [f for f in path.rglob("*.mcap") if not any(bag in f.parents for bag in bags)]
    for storage_file in path.rglob("*.db3"):
        if not any(bag in storage_file.parents for bag in bags):
            LOG.warning("skipping %s: an sqlite3 bag file without its metadata.yaml (try `ros2 bag reindex`)", storage_file)
    return sorted(bags + loose)


def bag_custom_data(bag_path: str | os.PathLike) -> dict[str, str]:
    """The hint.* entries of the bag's custom_data, without the prefix."""
    with open_reader(Path(bag_path)) as reader:
        return custom_data(reader)


def custom_data(reader: Reader) -> dict[str, str]:
    """The hint.* entries of an open bag's custom_data, without the prefix."""
    metadata = getattr(reader.storage, "metadata", None)  # absent when reading a bare .mcap file
    custom = getattr(metadata, "custom", None) or {}
    return {key[len(CUSTOM_PREFIX):]: value for key, value in custom.items() if key.startswith(CUSTOM_PREFIX)}


class open_reader:
    """rosbags Reader as a context manager that turns its errors into CorruptBagError."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reader: Reader | None = None

    def __enter__(self) -> Reader:
        try:
            self.reader = Reader(self.path)
            self.reader.open()
        except Exception as error:  # rosbags raises ReaderError, OSError, struct/mcap errors
            raise CorruptBagError(f"{self.path}: cannot open bag: {error}") from error
        return self.reader

    def __exit__(self, *exc_info) -> None:
        if self.reader is not None:
            self.reader.close()
