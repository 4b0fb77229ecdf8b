"""Synthesis oracle: discrete-time finite-horizon time-varying LQR (TVLQR) along a trajectory.

Given a trajectory x_0..x_T, u_0..u_{T-1} of a :class:`DynamicsModel`, linearize its discrete
step at every (x_t, u_t) (vectorized over t) and run the backward Riccati recursion for

    J = (x_T - x_bar_T)' Qf (x_T - x_bar_T) + sum_t (x_t - x_bar_t)' Q (x_t - x_bar_t) + (u_t - u_bar_t)' R (u_t - u_bar_t)

    P_T = Qf
    K_t = -(R + B_t' P_{t+1} B_t)^{-1} B_t' P_{t+1} A_t
    P_t = Q + K_t' R K_t + (A_t + B_t K_t)' P_{t+1} (A_t + B_t K_t)     (Joseph form)
    P_t <- (P_t + P_t') / 2

Gains follow hint's convention u = u_bar + K (x - x_bar) (Drake's FiniteHorizonLinearQuadraticRegulator
returns K_drake = -K). The Riccati matrix is re-symmetrized every step: Drake's discrete recursion
does not, and its asymmetry blows up on long horizons (see the project's facts notes).

Each step t yields one primitive controller (x_t, u_t, K_t); :func:`primitive_controllers`
samples them at knots and :func:`chunk_controllers` packs knots into :class:`CompositeAction` s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.linalg import solve_discrete_are
from scipy.linalg.lapack import dposv

from hint_controller.composite_action import CompositeAction, Interpolation, chunk_from_knots
from hint_controller.dynamics.base import DynamicsModel

#: default diagonal weights (Q, R) per model name; Qf defaults to Q
DEFAULT_WEIGHTS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    # metres / radians, their rates; rotor forces in N
    "planar_quadrotor": ((10.0, 10.0, 10.0, 1.0, 1.0, 1.0), (0.1, 0.1)),
    # pixels, pixels/s; accelerations in px/s^2. Ratios chosen so the gains come out close to
    # gym-pusht's own PD law (kp = 100, kd = 20): continuous LQR on a double integrator gives
    # kp = sqrt(q_pos / r) = 100 and kd = sqrt(q_vel / r + 2 kp) = 20.
    "pusht_agent": ((1e4, 1e4, 200.0, 200.0), (1.0, 1.0)),
}
#: weights for models not listed above, per coordinate: positions 100, velocities 1, inputs 0.01
_GENERIC_POSITION, _GENERIC_VELOCITY, _GENERIC_INPUT = 100.0, 1.0, 0.01


@dataclasses.dataclass(frozen=True)
class TVLQRConfig:
    """Diagonal cost weights; None picks the model's default (see :func:`TVLQRConfig.for_model`)."""

    q_diag: tuple[float, ...] | None = None
    r_diag: tuple[float, ...] | None = None
    qf_diag: tuple[float, ...] | None = None
    #: terminal cost when qf_diag is None: "q" (Qf = Q) or "dare" (Qf = the infinite-horizon
    #: cost-to-go of the linearization at the trajectory's end, so the gains do not fade out over
    #: the last steps: a demo's final primitive controllers hold its final state as firmly as the
    #: earlier ones track it)
    terminal: str = "q"

    def matrices(self, model: DynamicsModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(Q, R, Qf) for `model`, defaults filled in."""
        default_q, default_r = _default_weights(model)
        q = np.diag(np.asarray(self.q_diag if self.q_diag is not None else default_q, dtype=float))
        r = np.diag(np.asarray(self.r_diag if self.r_diag is not None else default_r, dtype=float))
        qf = np.diag(np.asarray(self.qf_diag, dtype=float)) if self.qf_diag is not None else q.copy()
        n, m = model.state_dim, model.input_dim
        if self.terminal not in ("q", "dare"):
            raise ValueError(f"terminal must be 'q' or 'dare', got {self.terminal!r}")
        if q.shape != (n, n) or qf.shape != (n, n) or r.shape != (m, m):
            raise ValueError(f"weights must have {n} state and {m} input entries for {model.name!r}")
        return q, r, qf

    def terminal_cost(self, qf: np.ndarray) -> np.ndarray | str:
        """What synthesize_gains takes as `qf`: the matrix, or "dare" when asked for it."""
        return "dare" if self.terminal == "dare" and self.qf_diag is None else qf

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> TVLQRConfig:
        """From a training config's ``data.synthesis_options`` (YAML lists become tuples)."""
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in options.items()})

    def synthesis(self, model: DynamicsModel) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """The TVLQR synthesis oracle with these weights: (states (T+1, n), inputs (T, m)) -> gains (T, m, n)."""
        q, r, qf = self.matrices(model)
        terminal = self.terminal_cost(qf)
        return lambda states, inputs: synthesize_gains(model, states, inputs, q, r, terminal).gains


