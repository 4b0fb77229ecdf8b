"""Helpers shared by the hint_controller tests (imported directly: pytest puts this folder on sys.path)."""

import numpy as np

from hint_controller.dynamics.base import DynamicsModel


def central_difference_jacobians(model: DynamicsModel, x: np.ndarray, u: np.ndarray,
                                 eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) of `model.step` at (x, u) by central differences with step `eps`."""
    a = np.array([(model.step(x + eps * e, u) - model.step(x - eps * e, u)) / (2 * eps) for e in np.eye(len(x))]).T
    b = np.array([(model.step(x, u + eps * e) - model.step(x, u - eps * e)) / (2 * eps) for e in np.eye(len(u))]).T
    return a, b
