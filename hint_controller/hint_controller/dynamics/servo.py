"""Servoed joints: the arm as a position- or velocity-controlled plant (ros2_control's position and
velocity command interfaces).

An arm integrated through a position (or velocity) forward command controller is a plant whose
input is the commanded joint position (velocity): the robot's own servo loop closes around the
joints, and hint's primitive controllers act on that servoed system (the paper's remark: a
position command is an implicit primitive controller). Per joint i, independently:

    position interface:  qdd_i = wn_i^2 (q_cmd_i - q_i) - 2 zeta_i wn_i qd_i     (second order)
    velocity interface:  qdd_i = (v_cmd_i - qd_i) / tau_i                        (first order)

with natural frequency wn [rad/s] and damping ratio zeta, or time constant tau [s], identified
from a step response (:func:`fit_position_step`, :func:`fit_velocity_step`). The model is linear
and time-invariant, so it is discretized exactly (zero-order hold, matrix exponential):
x_{t+1} = A x_t + B u_t, with A, B its Jacobians. State: "<joint>/position", "<joint>/velocity"
(positions first, as :class:`~hint_controller.dynamics.manipulator.Manipulator`); inputs:
"<joint>/position" or "<joint>/velocity" (the command interface's names, what
:class:`~hint_controller.joint_state.ForwardCommandLayout` sends). Limits: the URDF's joint position
and velocity limits bound the states; the commands are limited to the position limits (position
interface) or the velocity limits (velocity interface); behind the position interface a command
is also kept close enough to the measured position that the servo cannot pass its velocity limit
(:meth:`JointServo.input_bounds`), so a policy's jump cannot drive a joint into the robot's
velocity monitor. Safe mode ZERO is replaced by HOLD-like
behaviour: the safe command keeps the joints where they are (position: q_cmd = q; velocity:
v_cmd = 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.linalg import expm
from scipy.optimize import least_squares

from hint_controller.dynamics.base import DynamicsModel, SafeMode

INTERFACES = ("position", "velocity")


class JointServo(DynamicsModel):
    """Independent servoed joints behind a position or velocity command interface (module docstring)."""

    def __init__(
        self,
        joints: Sequence[str],
        interface: str = "position",
        period: float = 0.01,
        natural_frequency: float | Sequence[float] = 20.0,
        damping: float | Sequence[float] = 1.0,
        time_constant: float | Sequence[float] = 0.05,
        position_limits: tuple[Sequence[float], Sequence[float]] | None = None,
        velocity_limits: Sequence[float] | None = None,
    ) -> None:
        if interface not in INTERFACES:
            raise ValueError(f"interface must be one of {INTERFACES}, got {interface!r}")
        joints = tuple(joints)
        k = len(joints)
        if k < 1 or len(set(joints)) != k:
            raise ValueError(f"need distinct joint names, got {joints}")
        self.joints, self.interface, self.period = joints, interface, float(period)
        self.name = f"{interface}_servo"
        self.natural_frequency = np.broadcast_to(np.asarray(natural_frequency, float), (k,)).copy()
        self.damping = np.broadcast_to(np.asarray(damping, float), (k,)).copy()
        self.time_constant = np.broadcast_to(np.asarray(time_constant, float), (k,)).copy()
        if np.any(self.natural_frequency <= 0) or np.any(self.damping < 0) or np.any(self.time_constant <= 0):
            raise ValueError("natural_frequency and time_constant must be > 0 and damping >= 0")
        self.state_names = tuple(f"{j}/position" for j in joints) + tuple(f"{j}/velocity" for j in joints)
        self.input_names = tuple(f"{j}/{interface}" for j in joints)
        lower_q, upper_q = (np.full(k, -np.inf), np.full(k, np.inf)) if position_limits is None else (
            np.asarray(position_limits[0], float), np.asarray(position_limits[1], float))
        speed = np.full(k, np.inf) if velocity_limits is None else np.abs(np.asarray(velocity_limits, float))
        self.state_lower = np.concatenate([lower_q, -speed])
        self.state_upper = np.concatenate([upper_q, speed])
        self.input_lower, self.input_upper = (lower_q, upper_q) if interface == "position" else (-speed, speed)
        self._speed = speed
        self._a_c, self._b_c = self._continuous_matrices()
        self._a, self._b = self._discretize(self._a_c, self._b_c, self.period)

    @classmethod
    def from_urdf(cls, urdf_path: str | Path | None, interface: str = "position", period: float = 0.01,
                  base_link: str | None = None, joints: Sequence[str] | None = None,
                  **servo: float | Sequence[float]) -> JointServo:
        """The joints, position and velocity limits of a URDF (parsed by Drake), with servo
        parameters `servo`. `urdf_path`: a file or a name of :data:`hint_controller.robots.ROBOTS`
        (default arm3); `joints`: the commanded joints, in the model's order (default: the known
        robot's arm joints, else every movable joint); the others are frozen."""
        from hint_controller.robots import load_plant, resolve_urdf

        path, robot = resolve_urdf(urdf_path)
        joints = tuple(joints) if joints else (robot.joints if robot else None)
        plant = load_plant(path, base_link or (robot.base_link if robot else "base_link"), joints)
        movable = sorted((plant.get_joint(i) for i in plant.GetJointIndices() if plant.get_joint(i).num_positions() == 1),
                         key=lambda joint: joint.position_start())
        if joints:  # the caller's order, not the URDF's
            by_name = {j.name(): j for j in movable}
            movable = [by_name[name] for name in joints]
        joints = movable
        return cls([j.name() for j in joints], interface, period,
                   position_limits=([j.position_lower_limits()[0] for j in joints],
                                    [j.position_upper_limits()[0] for j in joints]),
                   velocity_limits=[j.velocity_upper_limits()[0] for j in joints], **servo)

    def _continuous_matrices(self) -> tuple[np.ndarray, np.ndarray]:
        k = len(self.joints)
        a, b = np.zeros((2 * k, 2 * k)), np.zeros((2 * k, k))
        a[:k, k:] = np.eye(k)
        if self.interface == "position":
            wn, zeta = self.natural_frequency, self.damping
            a[k:, :k] = np.diag(-wn**2)
            a[k:, k:] = np.diag(-2.0 * zeta * wn)
            b[k:, :] = np.diag(wn**2)
        else:
            a[k:, k:] = np.diag(-1.0 / self.time_constant)
            b[k:, :] = np.diag(1.0 / self.time_constant)
        return a, b

    @staticmethod
    def _discretize(a: np.ndarray, b: np.ndarray, period: float) -> tuple[np.ndarray, np.ndarray]:
        n, m = b.shape
        block = np.zeros((n + m, n + m))
        block[:n, :n], block[:n, n:] = a, b
        exponential = expm(block * period)
        return exponential[:n, :n], exponential[:n, n:]

    def continuous_dynamics(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        return np.asarray(x, float) @ self._a_c.T + np.asarray(u, float) @ self._b_c.T

    def step(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        return np.asarray(x, float) @ self._a.T + np.asarray(u, float) @ self._b.T

    def jacobians(self, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._a.copy(), self._b.copy()

    def trajectory_jacobians(self, states: np.ndarray, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        steps = len(inputs)
        return np.repeat(self._a[None], steps, axis=0), np.repeat(self._b[None], steps, axis=0)

    def input_bounds(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Velocity interface: the velocity limits. Position interface: the position limits,
        narrowed around the measured q, qd to

            q - (e v_max + c qd) / wn  <=  q_cmd  <=  q + (e v_max - c qd) / wn,   c = e - 2 zeta,

        so that qdd = wn^2 (q_cmd - q) - 2 zeta wn qd <= e wn (v_max - qd): the speed approaches the
        velocity limit v_max at most exponentially and never passes it (from rest the largest step,
        e v_max / wn, peaks exactly at v_max)."""
        if self.interface != "position":
            return self.input_lower, self.input_upper
        k = len(self.joints)
        x = np.asarray(x, float)
        q, qd = x[:k], x[k : 2 * k]
        reach, lean = np.e * self._speed, (np.e - 2.0 * self.damping) * qd
        with np.errstate(invalid="ignore"):  # infinite limits stay infinite
            upper = np.minimum(self.input_upper, q + (reach - lean) / self.natural_frequency)
            lower = np.maximum(self.input_lower, q - (reach + lean) / self.natural_frequency)
        return lower, upper

    def safe_input(self, x: np.ndarray, mode: SafeMode | str) -> np.ndarray:
        """ZERO and BRAKE: hold the joints (position: command the measured position; velocity: 0)."""
        if SafeMode(mode) in (SafeMode.ZERO, SafeMode.BRAKE):
            k = len(self.joints)
            return self.clamp(np.asarray(x, float)[:k] if self.interface == "position" else np.zeros(k))
        return super().safe_input(x, mode)


# --------------------------------------------------------------------------- identification


def position_step_response(times: np.ndarray, step: float, natural_frequency: float, damping: float) -> np.ndarray:
    """q(t) of the position servo from rest at 0 after a command step of `step` at t = 0."""
    servo = JointServo(["j"], "position", natural_frequency=natural_frequency, damping=damping)
    a, b = servo._continuous_matrices()
    return np.array([(JointServo._discretize(a, b, t)[1] @ [step])[0] if t > 0 else 0.0 for t in times])


def velocity_step_response(times: np.ndarray, step: float, time_constant: float) -> np.ndarray:
    """qd(t) of the velocity servo from rest after a command step of `step` at t = 0."""
    return step * (1.0 - np.exp(-np.asarray(times, float) / time_constant))


def fit_position_step(times: np.ndarray, positions: np.ndarray, step: float) -> tuple[float, float]:
    """(natural frequency, damping) of a recorded position step response: `positions` [rad] at
    `times` [s] after a command step of `step` from rest (both relative to the start), least squares."""
    times, positions = np.asarray(times, float), np.asarray(positions, float)
    if len(times) != len(positions) or len(times) < 5 or step == 0:
        raise ValueError("need >= 5 samples of times and positions and a non-zero step")

    def residual(parameters: np.ndarray) -> np.ndarray:
        return position_step_response(times, step, *parameters) - positions

    fit = least_squares(residual, x0=[10.0, 0.8], bounds=([0.1, 0.0], [1e4, 10.0]))
    return float(fit.x[0]), float(fit.x[1])


def fit_velocity_step(times: np.ndarray, velocities: np.ndarray, step: float) -> float:
    """Time constant [s] of a recorded velocity step response (from rest, command step `step`)."""
    times, velocities = np.asarray(times, float), np.asarray(velocities, float)
    if len(times) != len(velocities) or len(times) < 5 or step == 0:
        raise ValueError("need >= 5 samples of times and velocities and a non-zero step")
    fit = least_squares(lambda tau: velocity_step_response(times, step, tau[0]) - velocities, x0=[0.05],
                        bounds=([1e-4], [10.0]))
    return float(fit.x[0])
