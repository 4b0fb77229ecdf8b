"""A sweep on a real multi-node Ray cluster through ``--address``: a worker node dies in the middle,
the sweep reports the run(s) it lost, and the same command run again finishes them, with exactly one
result line per run at the end."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("ray", reason="Ray is not installed")
if not Path("/proc/self/cmdline").is_file():
    pytest.skip("needs /proc to see which node executes a run", allow_module_level=True)

from experiments.harness.demos import ensure_demos  # noqa: E402
from experiments.harness.grid import expand_grid, load_spec  # noqa: E402
from experiments.harness.staleness import run_hash  # noqa: E402
from test_experiments_harness import REPO_ROOT, lines, tiny_spec  # noqa: E402

MB = 1024 * 1024


def worker_processes(node) -> dict[int, str]:
    """The processes below this Ray node's raylet (its workers), by pid, with their titles: Ray titles a
    worker ``ray::<function>`` while it executes a task, ``ray::IDLE`` between tasks."""
    from ray._private import ray_constants

    raylet = node.all_processes[ray_constants.PROCESS_TYPE_RAYLET][0].process.pid
    parents, titles = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                titles[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, IndexError, ValueError):
                continue
    below = {}
    for pid, title in titles.items():
        ancestor = parents.get(pid)
        while ancestor in parents and ancestor not in (0, 1, raylet):
            ancestor = parents[ancestor]
        if ancestor == raylet:
            below[pid] = title
    return below


def kill_node(cluster, node) -> None:
    """The node dies as a machine would: its raylet and object store, and the workers with them
    (a killed raylet alone leaves its workers to finish the task they hold)."""
    workers = worker_processes(node)
    cluster.remove_node(node, allow_graceful=False)
    for pid in workers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def checkpoint_stamp(spec, run) -> int:
    return (spec.run_directory(run) / "checkpoints" / "latest.pt").stat().st_mtime_ns


def test_sweep_through_address_survives_losing_a_worker_node(tmp_path, monkeypatch):
    from ray.cluster_utils import Cluster

    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    config = tiny_spec(tmp_path, "tinycluster", "quadrotor_stabilize.yaml", "quadrotor_stabilize",
                       {"data.action_content": ["feedforward", "primitives"], "data.num_demos": [1], "seed": [0, 1]},
                       {"hint": None}, "by_seed")
    values = yaml.safe_load(config.read_text())
    values["evaluation"]["exec_knots"] = 4
    config.write_text(yaml.safe_dump(values, sort_keys=False))
    spec = load_spec(config)
    runs = expand_grid(spec)
    assert len(runs) == 4
    ensure_demos(spec, runs)  # in this process: the sweeps below only train and evaluate
    command = [sys.executable, "-m", "experiments.fig5_stabilize", "--config", str(config), "--no-progress"]

    # a head that runs no tasks (the sweep's driver connects there) and two worker nodes of one CPU each;
    # a dead node is declared dead after about a second instead of Ray's default of tens of seconds
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "object_store_memory": 80 * MB, "include_dashboard": False,
        "_system_config": {"health_check_initial_delay_ms": 0, "health_check_period_ms": 500,
                           "health_check_failure_threshold": 2}})
    sweep = None
    try:
        workers = [cluster.add_node(num_cpus=1, object_store_memory=80 * MB) for _ in range(2)]
        cluster.wait_for_nodes()
        command += ["--address", cluster.address]

        started = time.monotonic()
        sweep = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # once a run has finished, and while the second node is executing one
        while not (spec.results_file.is_file() and lines(spec.results_file)
                   and any("ray::execute_run" in title for title in worker_processes(workers[1]).values())):
            assert sweep.poll() is None, sweep.communicate()[1][-3000:]
            assert time.monotonic() - started < 240, "no run finished on the cluster"
            time.sleep(0.05)
        kill_node(cluster, workers[1])
        killed_with = len(lines(spec.results_file))
        out, err = sweep.communicate(timeout=240)
        first = {r["run_hash"] for r in lines(spec.results_file)}
        lost = re.search(r"(\d+) run\(s\) failed: (.*); run again to retry them", err)
        assert killed_with < len(runs)
        # the runs the node took with it are reported, the rest finished on the node left
        assert sweep.returncode == 1 and lost, (sweep.returncode, out[-2000:], err[-3000:])
        lost_ids = set(lost.group(2).split(", "))
        assert int(lost.group(1)) == len(lost_ids) == len(runs) - len(first) >= 1
        assert lost_ids == {r.run_id for r in runs} - {r["run_id"] for r in lines(spec.results_file)}
        # lost to Ray (the worker or its node), not the run's own error
        reason = re.search(r"ray\.exceptions\.\w+", err)
        assert reason, err[-3000:]
        stamps = {r.run_id: checkpoint_stamp(spec, r) for r in runs if r.run_id not in lost_ids}

        # the same command again, on the cluster that is left: only the lost runs are done
        rerun = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert f"4 runs, {len(first)} finished, {len(lost_ids)} to do on the Ray cluster" in rerun.stdout
    finally:
        if sweep is not None and sweep.poll() is None:
            sweep.kill()
            sweep.communicate()
        cluster.shutdown()

    records = lines(spec.results_file)
    hashes = [r["run_hash"] for r in records]
    assert sorted(hashes) == sorted(run_hash(spec, r) for r in runs)  # each run once, none twice
    assert sorted(r["run_id"] for r in records) == sorted(r.run_id for r in runs)
    assert {r.run_id: checkpoint_stamp(spec, r) for r in runs if r.run_id in stamps} == stamps  # not retrained
    print(f"lost {len(lost_ids)} of {len(runs)} runs with the node ({reason.group(0)}); cluster test took "
          f"{time.monotonic() - started:.1f} s", file=sys.stderr)
