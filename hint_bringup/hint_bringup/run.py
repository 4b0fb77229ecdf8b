"""Start a hint graph without ROS 2 launch (pip-only machines have no launch or ros2cli).

    python -m hint_bringup.run pusht_sim                       # Ctrl-C stops every node
    python -m hint_bringup.run pusht_sim checkpoint:=my.pt sigma:=0.1 record:=true
    python -m hint_bringup.run pusht_sim driver:=expert record:=true   # record expert demos
    python -m hint_bringup.run --list

Same nodes, parameter file and launch arguments as ``ros2 launch hint_bringup <graph>.launch.py``
(both are built from :mod:`hint_bringup.graphs`); each node runs in its own process. With
record:=true the recorder node writes an MCAP bag (``ros2 bag`` is not needed).
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from hint_bringup.graphs import GRAPHS, RECORDER, Graph, as_bool, graph
from hint_policy.cli import add_debug_flag, run_main


@dataclasses.dataclass(frozen=True)
class ProcessSpec:
    """One process of a graph: the node it runs and its command line."""

    node: str
    command: tuple[str, ...]


def _parameter_argument(name: str, value: Any) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (list, tuple)):
        text = "[" + ",".join(str(v) for v in value) + "]"
    else:
        text = str(value)
    return f"{name}:={text}"


def node_command(
    module: str,
    node_name: str,
    namespace: str,
    parameters: dict[str, Any],
    params_file: str | None = None,
    remappings: Sequence[tuple[str, str]] = (),
) -> tuple[str, ...]:
    """`python -m module --ros-args ...` naming, placing and parametrizing one node."""
    command = [sys.executable, "-m", module, "--ros-args", "-r", f"__node:={node_name}"]
    if namespace:
        command += ["-r", f"__ns:=/{namespace}"]
    for source, target in remappings:
        command += ["-r", f"{source}:={target}"]
    if params_file:
        command += ["--params-file", params_file]
    for name, value in parameters.items():
        command += ["-p", _parameter_argument(name, value)]
    return tuple(command)


def process_specs(g: Graph, arguments: dict[str, str]) -> list[ProcessSpec]:
    """The command line of every node of `g` for the given launch arguments."""
    g.check_argument_names(arguments)
    if g.respawn_delays(arguments):
        raise ValueError(f"respawning ({sorted(g.respawn_delays(arguments))}) needs ros2 launch; "
                         "the runner stops the whole graph when a node exits")
    overrides = g.overrides(arguments)
    remappings = g.remappings(arguments)
    namespace = arguments.get("namespace", "").strip("/")
    specs = [
        ProcessSpec(node.name, node_command(node.module, node.name, namespace, overrides[node.name],
                                            str(g.config_path()), remappings[node.name]))
        for node in g.active_nodes(arguments)
    ]
    if as_bool(g.resolve(arguments)["record"]):
        specs.append(ProcessSpec(RECORDER, node_command("hint_bringup.recorder_node", RECORDER, namespace,
                                                        g.recorder_parameters(arguments))))
    return specs


def check_policy_checkpoint(g: Graph, arguments: dict[str, str]) -> None:
    """Load the policy's checkpoint once before any node starts: a missing, truncated or corrupt
    file is a CheckpointError naming it (one line from run_main), not a node dying later."""
    policy = g.overrides(arguments).get("policy")
    if policy is not None:
        from hint_policy.checkpoint import load_checkpoint

        load_checkpoint(policy["checkpoint"])


def default_sigint() -> None:
    """Let a child process react to SIGINT even when this one was started with it ignored (a
    shell's background job): Python only turns SIGINT into KeyboardInterrupt when it is not
    ignored at start-up, and stop() interrupts the nodes with SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class GraphProcesses:
    """The processes of a running graph; stop() interrupts them, then kills what lingers."""

    def __init__(self, specs: Sequence[ProcessSpec], quiet: bool = False) -> None:
        output = subprocess.DEVNULL if quiet else None
        self.processes = {
            spec.node: subprocess.Popen(spec.command, stdout=output, stderr=output, preexec_fn=default_sigint)
            for spec in specs
        }

    def exited(self) -> dict[str, int]:
        return {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}

    def stop(self, timeout: float = 10.0) -> dict[str, int]:
        """Interrupt the running processes (SIGINT), kill those still running after `timeout`;
        the exit code of each process that was still running (-9: killed)."""
        running = {name: p for name, p in self.processes.items() if p.poll() is None}
        for process in running.values():
            process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + timeout
        for process in running.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                dump_stacks_then_kill(process)
        return {name: p.returncode for name, p in running.items()}


def dump_stacks_then_kill(process: subprocess.Popen, dump_s: float = 2.0) -> None:
    """Kill a process that did not stop, after asking it for the Python stacks of all its threads
    (SIGUSR1: hint_controller.node_main.run_node registers faulthandler for it), so the output
    shows where it hung."""
    process.send_signal(signal.SIGUSR1)
    try:
        process.wait(timeout=dump_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def parse_arguments(items: Sequence[str]) -> dict[str, str]:
    """ROS launch style name:=value pairs."""
    result = {}
    for item in items:
        name, separator, value = item.partition(":=")
        if not separator or not name:
            raise ValueError(f"arguments look like name:=value, got {item!r}")
        result[name] = value
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("graph", nargs="?", help=f"one of {', '.join(sorted(GRAPHS))}")
    parser.add_argument("arguments", nargs="*", help="launch arguments name:=value")
    parser.add_argument("--list", action="store_true", help="list graphs and their arguments")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0 = until Ctrl-C)")
    parser.add_argument("--print", action="store_true", help="print the command lines and exit")
    add_debug_flag(parser)
    args = parser.parse_intermixed_args(argv)  # options may follow name:=value pairs
    if args.list or not args.graph:
        for name, g in sorted(GRAPHS.items()):
            print(f"{name}: nodes {[n.name for n in g.nodes]}, config {g.config_file}")
            for arg, (default, description) in g.argument_specs().items():
                print(f"    {arg}:={default!r:<10} {description}")
        return 0
    try:
        arguments = parse_arguments(args.arguments)
        specs = process_specs(graph(args.graph), arguments)
    except (KeyError, ValueError) as error:
        parser.error(str(error))
    if args.print:
        for spec in specs:
            print(" ".join(spec.command))
        return 0
    check_policy_checkpoint(graph(args.graph), arguments)
    # SIGINT (Ctrl-C, also when started as a background job) and SIGTERM (a supervisor) only set
    # a flag: a second Ctrl-C while the nodes stop interrupts nothing here
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, frame: stop.set())
    running = GraphProcesses(specs)
    print(f"[run] {args.graph}: started {', '.join(running.processes)}; Ctrl-C stops", flush=True)
    start = time.monotonic()
    try:
        while not running.exited() and not stop.is_set():
            if args.duration and time.monotonic() - start > args.duration:
                break
            stop.wait(0.2)
    finally:
        exited = running.exited()
        stopped = running.stop()
    for name, code in exited.items():
        print(f"[run] {name} exited early with code {code}", file=sys.stderr)
    for name, code in stopped.items():
        if code != 0:
            print(f"[run] {name} exited with code {code} when stopped", file=sys.stderr)
    return 1 if any(code != 0 for code in {**exited, **stopped}.values()) else 0


if __name__ == "__main__":
    sys.exit(run_main(main))
