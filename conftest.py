"""Test-session settings and fixtures shared by every package's tests.

ROS tests talk over real DDS. To keep them hermetic they use a domain id of their own (derived
from the process id, so concurrent test runs do not see each other's nodes) and discover peers on
this machine only. Nodes started as separate processes inherit the same environment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent

os.environ.setdefault("ROS_DOMAIN_ID", str(10 + os.getpid() % 90))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("FASTRTPS_DEFAULT_PROFILES_FILE", str(REPO_ROOT / "test" / "fastdds_localhost.xml"))
os.environ.setdefault("RMW_FASTRTPS_USE_QOS_FROM_XML", "1")  # its endpoint profiles: the controller's own
os.environ.setdefault("ROS_LOG_DIR", str(REPO_ROOT / "log" / "ros"))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def rclpy_available() -> bool:
    try:
        import rclpy  # noqa: F401
        from hint_msgs.msg import CompositeAction  # noqa: F401
    except ImportError:
        return False
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if rclpy_available():
        return
    skip = pytest.mark.skip(reason="rclpy or the built hint_msgs are not importable (run `make setup`)")
    for item in items:
        if "ros" in item.keywords:
            item.add_marker(skip)


class RosHarness:
    """rclpy nodes in the test process on a private context, spun by one executor."""

    def __init__(self) -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor

        self._rclpy = rclpy
        self.context = Context()
        rclpy.init(context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.nodes: list = []

    def node(self, name: str, **kwargs):
        node = self._rclpy.create_node(name, context=self.context, **kwargs)
        self.executor.add_node(node)
        self.nodes.append(node)
        return node

    def spin_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Spin until `condition()` holds or `timeout` seconds pass; return the condition."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            self.executor.spin_once(timeout_sec=0.02)
        return condition()

    def spin_for(self, seconds: float) -> None:
        self.spin_until(lambda: False, seconds)

    def close(self) -> None:
        self.executor.shutdown()
        for node in self.nodes:
            node.destroy_node()
        self._rclpy.try_shutdown(context=self.context)


@pytest.fixture
def ros() -> Iterator[RosHarness]:
    """A :class:`RosHarness`; shut down after the test."""
    harness = RosHarness()
    yield harness
    harness.close()


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen]]:
    """Start commands as separate processes; they are interrupted (then killed) afterwards."""
    processes: list[subprocess.Popen] = []

    def start(*python_args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """`python_args` follow this interpreter, e.g. start("-m", "hint_controller.controller_node").

        Each process leads its own process group, so the teardown also reaches what it started
        (the graph runner's nodes) even when it has to kill the process itself."""
        process = subprocess.Popen(
            [sys.executable, *python_args],
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            preexec_fn=default_sigint,  # Ctrl-C semantics even when pytest runs as a background job
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for process in processes:  # anything the processes started and left behind
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
