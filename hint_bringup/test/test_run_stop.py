"""The runner's stop() on a node that does not exit after SIGINT: the Python stacks of its
threads (faulthandler, registered by run_node) reach the output before it is killed."""

import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.ros

#: a node run by run_node whose shutdown hangs (destroy_node never returns)
HANGING_NODE = textwrap.dedent("""
    import sys, time
    from rclpy.node import Node
    from hint_controller.node_main import run_node

    class HangingNode(Node):
        def __init__(self):
            super().__init__("hanging_node")
            self.create_timer(0.05, lambda: print("spinning", flush=True))

        def destroy_node(self):
            while True:
                time.sleep(0.1)  # hangs_in_destroy_node

    run_node(HangingNode, sys.argv)
""")


def test_a_node_that_does_not_stop_shows_where_it_hangs_and_is_killed(capfd):
    from hint_bringup.run import GraphProcesses, ProcessSpec

    graph = GraphProcesses([ProcessSpec("hanging_node", (sys.executable, "-c", HANGING_NODE))])  # output: this test's fds
    output = ""
    deadline = time.monotonic() + 120
    while "spinning" not in output and time.monotonic() < deadline and not graph.exited():
        time.sleep(0.1)
        output += capfd.readouterr().out
    assert "spinning" in output, output
    codes = graph.stop(timeout=2.0)
    captured = capfd.readouterr()
    output += captured.out + captured.err
    assert codes == {"hanging_node": -9}, (codes, output[-2000:])
    assert "most recent call first" in output and "in destroy_node" in output, output[-2000:]
