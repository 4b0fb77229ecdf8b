"""The one interface every plant model implements.

A model is a discrete-time system x_{t+1} = f(x_t, u_t) with a fixed period, obtained from
continuous dynamics xdot = f_c(x, u) (supplied by Drake) by a documented discretization
with the input held constant over the period (zero-order hold). The synthesis oracle
(:mod:`hint_controller.tvlqr`) linearizes `step`; the chunk executor clamps to the limits; the
simulators integrate it.
"""

from __future__ import annotations

import abc
import enum

import numpy as np


class SafeMode(str, enum.Enum):
    """What the controller commands when it has nothing valid to track."""

    ZERO = "zero"
    HOVER = "hover"
    GRAVITY_COMPENSATION = "gravity_compensation"
    #: damp the velocity towards zero (e.g. the PushT agent, whose zero input keeps it drifting)
    BRAKE = "brake"


class DynamicsModel(abc.ABC):
    """Discrete-time plant x_{t+1} = f(x_t, u_t) with names, limits and Jacobians."""

    #: short identifier, e.g. "planar_quadrotor"
    name: str
    #: one name per state coordinate (n entries)
    state_names: tuple[str, ...]
    #: one name per input coordinate (m entries)
    input_names: tuple[str, ...]
    #: discretization period [s]
    period: float
    #: elementwise input limits, shape (m,); may be +-inf
    input_lower: np.ndarray
    input_upper: np.ndarray
    #: elementwise bounds of the states the model is meant for, shape (n,) (workspace, joint and
    #: velocity limits); the controller rejects reference states outside them, widened by a
    #: margin (:mod:`hint_controller.chunk_validation`). None: unbounded
    state_lower: np.ndarray | None = None
    state_upper: np.ndarray | None = None

    @property
    def state_dim(self) -> int:
        return len(self.state_names)

    @property
    def input_dim(self) -> int:
        return len(self.input_names)

    def state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(state_lower, state_upper), -inf / +inf where the model declares none."""
        lower = np.full(self.state_dim, -np.inf) if self.state_lower is None else np.asarray(self.state_lower, dtype=float)
        upper = np.full(self.state_dim, np.inf) if self.state_upper is None else np.asarray(self.state_upper, dtype=float)
        return lower, upper

    @abc.abstractmethod
    def continuous_dynamics(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """xdot = f_c(x, u), shape (n,)."""

    @abc.abstractmethod
    def step(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """x_{t+1} = f(x_t, u_t) over one `period` with u held constant, shape (n,)."""

    @abc.abstractmethod
    def jacobians(self, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Discrete-time Jacobians (A, B) = (df/dx, df/du) of `step` at (x, u): (n, n), (n, m)."""

    def trajectory_jacobians(self, states: np.ndarray, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Jacobians of `step` at every (states[t], inputs[t]): A (T, n, n), B (T, n, m).

        `states` may hold T or T+1 rows (a trailing final state is ignored). Models override this
        with a vectorized version; the default loops over :meth:`jacobians`.
        """
        inputs = np.asarray(inputs, dtype=float)
        states = np.asarray(states, dtype=float)[: len(inputs)]
        pairs = [self.jacobians(x, u) for x, u in zip(states, inputs)]
        a = np.array([p[0] for p in pairs]).reshape(len(inputs), self.state_dim, self.state_dim)
        b = np.array([p[1] for p in pairs]).reshape(len(inputs), self.state_dim, self.input_dim)
        return a, b

    def safe_input(self, x: np.ndarray, mode: SafeMode | str) -> np.ndarray:
        """The input commanded in safe mode. Models override for HOVER / GRAVITY_COMPENSATION."""
        mode = SafeMode(mode)
        if mode is SafeMode.ZERO:
            return self.clamp(np.zeros(self.input_dim))
        raise ValueError(f"model {self.name!r} does not support safe mode {mode.value!r}")

    def clamp(self, u: np.ndarray) -> np.ndarray:
        """u clipped to [input_lower, input_upper]."""
        return np.clip(u, self.input_lower, self.input_upper)

    def input_bounds(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The inputs allowed at state x (the controller clips every command to them): the fixed
        limits, unless a model narrows them by state (e.g. a position servo's step limit)."""
        return self.input_lower, self.input_upper

    def rollout(self, x0: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """States x_0..x_T under the open-loop inputs u_0..u_{T-1}, shape (T+1, n)."""
        states = np.empty((len(inputs) + 1, self.state_dim))
        states[0] = x0
        for t, u in enumerate(inputs):
            states[t + 1] = self.step(states[t], u)
        return states
