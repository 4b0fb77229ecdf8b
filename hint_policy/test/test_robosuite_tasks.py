"""robomimic Can and Square on robosuite with the Panda behind a position interface
(hint_policy.envs.robosuite_tasks) and their scripted experts (manipulation_expert): seeding,
the servo the controller's model describes, robomimic's observation, expert episodes, and a
demo's own primitive controllers replayed through the controller's executor to success."""

import numpy as np
import pytest

import hint_policy.envs.robosuite_tasks  # noqa: F401

pytest.importorskip("robosuite")  # after hint_policy.envs: it picks MuJoCo's headless renderer first

from hint_controller.dynamics import make_model  # noqa: E402
from hint_controller.dynamics.servo import fit_position_step  # noqa: E402
from hint_controller.executor import primitive_input  # noqa: E402
from hint_controller.tvlqr import TVLQRConfig  # noqa: E402
from hint_policy.envs import make_env  # noqa: E402
from hint_policy.envs.robosuite_tasks import (  # noqa: E402
    ARM_JOINTS, DAMPING, EEF_STATE_NAMES, FINGER_JOINT, NATURAL_FREQUENCY, OBJECT_STATE_NAMES,
)
from hint_policy.experts.manipulation_expert import CanExpert, SquareExpert  # noqa: E402


@pytest.fixture(scope="module")
def can():
    return make_env("can")


@pytest.fixture(scope="module")
def square():
    return make_env("square")


def test_names_and_interface(can):
    joints = (*ARM_JOINTS, FINGER_JOINT)
    assert can.input_names == tuple(f"{j}/position" for j in joints)
    assert can.state_names[:16] == can.model.state_names
    assert set(EEF_STATE_NAMES + OBJECT_STATE_NAMES) <= set(can.state_names)
    assert (can.physics_period, can.control_stride, can.max_steps) == (0.01, 5, 2000)  # 20 s, 20 Hz knots


@pytest.mark.parametrize("task", ["can", "square"])
def test_equal_seeds_give_equal_episodes_and_seeds_differ(task, can, square):
    env = {"can": can, "square": square}[task]
    first = env.reset(100003)
    u = env.controlled_state(first)[:8] + 0.02
    rollout = [env.step(u)[0] for _ in range(20)]
    again = env.reset(100003)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(rollout[-1], [env.step(u)[0] for _ in range(20)][-1])
    other = env.reset(100004)
    position = [env.state_names.index(f"object/{c}") for c in "xy"]
    assert np.linalg.norm(other[position] - first[position]) > 1e-3


def test_the_plant_is_the_servo_the_model_describes(can):
    """A step of one joint's command fits the second-order servo of the shipped parameters."""
    state = can.reset(0)
    command = can.controlled_state(state)[:8].copy()
    start = command[1]
    command[1] += 0.2
    positions = [can.step(command)[0][1] - start for _ in range(200)]
    natural_frequency, damping = fit_position_step(np.arange(1, 201) * can.physics_period, np.array(positions), 0.2)
    assert natural_frequency == pytest.approx(NATURAL_FREQUENCY[1], rel=0.03)
    assert damping == pytest.approx(DAMPING[1], rel=0.05)


def test_the_controller_model_of_the_launch_config_is_the_envs(can):
    model = make_model("position_servo", 0.01, urdf_path="panda", joints=list(ARM_JOINTS) + [FINGER_JOINT],
                       natural_frequency=list(NATURAL_FREQUENCY), damping=list(DAMPING))
    x, u = np.zeros(16), np.ones(8) * 0.01
    np.testing.assert_allclose(model.step(x, u), can.model.step(x, u))
    assert model.input_names == can.input_names


def test_reset_to_puts_the_simulation_at_a_measured_state(can):
    state = can.reset(5)
    moved = state.copy()
    moved[0] += 0.1
    moved[can.state_names.index("object/x")] += 0.02
    placed = can.reset_to(moved)
    np.testing.assert_allclose(placed[:16], moved[:16], atol=1e-9)
    assert placed[can.state_names.index("object/x")] == pytest.approx(moved[can.state_names.index("object/x")])


@pytest.mark.parametrize("task", ["can", "square"])
def test_the_expert_succeeds_smoothly_within_15_s(task, can, square):
    env = {"can": can, "square": square}[task]
    expert = (CanExpert if task == "can" else SquareExpert)(env)
    demos = [expert.run_episode(seed) for seed in (100000, 100001)]
    assert all(d.success for d in demos)
    assert all(d.horizon * d.period <= 15.0 for d in demos)
    assert all(d.extra["strategy"] in expert.strategies() for d in demos)
    for demo in demos:  # velocity limits kept; commands change by less than 0.1 rad per 10 ms
        speeds = np.abs(demo.states[:, 8:15])
        assert np.all(speeds <= env.model.state_upper[8:15])
        assert np.max(np.abs(np.diff(demo.inputs[:, :7], axis=0))) < 0.1


def test_strategies_are_drawn_per_seed(can):
    expert = CanExpert(can)
    drawn = {expert.start(can.reset(seed), seed).strategy for seed in range(40)}
    assert drawn == set(expert.strategies()) and len(drawn) == 4


def test_a_demos_own_primitives_replay_to_success(can):
    """The demo's TVLQR primitive controllers (x_bar = x_t, u_bar = u_t), executed at the knots
    with zero-order hold of the gains as the controller does, reproduce the expert's success."""
    demo = CanExpert(can).run_episode(100002)
    model = can.model
    x = np.array([can.controlled_state(s) for s in demo.states])
    gains = TVLQRConfig(terminal="dare").synthesis(model)(x, demo.inputs)
    state = can.reset(demo.seed)
    info = None
    for t in range(demo.horizon):
        measured = can.controlled_state(state)
        u = primitive_input(gains[t], measured - x[t], demo.inputs[t], *model.input_bounds(measured))
        state, info = can.step(u)
        if info.done:
            break
    assert info.success


def test_render_gives_an_rgb_frame(square):
    square.reset(0)
    frame = square.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.std() > 10
