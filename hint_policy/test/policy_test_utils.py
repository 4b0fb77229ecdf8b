"""Helpers shared by the hint_policy tests (imported directly: pytest puts this folder on sys.path).

Import `one_torch_thread` into a test module to make it autouse there.
"""

import numpy as np
import pytest
import torch

from hint_controller.dynamics.pusht_agent import PushTAgent, pd_acceleration
from hint_policy.config import HintConfig, config_from_dict
from hint_policy.demos import Demo
from hint_policy.train import train

FULL_STATES = ("agent_x", "agent_y", "agent_vx", "agent_vy", "block_x", "block_y", "block_theta")
AGENT_STATES = FULL_STATES[:4]
INPUTS = ("agent_ax", "agent_ay")


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models on a shared 2-core machine: a second OpenMP thread only contends (100x slower
    under load), so these tests run single-threaded and restore the setting afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def pd_demo(agent: np.ndarray, block_pose: np.ndarray, target, horizon: int, seed: int = -1) -> Demo:
    """A PushT demo at 100 Hz: the agent, starting at state `agent`, driven by gym-pusht's PD law
    toward `target` for `horizon` physics steps while the block rests at `block_pose`."""
    model = PushTAgent()
    states, inputs = [np.concatenate([agent, block_pose])], []
    for _ in range(horizon):
        inputs.append(pd_acceleration(agent, target))
        agent = model.step(agent, inputs[-1])
        states.append(np.concatenate([agent, block_pose]))
    return Demo(np.array(states), np.array(inputs), 0.01, FULL_STATES, INPUTS, env="pusht", seed=seed)


def pd_demos(count: int, horizon: int = 60, seed: int = 0, block_theta: float = 0.3) -> list[Demo]:
    """PD demos toward a target that depends on the block position (512 - block x, y), with the
    block and the agent's start (at rest) drawn from `seed`; demo i gets seed i."""
    rng = np.random.default_rng(seed)
    demos = []
    for i in range(count):
        block = rng.uniform(100, 400, size=2)
        agent = np.concatenate([rng.uniform(50, 450, size=2), np.zeros(2)])
        demos.append(pd_demo(agent, np.r_[block, block_theta], 512 - block, horizon, seed=i))
    return demos


def train_tiny(out_dir, action_content: str = "primitives", obs_angles: tuple[str, ...] = ()):
    """(checkpoint path, demos) of a 5-step MLP policy trained on three short PD demos."""
    config = config_from_dict(HintConfig, {
        "data": {"dynamics": "pusht_agent", "control_stride": 5, "obs_steps": 2, "chunk_length": 4,
                 "sigma": 0.05, "action_content": action_content, "obs_angles": list(obs_angles)},
        "model": {"denoiser": "mlp", "mlp_hidden": 32, "mlp_blocks": 1, "step_embed_dim": 8},
        "diffusion": {"train_steps": 30},
        "train": {"steps": 5, "batch_size": 8, "out_dir": str(out_dir), "progress": False},
    })
    demos = pd_demos(3, horizon=40, seed=5, block_theta=0.0)
    return train(config, demos=demos).checkpoint, demos


def _rolled_demos(model, starts_and_goals, horizon: int, law) -> list[Demo]:
    """One demo of `model` (100 Hz, env "arm") per (start state, goal): the input `law(x, goal)`,
    clamped to the input limits, for `horizon` steps; demo i gets seed i."""
    demos = []
    for i, (x, goal) in enumerate(starts_and_goals):
        states, inputs = [x], []
        for _ in range(horizon):
            inputs.append(np.clip(law(x, goal), model.input_lower, model.input_upper))
            x = model.step(x, inputs[-1])
            states.append(x)
        demos.append(Demo(np.array(states), np.array(inputs), 0.01, model.state_names, model.input_names,
                          env="arm", seed=i))
    return demos


def arm_demos(count: int, horizon: int = 40, seed: int = 0) -> list[Demo]:
    """Demos of hint_controller's shipped 3-link arm (100 Hz) reaching random joint targets with
    PD plus gravity compensation, clamped to the effort limits; demo i gets seed i."""
    from hint_controller.dynamics.manipulator import Manipulator

    model = Manipulator(period=0.01)
    rng = np.random.default_rng(seed)
    pairs = [(np.concatenate([rng.uniform(-0.5, 0.5, size=3), np.zeros(3)]), rng.uniform(-0.5, 0.5, size=3))
             for _ in range(count)]
    return _rolled_demos(model, pairs, horizon,
                         lambda x, target: model.gravity_compensation(x) + 20.0 * (target - x[:3]) - 4.0 * x[3:])


def train_tiny_arm(out_dir):
    """(checkpoint path, demos) of a 5-step MLP policy for the shipped arm (states
    "<joint>/position", "<joint>/velocity", inputs "<joint>/effort" of joint1..joint3)."""
    return _train_tiny_arm_policy(out_dir, "manipulator", arm_demos(3, horizon=40, seed=5))


def _train_tiny_arm_policy(out_dir, dynamics: str, demos: list[Demo]):
    """(checkpoint path, demos) of a 5-step MLP policy on `demos` of the shipped arm's `dynamics` model."""
    config = config_from_dict(HintConfig, {
        "data": {"dynamics": dynamics, "control_stride": 5, "obs_steps": 2, "chunk_length": 4, "sigma": 0.05},
        "model": {"denoiser": "mlp", "mlp_hidden": 32, "mlp_blocks": 1, "step_embed_dim": 8},
        "diffusion": {"train_steps": 30},
        "train": {"steps": 5, "batch_size": 8, "out_dir": str(out_dir), "progress": False},
    })
    return train(config, demos=demos).checkpoint, demos


def servo_demos(interface: str, count: int, home, horizon: int = 40, seed: int = 0, spread: float = 0.1) -> list[Demo]:
    """Demos of the shipped arm behind a position or velocity interface (hint_controller's
    JointServo, 100 Hz): from rest near `home` (joint1..joint3 positions) to a random goal near it,
    commanded as the goal position (position) or a clamped P law on the position error (velocity);
    demo i gets seed i."""
    from hint_controller.dynamics import make_model

    model = make_model(f"{interface}_servo", 0.01)
    home = np.asarray(home, float)
    rng = np.random.default_rng(seed)
    pairs = [(np.concatenate([home + rng.uniform(-spread, spread, size=3), np.zeros(3)]),
              home + rng.uniform(-spread, spread, size=3)) for _ in range(count)]
    return _rolled_demos(model, pairs, horizon,
                         lambda x, goal: goal if interface == "position" else 5.0 * (goal - x[:3]))


def train_tiny_servo(out_dir, interface: str, home=(0.0, 0.0, 0.0)):
    """(checkpoint path, demos) of a 5-step MLP policy for the shipped arm behind a position or
    velocity interface (data.dynamics position_servo / velocity_servo; inputs "<joint>/<interface>"),
    trained on demos near `home`."""
    return _train_tiny_arm_policy(out_dir, f"{interface}_servo", servo_demos(interface, 3, home, horizon=40, seed=5))
