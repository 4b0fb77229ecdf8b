"""Shared numerics of the dynamics models: fast evaluation of Drake symbolic expressions, the
explicit fourth-order Runge-Kutta (RK4) and explicit Euler discretizations with their exact
Jacobians, and :class:`RK4Model` / :class:`EulerModel`, the bases of the models discretized
those ways.

Every function here is batched: a leading axis of any size runs over a trajectory, so the
synthesis oracle linearizes T steps with a handful of numpy calls instead of T Python calls.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence

import numpy as np
import sympy
from pydrake.symbolic import Expression, Jacobian, MakeVectorVariable, Variable, to_sympy

from hint_controller.dynamics.base import DynamicsModel

#: f(X, U) -> Xdot, batched over leading axes: (..., n), (..., m) -> (..., n)
BatchedDynamics = Callable[[np.ndarray, np.ndarray], np.ndarray]
#: (X, U) -> (df/dx (..., n, n), df/du (..., n, m))
BatchedJacobians = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def lambdify_drake(expressions: np.ndarray, variables: Sequence[Variable]) -> Callable[[np.ndarray], np.ndarray]:
    """Compile an array of Drake symbolic expressions into a batched numpy function.

    The returned function maps values of `variables`, shape (..., len(variables)), to the
    expressions evaluated elementwise, shape (..., *expressions.shape). Constant entries are
    broadcast. Conversion goes through SymPy's code printer with common-subexpression
    elimination, so evaluating a whole trajectory costs one pass of vectorized numpy calls.
    """
    expressions = np.asarray(expressions, dtype=object)
    memo: dict = {}
    symbols = [to_sympy(v, memo=memo) for v in variables]
    flat = [to_sympy(e if isinstance(e, Expression) else Expression(e), memo=memo) for e in expressions.ravel()]
    compiled = sympy.lambdify([symbols], flat, modules="numpy", cse=True)
    shape = expressions.shape

    def evaluate(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        columns = [values[..., i] for i in range(values.shape[-1])]
        entries = compiled(columns)
        batch = values.shape[:-1]
        out = np.empty((*batch, len(entries)))
        for i, entry in enumerate(entries):
            out[..., i] = entry  # broadcasts constants
        return out.reshape(*batch, *shape)

    return evaluate


def broadcast_leading(x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x (..., n) and u (..., m) broadcast to the same leading axes."""
    batch = np.broadcast_shapes(x.shape[:-1], u.shape[:-1])
    return np.broadcast_to(x, (*batch, x.shape[-1])), np.broadcast_to(u, (*batch, u.shape[-1]))


def rk4_step(f: BatchedDynamics, x: np.ndarray, u: np.ndarray, h: float) -> np.ndarray:
    """One classical RK4 step of xdot = f(x, u) over h with u held constant (zero-order hold)."""
    k1 = f(x, u)
    k2 = f(x + 0.5 * h * k1, u)
    k3 = f(x + 0.5 * h * k2, u)
    k4 = f(x + h * k3, u)
    return x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def rk4_jacobians(
    f: BatchedDynamics, f_jac: BatchedJacobians, x: np.ndarray, u: np.ndarray, h: float
) -> tuple[np.ndarray, np.ndarray]:
    """Exact Jacobians (A, B) of :func:`rk4_step` at (x, u), by the chain rule through the stages.

    With z = (x, u), stage s evaluates k_s = f(x + c_s h k_{s-1}, u), so
    dk_s/dz = f_x(stage point) (E + c_s h dk_{s-1}/dz) + [0, f_u(stage point)] with E = [I, 0].
    Batched: x (..., n), u (..., m) -> A (..., n, n), B (..., n, m).
    """
    x = np.asarray(x, dtype=float)
    u = np.asarray(u, dtype=float)
    n = x.shape[-1]
    m = u.shape[-1]
    batch = x.shape[:-1]
    select_x = np.zeros((n, n + m))
    select_x[:, :n] = np.eye(n)

    def stage(point: np.ndarray, previous_k: np.ndarray | None, previous_dk: np.ndarray | None, c: float):
        stage_x = point if previous_k is None else x + c * h * previous_k
        fx, fu = f_jac(stage_x, u)
        d_point = select_x if previous_dk is None else select_x + (c * h) * previous_dk
        dk = fx @ d_point
        dk[..., n:] += fu
        return f(stage_x, u), np.broadcast_to(dk, (*batch, n, n + m)).copy()

    k1, dk1 = stage(x, None, None, 0.0)
    k2, dk2 = stage(x, k1, dk1, 0.5)
    k3, dk3 = stage(x, k2, dk2, 0.5)
    _, dk4 = stage(x, k3, dk3, 1.0)
    jac = (h / 6.0) * (dk1 + 2.0 * dk2 + 2.0 * dk3 + dk4)
    jac[..., :n] += np.eye(n)
    return jac[..., :n], jac[..., n:]


