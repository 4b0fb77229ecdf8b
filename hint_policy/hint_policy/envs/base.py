"""The interface of hint's ROS-free simulators.

An environment is stepped at its physics period by a low-level input u (the output of the
high-rate chunk executor), so feedback closes at the physics rate. Its full state (what a policy
observes) may contain more coordinates than the controlled subsystem: ``model`` is the dynamics
model of what the primitive controllers act on, and ``model.state_names`` is a subset of
``state_names``.
"""

from __future__ import annotations

import abc
import dataclasses

import numpy as np

from hint_controller.dynamics.base import DynamicsModel
from hint_controller.names import name_indices


@dataclasses.dataclass
class StepInfo:
    """What one physics step reports besides the new state."""

    reward: float  # task reward in [0, 1] (PushT: clipped coverage / 0.95)
    success: bool
    collision: bool = False
    timeout: bool = False

    @property
    def done(self) -> bool:
        return self.success or self.collision or self.timeout


class Env(abc.ABC):
    """A seeded simulator driven at `physics_period` by low-level inputs."""

    name: str
    state_names: tuple[str, ...]
    input_names: tuple[str, ...]
    physics_period: float
    #: demos and policies use knots every `control_stride` physics steps
    control_stride: int
    #: episode limit in physics steps
    max_steps: int
    model: DynamicsModel

    @property
    def knot_period(self) -> float:
        return self.physics_period * self.control_stride

    @abc.abstractmethod
    def reset(self, seed: int) -> np.ndarray:
        """Start an episode from the initial condition of `seed`; return the full state."""

    @abc.abstractmethod
    def step(self, u: np.ndarray) -> tuple[np.ndarray, StepInfo]:
        """Apply input u for one physics period; return the new full state and step info."""

    @abc.abstractmethod
    def render(self) -> np.ndarray:
        """An RGB frame, uint8 (H, W, 3)."""

    def episode_metrics(self) -> dict[str, float]:
        """Task-specific figures of the episode so far (e.g. the quadrotor's ``passed_obstacle``)."""
        return {}

    def controlled_state(self, state: np.ndarray) -> np.ndarray:
        """The coordinates of `state` that `model` controls, in the model's order."""
        return state[name_indices(self.state_names, self.model.state_names)]