def _default_weights(model: DynamicsModel) -> tuple[Sequence[float], Sequence[float]]:
    if model.name in DEFAULT_WEIGHTS:
        return DEFAULT_WEIGHTS[model.name]
    q = [_GENERIC_VELOCITY if "vel" in name or name.endswith("dot") else _GENERIC_POSITION for name in model.state_names]
    return q, [_GENERIC_INPUT] * model.input_dim


@dataclasses.dataclass(frozen=True)
class TVLQRResult:
    """Per-step feedback gains and cost-to-go of a TVLQR synthesis along one trajectory."""

    gains: np.ndarray  # (T, m, n), u_t = u_bar_t + gains[t] (x_t - x_bar_t)
    cost_to_go: np.ndarray  # (T+1, n, n), symmetric PSD P_t; cost_to_go[T] = Qf
    state_jacobians: np.ndarray  # (T, n, n), A_t of the model's step at (x_t, u_t)
    input_jacobians: np.ndarray  # (T, n, m), B_t


def synthesize_gains(
    model: DynamicsModel,
    states: np.ndarray,
    inputs: np.ndarray,
    q: np.ndarray,
    r: np.ndarray,
    qf: np.ndarray | str | None = None,
) -> TVLQRResult:
    """Discrete-time finite-horizon TVLQR gains along (states (T+1, n), inputs (T, m)).

    `qf` is the terminal cost matrix (None = Q) or "dare": the solution of the discrete algebraic
    Riccati equation of the last step's linearization (falls back to Q where it has none).

    `states` holds the model's own coordinates (select them by name first, e.g. with
    :func:`hint_controller.names.name_indices`). The trajectory need not be dynamically feasible
    for the model; it is linearized where it is.
    """
    states = np.asarray(states, dtype=float)
    inputs = np.asarray(inputs, dtype=float)
    _check_trajectory(model, states, inputs)
    a, b = model.trajectory_jacobians(states[:-1], inputs)
    q, r = np.asarray(q, float), np.asarray(r, float)
    if isinstance(qf, str):
        if qf != "dare":
            raise ValueError(f"qf must be a matrix, None or 'dare', got {qf!r}")
        qf = infinite_horizon_cost(a[-1], b[-1], q, r)
    gains, cost_to_go = riccati_backward(a, b, q, r, np.asarray(qf if qf is not None else q, float))
    return TVLQRResult(gains=gains, cost_to_go=cost_to_go, state_jacobians=a, input_jacobians=b)