class _ContinuousModel(DynamicsModel):
    """A model given by batched continuous dynamics f_c and their Jacobians."""

    @abc.abstractmethod
    def _batched_f(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """xdot = f_c(x, u) for x (..., n), u (..., m) (a :data:`BatchedDynamics`)."""

    @abc.abstractmethod
    def _batched_jac(self, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(df_c/dx (..., n, n), df_c/du (..., n, m)) (a :data:`BatchedJacobians`)."""

    def continuous_dynamics(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        return self._batched_f(np.asarray(x, float), np.asarray(u, float))

    def trajectory_jacobians(self, states: np.ndarray, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inputs = np.asarray(inputs, dtype=float)
        states = np.asarray(states, dtype=float)[: len(inputs)]
        return self.jacobians(states, inputs)


class SymbolicDynamics:
    """Mixin of a continuous model given by ``symbolic_dynamics(x, u)`` (Drake expressions):
    :meth:`compile_symbolic_dynamics` turns them and their Jacobians into batched numpy
    functions once, and they serve as the model's ``_batched_f`` / ``_batched_jac``."""

    def symbolic_dynamics(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def compile_symbolic_dynamics(self, state_dim: int, input_dim: int) -> None:
        x = MakeVectorVariable(state_dim, "x")
        u = MakeVectorVariable(input_dim, "u")
        xdot = self.symbolic_dynamics(x, u)
        variables = list(x) + list(u)
        self._f = lambdify_drake(xdot, variables)
        self._fx = lambdify_drake(Jacobian(xdot, x), variables)
        self._fu = lambdify_drake(Jacobian(xdot, u), variables)

    def _batched_f(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        return self._f(np.concatenate(broadcast_leading(x, u), axis=-1))

    def _batched_jac(self, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = np.concatenate(broadcast_leading(x, u), axis=-1)
        return self._fx(z), self._fu(z)


class EulerModel(_ContinuousModel):
    """A model discretized by one explicit Euler step per period with the input held:
    x_{t+1} = x_t + h f_c(x_t, u_t), with Jacobians A = I + h df_c/dx, B = h df_c/du (exact for
    this step). Subclasses supply the batched continuous dynamics and their Jacobians."""

    def step(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)
        return x + self.period * self._batched_f(x, np.asarray(u, float))

    def jacobians(self, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fx, fu = self._batched_jac(*broadcast_leading(np.asarray(x, float), np.asarray(u, float)))
        return np.eye(fx.shape[-1]) + self.period * fx, self.period * fu


class RK4Model(_ContinuousModel):
    """A model discretized by one :func:`rk4_step` per period with the input held (zero-order
    hold), with the exact Jacobians of that step from :func:`rk4_jacobians`.

    Subclasses supply the batched continuous dynamics and their Jacobians.
    """

    def step(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        return rk4_step(self._batched_f, np.asarray(x, float), np.asarray(u, float), self.period)

    def jacobians(self, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return rk4_jacobians(self._batched_f, self._batched_jac, np.asarray(x, float), np.asarray(u, float), self.period)
