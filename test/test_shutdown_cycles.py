"""Every graph stops cleanly on SIGINT, again and again: exit code 0, no traceback, no abort.

Each cycle starts the graph with the launch-free runner, waits until the driver's composite
actions flow (the policy's sampling thread is busy), then interrupts it: alternately the runner
alone (``timeout -s INT``, what the runner forwards to each node) and the whole process group
(Ctrl-C in a terminal, so every node gets SIGINT twice). The runner reports a node that exited
with a non-zero code when stopped, so its own exit code covers every node.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

pytestmark = pytest.mark.ros

#: graph, its arguments, start/stop cycles: both ways of interrupting for pusht_sim, once for the
#: others in the suite's budget; ``HINT_SHUTDOWN_CYCLES=10 scripts/test.sh test/test_shutdown_cycles.py``
#: runs every graph 10 times (every graph must stop cleanly 10 times in a row). The runner sends
#: SIGUSR1 before killing, so a node that hangs on stop prints every thread's stack.
_LONG = os.environ.get("HINT_SHUTDOWN_CYCLES")
CYCLES = [
    ("pusht_sim", (), int(_LONG or 2)),
    ("quadrotor_sim", (), int(_LONG or 1)),
    ("arm_sim", (), int(_LONG or 1)),  # the shipped Panda policy
    ("arm_sim", ("driver:=expert",), int(_LONG or 1)),
    ("can_sim", (), int(_LONG or 1)),  # robosuite/MuJoCo, the policy on JointState and object_pose
    ("square_sim", ("driver:=expert",), int(_LONG or 1)),
]

PROBLEMS = ("Traceback", "terminate called", "exited with code", "exited early", "RCLError")


@pytest.mark.parametrize(("graph", "arguments", "cycles"), CYCLES, ids=[" ".join((c[0], *c[1])) for c in CYCLES])
def test_graph_stops_cleanly_on_sigint(ros, spawn, graph, arguments, cycles):
    from hint_msgs.msg import CompositeAction
    from hint_controller.qos import CHUNK_QOS

    node = ros.node("shutdown_probe")
    chunks = []
    node.create_subscription(CompositeAction, "composite_action", chunks.append, CHUNK_QOS)
    for cycle in range(cycles):
        # the previous graph's publishers gone and its last chunks taken, so only the new graph's
        # chunks count (a late one would otherwise trigger the SIGINT before the runner is up)
        assert ros.spin_until(lambda: node.count_publishers("composite_action") == 0, 20), (
            f"cycle {cycle}: a composite_action publisher of the previous graph is still there"
        )
        ros.spin_for(0.2)
        began = time.monotonic()
        seen = len(chunks)
        runner = spawn("-m", "hint_bringup.run", graph, *arguments)
        assert ros.spin_until(lambda: len(chunks) > seen or runner.poll() is not None, 60), (
            f"cycle {cycle}: no composite actions from {graph}"
        )
        up = time.monotonic()
        if cycle % 2:
            os.killpg(runner.pid, signal.SIGINT)  # Ctrl-C: the runner and every node
        else:
            runner.send_signal(signal.SIGINT)  # timeout -s INT: the runner, which interrupts the nodes
        code = runner.wait(timeout=30)
        output = runner.stdout.read()
        print(f"{graph} cycle {cycle}: up after {up - began:.1f} s, stopped in {time.monotonic() - up:.1f} s")
        found = [problem for problem in PROBLEMS if problem in output]
        assert code == 0 and not found, f"{graph} cycle {cycle}: exit code {code}, {found}:\n{output[-4000:]}"