def infinite_horizon_cost(a: np.ndarray, b: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """P of the discrete algebraic Riccati equation for (A, B, Q, R); Q where none exists."""
    try:
        p = solve_discrete_are(a, b, q, r)
    except (np.linalg.LinAlgError, ValueError):
        return q.copy()
    return 0.5 * (p + p.T) if np.all(np.isfinite(p)) else q.copy()


def riccati_backward(
    a: np.ndarray, b: np.ndarray, q: np.ndarray, r: np.ndarray, qf: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Symmetrized backward Riccati recursion; returns gains (T, m, n) and P (T+1, n, n).

    Uses P_t = Q + A' P A + G' K with G = B' P A (algebraically equal to the Joseph form in the
    module docstring), solves R + B' P B by Cholesky (LAPACK dposv, a few times cheaper than
    numpy.linalg.solve on 2x2 systems) and symmetrizes P every step.
    """
    horizon, n, m = b.shape
    gains = np.empty((horizon, m, n))
    cost_to_go = np.empty((horizon + 1, n, n))
    p = 0.5 * (qf + qf.T)
    cost_to_go[horizon] = p
    a_transposed = a.transpose(0, 2, 1)
    b_transposed = b.transpose(0, 2, 1)
    for t in range(horizon - 1, -1, -1):
        bt_p = b_transposed[t] @ p
        coupling = bt_p @ a[t]
        _, solution, info = dposv(r + bt_p @ b[t], coupling)
        if info != 0:
            raise np.linalg.LinAlgError(f"R + B' P B is not positive definite at step {t} (is R positive definite?)")
        gain = -solution
        p = q + a_transposed[t] @ p @ a[t] + coupling.T @ gain
        p = 0.5 * (p + p.T)
        gains[t] = gain
        cost_to_go[t] = p
    return gains, cost_to_go


def _check_trajectory(model: DynamicsModel, states: np.ndarray, inputs: np.ndarray) -> None:
    n, m = model.state_dim, model.input_dim
    if inputs.ndim != 2 or inputs.shape[1] != m or len(inputs) < 1:
        raise ValueError(f"inputs must have shape (T>=1, {m}) for {model.name!r}, got {inputs.shape}")
    if states.shape != (len(inputs) + 1, n):
        raise ValueError(
            f"states must have shape (T+1, {n}) = {(len(inputs) + 1, n)} for {model.name!r} "
            f"(select the model's columns by name first), got {states.shape}"
        )
    if not (np.all(np.isfinite(states)) and np.all(np.isfinite(inputs))):
        raise ValueError("trajectory contains non-finite values")


def primitive_controllers(
    model: DynamicsModel,
    states: np.ndarray,
    inputs: np.ndarray,
    config: TVLQRConfig | None = None,
    stride: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Primitive controllers (x_ref, u_ff, gains) along a trajectory, one per knot.

    Gains are synthesized per model step (period `model.period`), then knots are taken every
    `stride` steps: knot k = (x_{k s}, u_{k s}, K_{k s}) with s = stride, shapes
    (T // s, n), (T // s, m), (T // s, m, n) (a trailing partial interval is dropped). With
    stride 1 each knot is exactly the step's TVLQR controller, and chunks of them reproduce the
    trajectory exactly; with stride > 1 the executor holds u_ff and K over the knot while x_ref is
    interpolated, an approximation: a knot carries none of the inputs within it, so no
    interpolation reproduces a trajectory whose input changes inside a knot (measured on expert
    demos, full 16-knot chunks: 1.4e-2 of the demo's range on the quadrotor at stride 5 with u_ff
    and K interpolated too, 0.11 on PushT at stride 10, whose expert's PD input decays within each
    knot).
    """
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    config = config or TVLQRConfig()
    q, r, qf = config.matrices(model)
    result = synthesize_gains(model, states, inputs, q, r, config.terminal_cost(qf))
    knots = np.arange(0, (len(inputs) // stride) * stride, stride)
    return np.asarray(states, float)[knots], np.asarray(inputs, float)[knots], result.gains[knots]


def chunk_controllers(
    model: DynamicsModel,
    x_ref: np.ndarray,
    u_ff: np.ndarray,
    gains: np.ndarray,
    knot_period: float,
    chunk_length: int,
    start_time: float = 0.0,
    interpolation: Interpolation = Interpolation.LINEAR,
    final_state: np.ndarray | None = None,
) -> list[CompositeAction]:
    """Consecutive knots packed into composite actions of `chunk_length` knots each.

    Chunk c starts at start_time + c * chunk_length * knot_period and carries sequence c + 1.
    A trailing partial chunk is kept (shorter). Each chunk's x_ref_end is the next knot's x_ref;
    the last chunk's is `final_state` (the state one knot after the last knot; None: left to the
    executor's extrapolation).
    """
    if chunk_length < 1:
        raise ValueError(f"chunk_length must be >= 1, got {chunk_length}")
    return [
        chunk_from_knots(x_ref, u_ff, gains, knot_period=knot_period, start_time=start_time + first * knot_period,
                         state_names=model.state_names, input_names=model.input_names, sequence=c + 1,
                         knots=min(chunk_length, len(x_ref) - first), first=first, interpolation=interpolation,
                         x_ref_end=final_state)
        for c, first in enumerate(range(0, len(x_ref), chunk_length))
    ]


#: the synthesis oracle's signature: (states (T+1, n), inputs (T, m)) -> gains (T, m, n)
SynthesisFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def per_step_lqr_gains(model: DynamicsModel, states: np.ndarray, inputs: np.ndarray, q: np.ndarray,
                       r: np.ndarray) -> np.ndarray:
    """Gains (T, m, n) of an infinite-horizon discrete LQR of each step's own linearization:
    K_t = -(R + B_t' P_t B_t)^{-1} B_t' P_t A_t with P_t the DARE solution of (A_t, B_t, Q, R).

    The HINT authors' choice for their quadrotor (Q = I, R = I). Unlike TVLQR it ignores how the
    linearization changes along the trajectory; where a step's pair has no stabilizing solution
    P_t falls back to Q (:func:`infinite_horizon_cost`)."""
    states = np.asarray(states, dtype=float)
    inputs = np.asarray(inputs, dtype=float)
    _check_trajectory(model, states, inputs)
    a, b = model.trajectory_jacobians(states[:-1], inputs)
    gains = np.empty((len(inputs), model.input_dim, model.state_dim))
    for t in range(len(inputs)):
        p = infinite_horizon_cost(a[t], b[t], q, r)
        gains[t] = -np.linalg.solve(r + b[t].T @ p @ b[t], b[t].T @ p @ a[t])
    return gains


#: synthesis oracles a training config can name in ``data.synthesis``
SYNTHESIS_KINDS = ("tvlqr", "per_step_lqr", "none")


def make_synthesis(model: DynamicsModel, kind: str, options: dict[str, Any]) -> SynthesisFn | None:
    """The synthesis oracle a training config names (``data.synthesis``, one of
    :data:`SYNTHESIS_KINDS`, with ``data.synthesis_options`` as TVLQRConfig fields: both oracles
    use its Q and R, TVLQR also its terminal cost) as a callable; None for "none"."""
    if kind == "none":
        return None
    if kind not in SYNTHESIS_KINDS:
        raise ValueError(f"unknown synthesis {kind!r} (one of {', '.join(SYNTHESIS_KINDS)})")
    tvlqr = TVLQRConfig.from_options(options)
    if kind == "per_step_lqr":
        q, r, _ = tvlqr.matrices(model)
        return lambda states, inputs: per_step_lqr_gains(model, states, inputs, q, r)
    return tvlqr.synthesis(model)
