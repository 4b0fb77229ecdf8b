"""PushT on gym-pusht's own physics, stepped at the physics period by the agent's acceleration.

gym-pusht (the PushT of LeRobot and of Chi et al.'s Diffusion Policy) moves its kinematic agent
by a PD law toward a 10 Hz target: ten times per control step it sets
``velocity += (kp (target - position) + kd (0 - velocity)) dt`` and calls ``space.step(dt)``
with dt = 0.01 s. :class:`PushTEnv` wraps an instance of gym-pusht's env (its pymunk space,
bodies, walls, goal and coverage) and exposes the inner loop: one :meth:`PushTEnv.step` applies an
agent acceleration u = (agent_ax, agent_ay) exactly as gym-pusht applies its PD acceleration and
advances the space by one physics period, so a high-rate controller closes the loop.
:meth:`PushTEnv.step_target` runs gym-pusht's ten PD substeps for one 10 Hz target and reproduces
gym-pusht's trajectory bit for bit.

Full state (what a policy observes)::

    agent_x, agent_y, agent_vx, agent_vy   agent centre [px] and velocity [px/s]
    block_x, block_y, block_theta          T body origin [px] and angle [rad]

``block_theta`` is pymunk's angle, not wrapped (gym-pusht's observation wraps it to [0, 2 pi)),
so the state is continuous along an episode; the goal angle pi/4 is matched modulo 2 pi by the
coverage. The block needs no velocity in the state: the space has damping 0, so the block only
moves while the agent pushes it.

Scoring follows gym-pusht: reward = clip(coverage / 0.95, 0, 1), success when coverage > 0.95,
an episode's score is its maximum reward. Coverage is evaluated after every physics step (cached
on the block pose, since it only changes while the block moves); episodes last at most
300 control steps = 3000 physics steps.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from gym_pusht.envs.pusht import PushTEnv as GymPushTEnv, pymunk_to_shapely  # noqa: E402

from hint_controller.dynamics.pusht_agent import KD, KP, PushTAgent, pd_acceleration  # noqa: E402
from hint_policy.envs.base import Env, StepInfo  # noqa: E402

AGENT_STATE_NAMES = ("agent_x", "agent_y", "agent_vx", "agent_vy")
BLOCK_STATE_NAMES = ("block_x", "block_y", "block_theta")
PUSHT_STATE_NAMES = AGENT_STATE_NAMES + BLOCK_STATE_NAMES
PUSHT_INPUT_NAMES = ("agent_ax", "agent_ay")

#: gym-pusht's constants (the PD gains KP, KD are checked against the wrapped env at construction)
PHYSICS_PERIOD = 0.01
CONTROL_STRIDE = 10
GOAL_POSE = np.array([256.0, 256.0, np.pi / 4])
SUCCESS_COVERAGE = 0.95
AGENT_RADIUS = 15.0
WORKSPACE = (0.0, 512.0)


@dataclasses.dataclass
class PushTConfig:
    """Episode settings; the defaults are gym-pusht's task."""

    max_control_steps: int = 300
    #: size of render() frames (gym-pusht's visualization size is 680)
    render_size: int = 512


