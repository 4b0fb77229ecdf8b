"""Checkpoint files (hint_policy.checkpoint): checksum verified on load, atomic durable writes,
stale temporary files removed; every failure is a one-line CheckpointError naming the file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hint_policy.checkpoint import (
    CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CheckpointError, load_checkpoint, payload_checksum,
    remove_stale_temporaries, save_checkpoint,
)


def payload() -> dict:
    generator = torch.Generator().manual_seed(0)
    return {
        "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "step": 7, "config": {"data": {"sigma": 0.1}},
        "model": {"w": torch.randn(64, 64, generator=generator), "b": torch.zeros(64)},
        "optimizer": {"state": {0: {"exp_avg": torch.ones(3)}}, "param_groups": [{"lr": 1e-3, "params": [0]}]},
    }


def flip_bytes(path: Path, count: int, start: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    first = int(len(data) * start)
    for i in range(first, first + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_round_trip_with_checksum(tmp_path):
    path = save_checkpoint(tmp_path / "ckpt" / "latest.pt", payload())
    loaded = load_checkpoint(path)
    assert loaded["step"] == 7 and torch.equal(loaded["model"]["w"], payload()["model"]["w"])
    assert loaded["version"] == CHECKPOINT_VERSION == 2
    assert list(path.parent.iterdir()) == [path]  # no temporary file left


def test_flipped_bytes_in_the_tensors_fail_the_checksum(tmp_path):
    path = save_checkpoint(tmp_path / "latest.pt", payload())
    raw = path.read_bytes()
    weights_at = raw.index(payload()["model"]["w"].numpy().tobytes()[:64])  # inside w's storage
    flip_bytes(path, 50, start=(weights_at + 1000) / len(raw))
    torch.load(path, weights_only=True)  # torch itself does not notice
    with pytest.raises(CheckpointError, match=rf"^{path}: checksum mismatch"):
        load_checkpoint(path)


@pytest.mark.parametrize("damage", ["truncated", "flipped_header", "not_torch", "missing"])
def test_damaged_files_give_one_line_errors(tmp_path, damage):
    path = save_checkpoint(tmp_path / "latest.pt", payload())
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "flipped_header":
        flip_bytes(path, 50, start=0.0)
    elif damage == "not_torch":
        path.write_text("hello")
    else:
        path.unlink()
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and "\n" not in message and isinstance(error.value, ValueError)


def test_checksum_covers_plain_values_and_key_order_does_not_matter():
    reordered = dict(reversed(list(payload().items())))
    assert payload_checksum(reordered) == payload_checksum(payload())
    changed = payload()
    changed["config"]["data"]["sigma"] = 0.2
    assert payload_checksum(changed) != payload_checksum(payload())


def test_version_1_checkpoints_without_checksum_still_load(tmp_path):
    path = tmp_path / "v1.pt"
    torch.save({**payload(), "format": CHECKPOINT_FORMAT, "version": 1}, path)  # as version 1 saved it
    loaded = load_checkpoint(path)
    assert loaded["version"] == 1 and torch.equal(loaded["model"]["w"], payload()["model"]["w"])


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".latest.pt.{int(dead.stdout)}.tmp"
    stale.write_bytes(b"x" * 100)
    live = tmp_path / f".latest.pt.{os.getppid()}.tmp"  # a running process may still write it
    live.write_bytes(b"x")
    other = tmp_path / "notes.tmp"
    other.write_text("keep")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])
    assert remove_stale_temporaries(tmp_path / "absent") == []


def test_a_failed_write_leaves_no_temporary_and_keeps_the_old_file(tmp_path):
    path = save_checkpoint(tmp_path / "latest.pt", payload())
    with pytest.raises(Exception):
        save_checkpoint(path, {**payload(), "bad": lambda: None})  # not picklable
    assert list(tmp_path.iterdir()) == [path] and load_checkpoint(path)["step"] == 7


def test_the_file_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    import hint_policy.checkpoint as checkpoint

    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(checkpoint.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(checkpoint.os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    save_checkpoint(tmp_path / "latest.pt", payload())
    assert calls == ["fsync", "replace", "fsync"]  # the file, the rename, the folder


def test_optimizer_state_scalars_and_bool_masks_are_checksummed(tmp_path):
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()  # AdamW keeps its step count as a 0-dim tensor
    saved = {**payload(), "optimizer": optimizer.state_dict(), "mask": torch.tensor([True, False])}
    path = save_checkpoint(tmp_path / "opt.pt", saved)
    loaded = load_checkpoint(path)
    assert float(loaded["optimizer"]["state"][0]["step"]) == 1.0
    assert loaded["mask"].tolist() == [True, False]
