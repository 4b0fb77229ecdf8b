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


def test_short_slice_is_the_calling_threads_and_keeps_its_nice_value():
    """On the default scheduler the loop asks for a 0.1 ms slice (EEVDF, Linux >= 6.12); the
    kernel reports a thread's slice in /proc/thread-self/sched."""
    import threading

    from hint_controller.command_loop import LOOP_SLICE_S, request_short_slice

    if not os.path.exists("/proc/thread-self/sched"):
        pytest.skip("no /proc/thread-self/sched (not Linux)")
    result = {}

    def in_a_thread():
        os.setpriority(os.PRIO_PROCESS, 0, 3)  # this thread only (Linux: PRIO_PROCESS 0 = the caller)
        result["taken"] = request_short_slice()
        with open("/proc/thread-self/sched") as stats:
            result["sched"] = dict(line.split(":", 1) for line in stats.read().splitlines() if ":" in line)
        result["nice"] = os.getpriority(os.PRIO_PROCESS, 0)

    with open("/proc/self/sched") as stats:
        main_slice = [line for line in stats.read().splitlines() if line.startswith("se.slice")]
    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert result["taken"] is True
    assert result["nice"] == 3
    if "se.slice" not in {key.strip() for key in result["sched"]}:
        pytest.skip("this kernel reports no se.slice (no EEVDF custom slices)")
    slice_ns = int(next(value for key, value in result["sched"].items() if key.strip() == "se.slice"))
    assert slice_ns == int(LOOP_SLICE_S * 1e9)
    with open("/proc/self/sched") as stats:  # the main thread kept its own slice
        assert [line for line in stats.read().splitlines() if line.startswith("se.slice")] == main_slice
