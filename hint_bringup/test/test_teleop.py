"""Teleoperation's ROS-free core (hint_bringup.teleop): the target tracker builds TVLQR
track-target chunks; the stick mapping."""

from __future__ import annotations

import numpy as np
import pytest

from hint_bringup.teleop import TargetTracker, stick_velocity
from hint_controller.dynamics import make_model

def pusht_tracker(chunk_length: int = 8):
    model = make_model("pusht_agent", period=0.01)
    return TargetTracker(model, ["agent_x", "agent_y"], ["agent_vx", "agent_vy"], [15.0, 15.0], [497.0, 497.0],
                         knot_period=0.1, chunk_length=chunk_length)


def test_tracker_chunks_track_a_moving_target_with_pd_like_gains():
    tracker = pusht_tracker()
    tracker.place([100.0, 600.0])
    assert tracker.target.tolist() == [100.0, 497.0]  # clipped to the workspace
    action = tracker.chunk(np.array([200.0, 0.0]), start_time=3.0)
    assert (action.length, action.period, action.start_time) == (8, pytest.approx(0.1), 3.0)
    np.testing.assert_allclose(action.x_ref[:, 0], 100.0 + 20.0 * np.arange(8))  # 200 px/s, knots 0.1 s apart
    np.testing.assert_allclose(action.x_ref[:, 1:], np.tile([497.0, 200.0, 0.0], (8, 1)))
    np.testing.assert_array_equal(action.u_ff, 0.0)  # the agent's hold input at rest
    kp, kd = -action.gains[0, 0, 0], -action.gains[0, 0, 2]
    assert 80 < kp < 110 and 15 < kd < 25 and abs(action.gains[0, 0, 1]) < 1e-6
    tracker.move([0.0, 1000.0], seconds=1.0)
    assert tracker.target.tolist() == [100.0, 497.0]


def test_tracker_holds_the_quadrotor_at_hover():
    model = make_model("planar_quadrotor", period=0.01)
    tracker = TargetTracker(model, ["x", "z"], ["xdot", "zdot"], [-2.3, 0.3], [2.3, 2.9], 0.05, 4)
    tracker.place([0.5, 1.0])
    action = tracker.chunk(np.zeros(2), start_time=0.0)
    np.testing.assert_allclose(action.u_ff, np.full((4, 2), model.hover_thrust))
    np.testing.assert_allclose(action.x_ref, np.tile([0.5, 1.0, 0, 0, 0, 0], (4, 1)))


def test_stick_velocity_mapping():
    np.testing.assert_allclose(stick_velocity([-1.0, 0.02, 0.5], [0, 1], [-200.0, -200.0], 0.05), [200.0, 0.0])
    np.testing.assert_allclose(stick_velocity([0.5], [0, 3], [1.0, 1.0], 0.05), [0.5, 0.0])  # missing axis: 0
    np.testing.assert_allclose(stick_velocity([], [0, 1], [1.0, 1.0], 0.05), [0.0, 0.0])
