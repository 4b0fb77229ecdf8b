"""Checkpoint files: format, version, checksum, atomic save, verified load, temporary-file cleanup.

A checkpoint is a dict of tensors and plain values (config, layout, normalizers, model, EMA,
optimizer, step, RNG states) saved with torch.save and loaded with
``torch.load(weights_only=True)`` (no pickled code runs). Since version 2 it carries
``checksum``: the sha256 of every entry in a fixed order (key paths sorted; tensors by dtype,
shape and bytes, other values by repr), verified on load, so flipped bytes are an error instead
of a silently different policy. Version 1 files (no checksum) still load.

Writes are atomic and durable: a temporary file ``.<name>.<pid>.tmp`` in the same folder,
fsynced, then os.replace and an fsync of the folder. A killed writer leaves its temporary file
behind; :func:`remove_stale_temporaries` deletes those of processes that are gone (training
calls it at start).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from hint_policy.cli import UserFacingError

CHECKPOINT_FORMAT = "hint_policy_checkpoint"
CHECKPOINT_VERSION = 2
#: versions load_checkpoint accepts (1: before checksums)
READABLE_VERSIONS = (1, 2)
CHECKSUM_KEY = "checksum"
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.tmp$")


class CheckpointError(UserFacingError, ValueError):
    """A checkpoint file is missing, truncated, corrupt or of another format (names the file)."""


def payload_checksum(payload: dict[str, Any]) -> str:
    """sha256 (hex) over every entry of `payload` except the checksum itself, in a fixed order."""
    digest = hashlib.sha256()
    for path, value in _leaves({k: v for k, v in payload.items() if k != CHECKSUM_KEY}, ()):
        digest.update(repr(path).encode())
        if isinstance(value, torch.Tensor):
            tensor = value.detach().cpu().contiguous()
            digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
        else:
            digest.update(repr(value).encode())
    return digest.hexdigest()


def _leaves(value: Any, path: tuple) -> Iterator[tuple[tuple, Any]]:
    if isinstance(value, dict):
        for key in sorted(value, key=repr):
            yield from _leaves(value[key], (*path, repr(key)))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


def temporary_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """torch.save `payload` with its checksum to `path` atomically and durably; returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**payload, "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION}
    payload[CHECKSUM_KEY] = payload_checksum(payload)
    tmp = temporary_path(path)
    try:
        with tmp.open("wb") as stream:
            torch.save(payload, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_directory(path.parent)
    return path


def _fsync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and verify a hint checkpoint (torch.load with weights_only=True).

    Raises CheckpointError (a ValueError; FileNotFoundError's case included) naming the file:
    missing, truncated or not a torch file, another format or version, checksum mismatch.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "checkpoint does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises many kinds for truncated or corrupt files
        raise CheckpointError(path, f"truncated or corrupt checkpoint ({' '.join(str(error).split())[:200]})") from error
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(path, "not a hint_policy checkpoint")
    version = payload.get("version")
    if version not in READABLE_VERSIONS:
        raise CheckpointError(path, f"checkpoint version {version}, expected one of {READABLE_VERSIONS}")
    if version >= 2:
        stored = payload.pop(CHECKSUM_KEY, None)
        if stored is None:
            raise CheckpointError(path, "checkpoint has no checksum")
        if payload_checksum(payload) != stored:
            raise CheckpointError(path, "checksum mismatch: the file is corrupt (bytes changed since it was saved)")
    return payload


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete ``.<name>.<pid>.tmp`` files in `folder` whose writing process is gone; the deleted files."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for candidate in folder.iterdir():
        match = _TEMPORARY.match(candidate.name)
        if match and candidate.is_file() and not _process_alive(int(match["pid"])):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process writes no checkpoint while it cleans up
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
