"""A missing, truncated or corrupt file makes each command print one line, ``error: <file>: <what is
wrong>``, and exit with status 2, without a traceback; ``--debug`` adds the traceback. A value the
command cannot use (an unknown config key, a count below 1) is one line, ``error: <what is
wrong>``, with status 2 too.

Covers hint_bringup.run, hint_bringup.demo, hint_bringup.bag_to_dataset,
hint_policy.experts.generate, hint_policy.train, hint_policy.evaluate and hint_policy.episode_traces (all through
hint_policy.cli.run_main)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hint_policy.checkpoint import load_checkpoint, save_checkpoint

SHIPPED = Path(__file__).resolve().parents[1] / "hint_bringup" / "checkpoints" / "pusht.pt"


def command(*args: str) -> subprocess.CompletedProcess:
    """Run `python -m args...`; on a timeout its whole process group (nodes it started) is killed."""
    process = subprocess.Popen([sys.executable, "-m", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "HINT_DEBUG": ""}, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def assert_one_line_error(result: subprocess.CompletedProcess, path: Path, problem: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(lines) >= 1, result.stderr
    assert lines[-1].startswith(f"error: {path}: ") and problem in lines[-1], lines[-1]


def assert_usage_error(result: subprocess.CompletedProcess, line: str) -> None:
    """Exactly one line on stderr, `line`, and status 2."""
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [line], result.stderr


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("checkpoints")
    good = save_checkpoint(folder / "good.pt", load_checkpoint(SHIPPED))
    truncated = folder / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    flipped = folder / "flipped.pt"
    data = bytearray(good.read_bytes())
    middle = len(data) // 2  # inside the tensors' storage: torch.load alone accepts it
    data[middle:middle + 50] = bytes(b ^ 0xFF for b in data[middle:middle + 50])
    flipped.write_bytes(bytes(data))
    return {"good": good, "truncated": truncated, "flipped": flipped, "missing": folder / "missing.pt"}


@pytest.mark.parametrize(("which", "problem"), [
    ("missing", "checkpoint does not exist"),
    ("truncated", "truncated or corrupt checkpoint"),
    ("flipped", "checksum mismatch"),
])
def test_run_refuses_a_bad_checkpoint_before_starting_nodes(checkpoints, which, problem):
    path = checkpoints[which]
    result = command("hint_bringup.run", "pusht_sim", f"checkpoint:={path}")
    assert_one_line_error(result, path, problem)
    assert "[run] pusht_sim: started" not in result.stdout


def test_debug_shows_the_traceback(checkpoints):
    result = command("hint_bringup.run", "pusht_sim", f"checkpoint:={checkpoints['truncated']}", "--debug")
    assert result.returncode == 2 and "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {checkpoints['truncated']}: ")


def test_demo_refuses_a_bad_checkpoint(checkpoints, tmp_path):
    result = command("hint_bringup.demo", "--checkpoint", str(checkpoints["flipped"]), "--out", str(tmp_path))
    assert_one_line_error(result, checkpoints["flipped"], "checksum mismatch")


def demo_file(path: Path, meta: str | None = None) -> Path:
    from hint_policy.demos import Demo, save_demos

    demo = Demo(states=np.zeros((3, 2)), inputs=np.zeros((2, 1)), period=0.01, state_names=("x", "v"),
                input_names=("u",), env="toy", seed=0, success=True, source="test")
    save_demos(path, [demo])
    if meta is not None:  # replace the metadata entry, as a damaged file would have it
        with np.load(path) as data:
            arrays = dict(data)
        arrays["demo_0/meta"] = np.array(meta)
        with path.open("wb") as stream:
            np.savez(stream, **arrays)
    return path


@pytest.mark.parametrize(("damage", "problem"), [
    ("bad_json", "not a valid hint demo file"),
    ("truncated", "not a valid hint demo file"),
])
def test_bag_to_dataset_append_to_a_damaged_demo_file(tmp_path, damage, problem):
    from hint_bringup.bags import write_demo_bag
    from hint_policy.demos import load_demos

    out = demo_file(tmp_path / "demos.npz")
    write_demo_bag(tmp_path / "bags" / "b", load_demos(out))
    if damage == "bad_json":
        demo_file(out, meta="{not json")
    else:
        out.write_bytes(out.read_bytes()[:100])
    result = command("hint_bringup.bag_to_dataset", str(tmp_path / "bags"), "--out", str(out), "--append")
    assert_one_line_error(result, out, problem)


def test_generate_refuses_an_unusable_out_before_collecting(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = command("hint_policy.experts.generate", "--env", "pusht", "--num-demos", "1",
                     "--out", str(blocker / "demos.npz"))
    assert_one_line_error(result, blocker, "File exists")


def test_bag_to_dataset_on_a_corrupt_or_missing_bag_alone(tmp_path):
    corrupt = tmp_path / "corrupt.mcap"
    corrupt.write_bytes(b"not an mcap file")
    out = tmp_path / "demos.npz"
    result = command("hint_bringup.bag_to_dataset", str(corrupt), "--out", str(out))
    assert_one_line_error(result, corrupt, "cannot open bag")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    missing = tmp_path / "missing"
    result = command("hint_bringup.bag_to_dataset", str(missing), "--out", str(out))
    assert_one_line_error(result, missing, "does not exist")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not out.exists()


def test_train_names_an_unknown_config_key_and_the_closest_known_one():
    config = Path(__file__).resolve().parents[1] / "hint_policy" / "config" / "pusht.yaml"
    result = command("hint_policy.train", "--config", str(config), "--set", "train.stpes=10")
    assert_usage_error(result, "error: unknown config key train.stpes (did you mean train.steps?)")


@pytest.mark.parametrize("option", ["--episodes", "--batch", "--candidates"])
def test_evaluate_refuses_counts_below_one(option):
    result = command("hint_policy.evaluate", "--checkpoint", str(SHIPPED), option, "0")
    assert_usage_error(result, f"error: {option} must be at least 1, got 0")


def test_episode_traces_on_a_missing_record_and_a_bad_margin(tmp_path):
    missing = tmp_path / "eval.json"
    assert_one_line_error(command("hint_policy.episode_traces", str(missing)), missing, "No such file")
    missing.write_text("{}")
    assert_usage_error(command("hint_policy.episode_traces", str(missing), "--near", "1.5"),
                       "error: --near must be in [0, 1), got 1.5")
    assert_usage_error(command("hint_policy.episode_traces", str(missing)),
                       "error: no episodes in the evaluation record (write one with evaluate --out)")