class PushTEnv(Env):
    """gym-pusht's PushT driven at 100 Hz by the agent acceleration (see the module docstring)."""

    name = "pusht"
    state_names = PUSHT_STATE_NAMES
    input_names = PUSHT_INPUT_NAMES
    physics_period = PHYSICS_PERIOD
    control_stride = CONTROL_STRIDE

    def __init__(self, config: PushTConfig | None = None) -> None:
        self.config = config or PushTConfig()
        self.max_steps = self.config.max_control_steps * CONTROL_STRIDE
        self.gym_env = GymPushTEnv(
            obs_type="state",
            render_mode="rgb_array",
            visualization_width=self.config.render_size,
            visualization_height=self.config.render_size,
        )
        if (self.gym_env.dt, self.gym_env.k_p, self.gym_env.k_v) != (PHYSICS_PERIOD, KP, KD):
            raise RuntimeError("gym-pusht's PD constants changed; update hint_policy.envs.pusht")
        #: the controlled subsystem: gym-pusht's agent as a double integrator (exact match)
        self.model = PushTAgent(period=PHYSICS_PERIOD)
        self.steps = 0
        self.max_reward = 0.0
        self.target: np.ndarray | None = None  # last 10 Hz target, drawn by render()
        self._coverage_key: tuple[float, float, float] | None = None
        self._coverage = 0.0

    # ----------------------------------------------------------------- state access
    @property
    def state(self) -> np.ndarray:
        agent, block = self.gym_env.agent, self.gym_env.block
        return np.array(
            [*agent.position, *agent.velocity, *block.position, block.angle], dtype=float
        )

    def set_state(self, state: np.ndarray) -> None:
        """Put the bodies exactly at `state` (agent velocity included, block at rest).

        Unlike gym-pusht's ``reset_to_state`` this sets the block angle before its position (so
        the body origin lands where asked), keeps the agent velocity and does not step the space.
        Used by planners that simulate from the current state in a second instance.
        """
        state = np.asarray(state, dtype=float)
        agent, block = self.gym_env.agent, self.gym_env.block
        agent.position = (state[0], state[1])
        agent.velocity = (state[2], state[3])
        block.angle = state[6]
        block.position = (state[4], state[5])
        block.velocity = (0.0, 0.0)
        block.angular_velocity = 0.0
        self.gym_env.space.reindex_shapes_for_body(block)
        self.gym_env.space.reindex_shapes_for_body(agent)

    # ----------------------------------------------------------------- episode
    def reset(self, seed: int) -> np.ndarray:
        """gym-pusht's ``reset(seed=seed)``: the same initial agent position and block pose."""
        self.gym_env.reset(seed=int(seed))
        self.gym_env._last_action = None
        self.steps = 0
        self.target = None
        self._coverage_key = None
        self.max_reward = self.reward()
        return self.state

    def step(self, u: np.ndarray) -> tuple[np.ndarray, StepInfo]:
        """Apply agent acceleration u [px/s^2] for one physics period, as gym-pusht applies its PD.

        u is clipped to the model's limits (+-1e5 px/s^2, never reached by gym-pusht's PD).
        """
        u = np.clip(np.asarray(u, dtype=float), self.model.input_lower, self.model.input_upper)
        agent = self.gym_env.agent
        agent.velocity += u * PHYSICS_PERIOD
        self.gym_env.space.step(PHYSICS_PERIOD)
        self.steps += 1
        return self.state, self._info()

    def step_target(self, target: np.ndarray) -> tuple[np.ndarray, StepInfo, np.ndarray]:
        """One gym-pusht control step: ten PD substeps toward `target`.

        Returns the final state, the last substep's info and the (10, 2) accelerations applied.
        """
        target = np.asarray(target, dtype=float)
        self.target = target
        self.gym_env._last_action = target
        applied = np.empty((CONTROL_STRIDE, 2))
        info = None
        for k in range(CONTROL_STRIDE):
            agent = self.gym_env.agent
            applied[k] = pd_acceleration(np.array([*agent.position, *agent.velocity]), target)
            _, info = self.step(applied[k])
        return self.state, info, applied

    def coverage(self) -> float:
        """Fraction of the goal T covered by the block (gym-pusht's shapely computation).

        As gym-pusht's ``_get_coverage``, but over the block's shapes in a fixed order: pymunk's
        ``body.shapes`` is a set ordered by object address, so gym-pusht's sum over the T's two
        bars changed in the last bit from one process to the next for the same pose.
        """
        env = self.gym_env
        block = env.block
        key = (block.position.x, block.position.y, block.angle)
        if key != self._coverage_key:
            shapes = sorted(block.shapes, key=lambda shape: tuple(shape.get_vertices()))
            goal = pymunk_to_shapely(env.get_goal_pose_body(env.goal_pose), shapes)
            covered = pymunk_to_shapely(block, shapes)
            self._coverage = float(goal.intersection(covered).area / goal.area)
            self._coverage_key = key
        return self._coverage

    def reward(self) -> float:
        return float(np.clip(self.coverage() / SUCCESS_COVERAGE, 0.0, 1.0))

    def is_success(self) -> bool:
        return self.coverage() > SUCCESS_COVERAGE

    def _info(self) -> StepInfo:
        reward = self.reward()
        self.max_reward = max(self.max_reward, reward)
        return StepInfo(
            reward=reward, success=self.is_success(), collision=False, timeout=self.steps >= self.max_steps
        )

    def render(self) -> np.ndarray:
        """RGB frame from gym-pusht's renderer (goal in green, T in grey, agent in blue)."""
        return np.ascontiguousarray(self.gym_env.render())

    def block_keypoints(self) -> np.ndarray:
        """The T's eight corners in world coordinates, (8, 2)."""
        return self.gym_env.get_keypoints(self.gym_env._block_shapes)


@dataclasses.dataclass
class NearGoalStarts:
    """Where :class:`PushTNearGoalEnv` starts an episode: the block's pose drawn uniformly within
    these offsets of the goal pose, redrawn until its coverage lies in `coverage_range`, and the
    agent uniformly in gym-pusht's agent range at least `agent_clearance` px from the block's
    centre (the T reaches about 100 px from it)."""

    position_offset: float = 40.0  # px
    angle_offset: float = 0.6  # rad
    coverage_range: tuple[float, float] = (0.3, 0.9)
    agent_range: tuple[float, float] = (50.0, 450.0)
    agent_clearance: float = 110.0  # px


class PushTNearGoalEnv(PushTEnv):
    """PushT with the block started near the goal (:class:`NearGoalStarts`): expert demos from
    these starts are all finishing pushes, the part of the task where a policy trained on
    gym-pusht's starts alone has the fewest examples. Physics, scoring and time limit are
    PushT's; only the initial state differs."""

    name = "pusht_near_goal"

    def __init__(self, config: PushTConfig | None = None, starts: NearGoalStarts | None = None) -> None:
        super().__init__(config)
        self.starts = starts or NearGoalStarts()

    def reset(self, seed: int) -> np.ndarray:
        super().reset(seed)
        rng = np.random.default_rng(seed)
        starts = self.starts
        low, high = starts.coverage_range
        for _ in range(1000):
            block = GOAL_POSE + rng.uniform(-1.0, 1.0, 3) * (starts.position_offset, starts.position_offset,
                                                              starts.angle_offset)
            self.set_state(np.array([0.0, 0.0, 0.0, 0.0, *block]))
            if low <= self.coverage() < high:
                break
        else:
            raise RuntimeError(f"no near-goal block pose with coverage in {starts.coverage_range} (seed {seed})")
        while True:
            agent = rng.uniform(*starts.agent_range, 2)
            if np.hypot(*(agent - block[:2])) >= starts.agent_clearance:
                break
        self.set_state(np.array([*agent, 0.0, 0.0, *block]))
        self.max_reward = self.reward()
        return self.state
