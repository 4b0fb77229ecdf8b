"""robomimic Can with the Panda behind robosuite's OSC_POSE controller on absolute pose targets
(hint_policy.envs.robosuite_osc): the joint-position task's state and seeding, targets in the
frame of the observed end-effector pose, the target interface's model, and an expert demo turned
into pose targets (hint_policy.experts.osc_targets) replayed open-loop to success."""

import numpy as np
import pytest

import hint_policy.envs.robosuite_tasks  # noqa: F401

pytest.importorskip("robosuite")  # after hint_policy.envs: it picks MuJoCo's headless renderer first

from hint_controller.executor import ChunkExecutor  # noqa: E402
from hint_policy.envs import make_env  # noqa: E402
from hint_policy.envs.robosuite_osc import (  # noqa: E402
    DEFAULT_KP,
    TARGET_INPUT_NAMES,
    TARGET_STATE_NAMES,
    OSCPoseTargetModel,
    columns_to_matrix,
    matrix_to_columns,
    matrix_to_quaternion,
    pose_target,
    quaternion_to_matrix,
)
from hint_policy.envs.robosuite_tasks import EEF_STATE_NAMES  # noqa: E402
from hint_policy.experts.manipulation_expert import CanExpert  # noqa: E402
from hint_policy.experts.osc_targets import osc_demo, replay  # noqa: E402


@pytest.fixture(scope="module")
def can_osc():
    return make_env("can_osc")


def _pose(env, state):
    return state[[env.state_names.index(name) for name in EEF_STATE_NAMES]]


def test_names_interface_and_the_joint_position_tasks_state(can_osc):
    joint_task = make_env("can")
    assert can_osc.name == "can_osc" and can_osc.kp == DEFAULT_KP
    assert can_osc.state_names == joint_task.state_names
    assert can_osc.input_names == TARGET_INPUT_NAMES == can_osc.model.input_names
    assert (can_osc.physics_period, can_osc.control_stride, can_osc.max_steps) == (0.01, 5, 2000)
    assert set(TARGET_STATE_NAMES) <= set(can_osc.state_names)
    np.testing.assert_array_equal(can_osc.reset(100003), joint_task.reset(100003))
    joint_task.close()


def test_equal_seeds_give_equal_episodes_and_seeds_differ(can_osc):
    first = can_osc.reset(100003)
    pose = _pose(can_osc, first)
    u = pose_target(pose[:3] + [0.0, 0.0, 0.03], pose[3:], 0.04)
    rollout = [can_osc.step(u)[0] for _ in range(20)]
    np.testing.assert_array_equal(first, can_osc.reset(100003))
    np.testing.assert_array_equal(rollout[-1], [can_osc.step(u)[0] for _ in range(20)][-1])
    other = can_osc.reset(100004)
    position = [can_osc.state_names.index(f"object/{c}") for c in "xy"]
    assert np.linalg.norm(other[position] - first[position]) > 1e-3


def test_the_arm_reaches_the_commanded_pose_of_the_observed_frame(can_osc):
    """A target 5 cm higher and turned 15 degrees about the world's vertical: the observed eef/...
    pose gets there (world frame, the frame of robot0_eef_quat)."""
    pose = _pose(can_osc, can_osc.reset(100005))
    turn = np.array([[np.cos(0.26), -np.sin(0.26), 0.0], [np.sin(0.26), np.cos(0.26), 0.0], [0.0, 0.0, 1.0]])
    goal_rotation = turn @ quaternion_to_matrix(pose[3:])
    goal = pose_target(pose[:3] + [0.02, 0.0, 0.05], matrix_to_quaternion(goal_rotation), 0.04)
    for _ in range(150):
        state, _ = can_osc.step(goal)
    reached = _pose(can_osc, state)
    assert np.linalg.norm(reached[:3] - goal[:3]) < 5e-3
    error = quaternion_to_matrix(reached[3:]).T @ goal_rotation
    assert np.degrees(np.arccos(np.clip((np.trace(error) - 1) / 2, -1, 1))) < 1.5


def test_rotation_columns_round_trip_and_orthonormalize():
    rng = np.random.default_rng(0)
    quaternions = rng.normal(size=(50, 4))
    quaternions /= np.linalg.norm(quaternions, axis=1, keepdims=True)
    matrices = quaternion_to_matrix(quaternions)
    np.testing.assert_allclose(columns_to_matrix(matrix_to_columns(matrices)), matrices, atol=1e-12)
    back = matrix_to_quaternion(matrices)
    np.testing.assert_allclose(np.abs(np.sum(back * quaternions, axis=1)), 1.0, atol=1e-12)
    noisy = columns_to_matrix(matrix_to_columns(matrices) + 0.05 * rng.normal(size=(50, 6)))
    np.testing.assert_allclose(noisy @ np.swapaxes(noisy, 1, 2), np.broadcast_to(np.eye(3), (50, 3, 3)), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(noisy), 1.0, atol=1e-12)


def test_the_model_holds_the_measured_pose_in_safe_mode(can_osc):
    model = OSCPoseTargetModel()
    x = can_osc.controlled_state(can_osc.reset(100006))
    executor = ChunkExecutor(model, state_names=model.state_names)
    assert executor.safe_mode.value == "brake"
    hold = model.safe_input(x, "brake")
    np.testing.assert_allclose(model.step(x, hold), x, atol=1e-12)
    assert np.all(np.isfinite(model.safe_input(np.zeros(model.state_dim), "brake")))
    a, b = model.jacobians(x, hold)
    assert a.shape == (8, 8) and b.shape == (8, 10)


def test_a_derived_demo_replays_open_loop_to_success(can_osc):
    demo = CanExpert(make_env("can")).run_episode(100002)
    assert demo.success
    derived = osc_demo(demo, lead=3)
    assert derived.input_names == TARGET_INPUT_NAMES and derived.env == "can_osc"
    np.testing.assert_array_equal(derived.states, demo.states)
    pose = demo.select_states(EEF_STATE_NAMES)
    np.testing.assert_allclose(derived.inputs[:-3, :3], pose[3:-1, :3])
    success, steps = replay(can_osc, derived)
    assert success and steps <= demo.horizon + 100
