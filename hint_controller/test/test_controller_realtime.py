"""The controller's optional SCHED_FIFO command thread (parameter realtime_priority)."""

import os

import pytest

pytestmark = pytest.mark.ros


def test_request_realtime_priority_asks_for_fifo_at_that_priority(monkeypatch):
    from hint_controller.controller_node import request_realtime_priority

    calls = []
    monkeypatch.setattr(os, "sched_setscheduler", lambda pid, policy, param: calls.append((pid, policy, param.sched_priority)))
    assert request_realtime_priority(50) is None
    assert calls == [(0, os.SCHED_FIFO, 50)]


def test_refused_priority_is_explained_not_raised(monkeypatch):
    from hint_controller.controller_node import request_realtime_priority

    def refuse(pid, policy, param):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    message = request_realtime_priority(80)
    assert "priority 80 refused" in message and "Operation not permitted" in message and "rtprio" in message


@pytest.mark.parametrize("priority", [-1, 100])
def test_out_of_range_priority_stops_the_node_with_a_clear_error(spawn, priority):
    process = spawn("-m", "hint_controller.controller_node", "--ros-args", "-p", f"realtime_priority:={priority}")
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 1
    assert f"realtime_priority must be 0 (off) or a SCHED_FIFO priority 1-99, got {priority}" in output
