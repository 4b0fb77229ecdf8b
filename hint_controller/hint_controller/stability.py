"""Exact incremental-stability certificates of composite actions (Block et al. 2023, Def. 3.1).

A chunk is run exactly as the robot runs it (a :class:`ChunkExecutor` ticking at the model's
period, input limits included) from a start x_0, giving states x_0..x_S, applied inputs
u_0..u_{S-1} and the executor's feedback Jacobians G_i = du_i/dx_i (the knot's gain K, with the
rows of clamped inputs zeroed: a saturated input does not respond to the state). With the model's
step Jacobians A_i, B_i at (x_i, u_i), a start deviation and input disturbances propagate to
first order as

    dx_{i+1} = M_i dx_i + B_i du_i,      M_i = A_i + B_i G_i,
    Phi_i = M_{i-1} ... M_0              (Phi_0 = I, the closed-loop state-transition matrix).

The certificate of the chunk (:class:`hint_controller.composite_action.Certificate`):

* ``contraction`` = ||Phi_S||_2, the worst-direction ratio of final to initial deviation (the
  t-ISS beta at the chunk's end): below 1 the chunk brings every nearby start closer;
* ``transient_gain`` = max_{1<=i<=S} ||Phi_i||_2, the largest growth on the way (a stable but
  non-normal closed loop can stretch some directions first);
* ``input_gain`` = max_i sup_{||du||_inf <= 1} ||dx_i||_inf = max_i max_r sum_{j<i} |row r of
  Phi(i, j+1) B_j|_1 (the t-ISS gamma in the paper's max-norm sense, state units per input unit;
  Phi(i, k) = M_{i-1} ... M_k).

Norms are taken in the model's own coordinates (metres, radians, pixels and their rates), so they
depend on those units; the finite-difference cross-check is ``test_stability.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from hint_controller.composite_action import Certificate, CompositeAction
from hint_controller.dynamics.base import DynamicsModel
from hint_controller.executor import ChunkExecutor
from hint_controller.names import name_indices


@dataclasses.dataclass(frozen=True)
class ClosedLoop:
    """A closed-loop run of chunks at the model's period."""

    states: np.ndarray  # (S+1, n)
    inputs: np.ndarray  # (S, m), applied (after clamping, disturbance included)
    feedback: np.ndarray  # (S, m, n), du_i/dx_i of the executor's law (0 rows where clamped)


def closed_loop(
    model: DynamicsModel,
    actions: Sequence[CompositeAction],
    x_start: np.ndarray,
    input_disturbance: np.ndarray | None = None,
) -> ClosedLoop:
    """Run `actions` (back to back, as the executor switches them) from x_start at the first one's
    start time until the last one ends, S = round(duration / model.period) steps; an optional
    (S, m) disturbance is added to each applied input."""
    actions = sorted(actions, key=lambda a: a.start_time)
    start = actions[0].start_time
    steps = int(round((max(a.end_time for a in actions) - start) / model.period))
    executor = ChunkExecutor(model, grace_period=0.0, max_pending=max(1, len(actions)))
    for action in actions:
        executor.submit(action)
    n, m = model.state_dim, model.input_dim
    states, inputs, feedback = np.empty((steps + 1, n)), np.empty((steps, m)), np.zeros((steps, m, n))
    states[0] = x_start
    lower, upper = np.asarray(model.input_lower, float), np.asarray(model.input_upper, float)
    for i in range(steps):
        t = start + i * model.period
        u, _ = executor.command(t, states[i])
        primitive = executor.primitive_at(t)
        if primitive is not None:
            x_ref, u_ff, gain = primitive
            raw = u_ff + gain @ (states[i] - x_ref)
            feedback[i] = gain * ((raw > lower) & (raw < upper))[:, None]
        inputs[i] = u if input_disturbance is None else u + input_disturbance[i]
        states[i + 1] = model.step(states[i], inputs[i])
    return ClosedLoop(states, inputs, feedback)


def transition_matrices(model: DynamicsModel, run: ClosedLoop) -> tuple[np.ndarray, np.ndarray]:
    """(closed-loop step matrices M (S, n, n), input matrices B (S, n, m)) along `run`."""
    a, b = model.trajectory_jacobians(run.states[:-1], run.inputs)
    return a + b @ run.feedback, b


def certificate_of_run(model: DynamicsModel, run: ClosedLoop) -> tuple[Certificate, np.ndarray]:
    """The certificate of a closed-loop run and its Phi_i, shape (S+1, n, n)."""
    steps_m, b = transition_matrices(model, run)
    n = model.state_dim
    phi = np.empty((len(steps_m) + 1, n, n))
    phi[0] = np.eye(n)
    response = np.zeros((n, 0))  # [Phi(i, 1) B_0, ..., Phi(i, i) B_{i-1}]
    input_gain = 0.0
    for i, (m_i, b_i) in enumerate(zip(steps_m, b)):
        phi[i + 1] = m_i @ phi[i]
        response = np.hstack([m_i @ response, b_i])
        input_gain = max(input_gain, float(np.abs(response).sum(axis=1).max()))
    norms = np.linalg.norm(phi[1:], ord=2, axis=(1, 2))
    return Certificate(float(norms[-1]), float(norms.max()), input_gain), phi


def certify(model: DynamicsModel, action: CompositeAction, x_start: np.ndarray | None = None) -> Certificate:
    """The certificate of `action` run from x_start (model coordinates; default: its own x_ref[0])."""
    own_start = action.x_ref[0][name_indices(action.state_names, model.state_names)]
    start = own_start if x_start is None else np.asarray(x_start, dtype=float)
    return certificate_of_run(model, closed_loop(model, [action], start))[0]


def certified(model: DynamicsModel, action: CompositeAction) -> CompositeAction:
    """`action` with its certificate (from its own reference start) filled in."""
    return dataclasses.replace(action, certificate=certify(model, action))
