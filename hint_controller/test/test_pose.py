"""A policy observation put together from a JointState and an object's PoseStamped."""

import numpy as np
import pytest

from hint_controller.joint_state import JointStateError
from hint_controller.pose import JointStateAndPoses, PoseError, pose_state_names, pose_to_vector, vector_to_pose

geometry_msgs = pytest.importorskip("geometry_msgs.msg", reason="geometry_msgs is not installed")
sensor_msgs = pytest.importorskip("sensor_msgs.msg", reason="sensor_msgs is not installed")

OBSERVED = ("j1/position", "object/x", "object/y", "object/z", "j2/position",
            "object/qx", "object/qy", "object/qz", "object/qw")
POSE = np.array([0.1, -0.2, 0.9, 0.0, 0.0, np.sin(0.3), np.cos(0.3)])


def joint_state(**positions):
    return sensor_msgs.JointState(name=list(positions), position=list(positions.values()))


def test_a_pose_round_trips_through_pose_stamped():
    msg = vector_to_pose(POSE, frame_id="world", stamp_ns=2_500_000_000)
    assert (msg.header.frame_id, msg.header.stamp.sec, msg.header.stamp.nanosec) == ("world", 2, 500_000_000)
    np.testing.assert_allclose(pose_to_vector(msg), POSE)
    assert pose_state_names("nut") == ("nut/x", "nut/y", "nut/z", "nut/qx", "nut/qy", "nut/qz", "nut/qw")


@pytest.mark.parametrize("values, problem", [
    ([0.1, np.nan, 0.9, 0.0, 0.0, 0.0, 1.0], "non-finite"),
    ([0.1, 0.2, 0.9, 0.0, 0.0, 0.0, 0.0], "no unit quaternion"),
])
def test_bad_poses_are_refused_in_one_line(values, problem):
    msg = vector_to_pose([0.0] * 6 + [1.0])
    p, q = msg.pose.position, msg.pose.orientation
    p.x, p.y, p.z, q.x, q.y, q.z, q.w = values
    with pytest.raises(PoseError, match=problem):
        pose_to_vector(msg)


def test_the_observation_waits_for_every_part_and_keeps_the_policy_order():
    observation = JointStateAndPoses(OBSERVED, ["object"])
    observation.set_joint_state(joint_state(j2=0.5, j1=-0.5, finger=0.04), stamp=3.0)
    assert observation.observation() is None  # no pose yet
    observation.set_pose("object", vector_to_pose(POSE), stamp=2.0)
    values, stamp = observation.observation()
    np.testing.assert_allclose(values, [-0.5, *POSE[:3], 0.5, *POSE[3:]])
    assert stamp == 2.0  # the older part's
    observation.clear()
    assert observation.observation() is None


def test_parts_that_do_not_fit_are_refused():
    observation = JointStateAndPoses(OBSERVED, ["object"])
    with pytest.raises(JointStateError, match="lacks joints"):
        observation.set_joint_state(joint_state(j1=0.0), stamp=1.0)
    with pytest.raises(PoseError, match="unknown pose 'nut'"):
        observation.set_pose("nut", vector_to_pose(POSE), stamp=1.0)
    with pytest.raises(PoseError, match="observes no coordinate of the poses \\['peg'\\]"):
        JointStateAndPoses(OBSERVED, ["object", "peg"])
