"""The episode logic every arm-reaching task shares: a state of joint positions, velocities and a
goal point; success when the end effector is within the tolerance at rest; limits end an episode.

A subclass (:class:`hint_policy.envs.arm.ArmReachEnv`, :class:`hint_policy.envs.panda.PandaReachEnv`)
sets the model (state: positions then velocities of ``num_joints`` joints), ``kinematics`` (with
``end_effector(q)``), ``goal_state_names`` (the goal point's coordinates, appended to the model's
state), a ``config`` with ``goal_tolerance`` [m] and ``rest_speed`` [rad/s], and
:meth:`initial_state`; it calls :meth:`_init_episode` at the end of its constructor.
**Reward**: 1 on success, else the progress clip(1 - d / d_0, 0, 1) of the end effector's distance
d to the goal (d_0 at the start), so an episode's score, its maximum reward, is its closest approach.
"""

from __future__ import annotations

import abc

import numpy as np

from hint_policy.envs.base import Env, StepInfo


class ReachEnv(Env):
    """Reach a goal point with the end effector and stop there (see the module docstring)."""

    goal_state_names: tuple[str, ...]
    num_joints: int

    def _init_episode(self) -> None:
        self.state_names = tuple(self.model.state_names) + tuple(self.goal_state_names)
        self.input_names = tuple(self.model.input_names)
        self._state = np.zeros(len(self.state_names))
        self._start_distance = 1.0
        self.steps = 0
        self.trace: list[np.ndarray] = []

    @abc.abstractmethod
    def initial_state(self, seed: int) -> np.ndarray:
        """The full start state (joint positions, velocities at rest, goal point) of `seed`."""

    def reset(self, seed: int) -> np.ndarray:
        return self.reset_to(self.initial_state(seed))

    def reset_to(self, state: np.ndarray) -> np.ndarray:
        """Start an episode at a full state (joint positions, velocities, goal point)."""
        state = np.array(state, dtype=float)
        if state.shape != (len(self.state_names),) or not np.all(np.isfinite(state)):
            raise ValueError(f"expected {len(self.state_names)} finite values for {list(self.state_names)}, got {state}")
        self._state = state
        self.steps = 0
        self.trace = [self.end_effector()]
        self._start_distance = max(self.goal_distance(), 1e-9)
        return self._state.copy()

    @property
    def state(self) -> np.ndarray:
        return self._state.copy()

    @property
    def goal(self) -> np.ndarray:
        """The goal point [m]."""
        return self._state[-len(self.goal_state_names):].copy()

    def end_effector(self, state: np.ndarray | None = None) -> np.ndarray:
        """The end effector's position at `state` (default: the current one) [m]."""
        state = self._state if state is None else np.asarray(state, dtype=float)
        return self.kinematics.end_effector(state[: self.num_joints])

    def goal_distance(self, state: np.ndarray | None = None) -> float:
        state = self._state if state is None else np.asarray(state, dtype=float)
        return float(np.linalg.norm(self.end_effector(state) - state[-len(self.goal_state_names):]))

    def step(self, u: np.ndarray) -> tuple[np.ndarray, StepInfo]:
        """Apply the model's input u (clamped to its limits) for one physics period."""
        u = self.model.clamp(np.asarray(u, dtype=float))
        n = self.num_joints
        self._state[: 2 * n] = self.model.step(self._state[: 2 * n], u)
        self.steps += 1
        tip = self.end_effector()
        self.trace.append(tip)
        distance = float(np.linalg.norm(tip - self.goal))
        collision = not self.within_limits(self._state)
        speeds = np.abs(self._state[n : 2 * n])
        success = not collision and distance <= self.config.goal_tolerance and bool(np.all(speeds < self.config.rest_speed))
        progress = float(np.clip(1.0 - distance / self._start_distance, 0.0, 1.0))
        return self._state.copy(), StepInfo(
            reward=1.0 if success else progress, success=success, collision=collision,
            timeout=self.steps >= self.max_steps,
        )

    def within_limits(self, state: np.ndarray) -> bool:
        """Every joint within its position limits."""
        q = np.asarray(state[: self.num_joints])
        return bool(np.all(q >= self.joint_lower) and np.all(q <= self.joint_upper))

    def episode_metrics(self) -> dict[str, float]:
        """``final_distance``: the end effector's distance to the goal point now [m]."""
        return {"final_distance": self.goal_distance()}
