"""Planar quadrotors: continuous dynamics from Drake symbolic expressions, discretized with the
input held over the period (zero-order hold).

* :class:`PlanarQuadrotor` (Underactuated's Quadrotor2D, rotor-thrust inputs, RK4): the obstacle
  task's vehicle and the controller node's default quadrotor model;
* :class:`ThrustTorqueQuadrotor` (collective thrust and torque inputs, explicit Euler): the
  vehicle of the HINT paper's Figure 5 stabilization experiment (see its docstring).

PlanarQuadrotor:

State (x, z, theta, xdot, zdot, thetadot): position [m], pitch [rad], their rates.
Inputs (thrust_left, thrust_right) [N], the two rotor forces along the body's z axis:

    xddot     = -sin(theta) (u_l + u_r) / m
    zddot     =  cos(theta) (u_l + u_r) / m - g
    thetaddot =  L (u_l - u_r) / I

State bounds (the region the model is meant for; the controller rejects reference states outside
them, widened by a margin): x in [-3, 3] m, z in [0, 4] m (the obstacle task's 5.2 x 3.2 m box
and some room), theta in [-pi, pi], xdot, zdot in +-10 m/s, thetadot in +-20 rad/s.

Discretization: one classical RK4 step of the period with u constant; `jacobians` are the exact
derivatives of that RK4 step (chain rule through the four stages using Drake's symbolic
Jacobians of the continuous dynamics, compiled to numpy), not a finite-difference estimate.
"""

from __future__ import annotations

import numpy as np
from pydrake.symbolic import MakeVectorVariable, cos, sin
from pydrake.systems.primitives import SymbolicVectorSystem

from hint_controller.dynamics.base import SafeMode
from hint_controller.dynamics.integration import EulerModel, RK4Model, SymbolicDynamics


class PlanarQuadrotor(SymbolicDynamics, RK4Model):
    """Planar quadrotor with two thrust inputs; safe mode HOVER (m g / 2 per rotor)."""

    name = "planar_quadrotor"
    state_names = ("x", "z", "theta", "xdot", "zdot", "thetadot")
    input_names = ("thrust_left", "thrust_right")

    def __init__(
        self,
        period: float = 0.01,
        arm_length: float = 0.25,
        mass: float = 0.486,
        inertia: float = 0.00383,
        gravity: float = 9.81,
        max_thrust_to_weight: float = 2.5,
    ) -> None:
        """`max_thrust_to_weight`: both rotors together can lift this many times the weight."""
        self.period = float(period)
        self.arm_length = arm_length
        self.mass = mass
        self.inertia = inertia
        self.gravity = gravity
        self.hover_thrust = mass * gravity / 2.0
        self.input_lower = np.zeros(2)
        self.input_upper = np.full(2, max_thrust_to_weight * self.hover_thrust)
        self.state_lower = np.array([-3.0, 0.0, -np.pi, -10.0, -10.0, -20.0])
        self.state_upper = np.array([3.0, 4.0, np.pi, 10.0, 10.0, 20.0])
        self.compile_symbolic_dynamics(6, 2)

    def drake_system(self, discrete: bool = True) -> SymbolicVectorSystem:
        """This model as a Drake system: the RK4 step as a discrete update every `period`
        (discrete=True, identical to :meth:`step`) or the continuous dynamics."""
        x = MakeVectorVariable(6, "x")
        u = MakeVectorVariable(2, "u")
        if not discrete:
            return SymbolicVectorSystem(state=x, input=u, dynamics=self.symbolic_dynamics(x, u), output=x)
        h = self.period
        with np.errstate(invalid="ignore"):  # numpy's float checks misfire on object arrays
            k1 = self.symbolic_dynamics(x, u)
            k2 = self.symbolic_dynamics(x + 0.5 * h * k1, u)
            k3 = self.symbolic_dynamics(x + 0.5 * h * k2, u)
            k4 = self.symbolic_dynamics(x + h * k3, u)
            update = x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        return SymbolicVectorSystem(state=x, input=u, dynamics=update, output=x, time_period=h)

    def symbolic_dynamics(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        theta = x[2]
        total = u[0] + u[1]
        return np.array(
            [
                x[3],
                x[4],
                x[5],
                -sin(theta) * total / self.mass,
                cos(theta) * total / self.mass - self.gravity,
                self.arm_length * (u[0] - u[1]) / self.inertia,
            ]
        )

    def safe_input(self, x: np.ndarray, mode: SafeMode | str) -> np.ndarray:
        if SafeMode(mode) is SafeMode.HOVER:
            return self.clamp(np.full(2, self.hover_thrust))
        return super().safe_input(x, mode)


class ThrustTorqueQuadrotor(SymbolicDynamics, EulerModel):
    """Planar quadrotor with collective thrust and torque inputs, discretized by explicit Euler.

    The setting of the HINT paper's Figure 5 (the authors' code): state (x, z, phi, xdot, zdot,
    phidot), inputs (thrust [N], torque [N m]), mass 0.8 kg, inertia 0.5 kg m^2, g = 9.8,
    period 0.05 s::

        xddot   = -sin(phi) thrust / m
        zddot   =  cos(phi) thrust / m - g
        phiddot =  torque / I

    x_{t+1} = x_t + period * f_c(x_t, u_t). Input limits (not in the paper, whose expert is
    unconstrained; generous enough that its expert never reaches them from the experiment's starts):
    thrust in [0, 4 m g], torque in +-50 N m. State bounds: x, z in +-10 m, |phi| <= pi,
    speeds +-20 m/s, phidot +-20 rad/s. Safe mode HOVER: thrust m g, no torque.
    """

    name = "quadrotor_thrust_torque"
    state_names = ("x", "z", "theta", "xdot", "zdot", "thetadot")
    input_names = ("thrust", "torque")

    def __init__(self, period: float = 0.05, mass: float = 0.8, inertia: float = 0.5, gravity: float = 9.8,
                 max_thrust_to_weight: float = 4.0, max_torque: float = 50.0) -> None:
        self.period = float(period)
        self.mass, self.inertia, self.gravity = mass, inertia, gravity
        self.hover_thrust = mass * gravity
        self.input_lower = np.array([0.0, -max_torque])
        self.input_upper = np.array([max_thrust_to_weight * self.hover_thrust, max_torque])
        self.state_lower = np.array([-10.0, -10.0, -np.pi, -20.0, -20.0, -20.0])
        self.state_upper = -self.state_lower
        self.compile_symbolic_dynamics(6, 2)

    def symbolic_dynamics(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        theta = x[2]
        return np.array([x[3], x[4], x[5], -sin(theta) * u[0] / self.mass,
                         cos(theta) * u[0] / self.mass - self.gravity, u[1] / self.inertia])

    def safe_input(self, x: np.ndarray, mode: SafeMode | str) -> np.ndarray:
        if SafeMode(mode) is SafeMode.HOVER:
            return self.clamp(np.array([self.hover_thrust, 0.0]))
        return super().safe_input(x, mode)


def hover_to_point_trajectory(
    model: PlanarQuadrotor,
    steps: int,
    target: tuple[float, float] = (1.0, 0.5),
    move_time: float = 2.0,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A dynamically feasible maneuver (states (steps+1, 6), inputs (steps, 2)) for tests and benchmarks.

    The quadrotor starts hovering at `start` (default the origin) and an infinite-horizon
    discrete LQR about hover (Drake's DiscreteTimeLinearQuadraticRegulator) tracks a minimum-jerk
    set point that moves to start + `target` in `move_time` seconds and then holds. The recorded
    states and inputs come from `model.step`, so they are exactly feasible.
    """
    from pydrake.systems.controllers import DiscreteTimeLinearQuadraticRegulator

    hover = np.full(2, model.hover_thrust)
    origin = np.zeros(6) if start is None else np.asarray(start, dtype=float)
    a, b = model.jacobians(origin, hover)
    gain, _ = DiscreteTimeLinearQuadraticRegulator(a, b, np.diag([10.0, 10.0, 10.0, 1.0, 1.0, 1.0]), np.diag([1.0, 1.0]))
    offset = np.asarray(target, dtype=float)
    states = np.empty((steps + 1, 6))
    inputs = np.empty((steps, 2))
    states[0] = origin
    for t in range(steps):
        s = min(t * model.period / move_time, 1.0)
        progress = 10 * s**3 - 15 * s**4 + 6 * s**5
        rate = (30 * s**2 - 60 * s**3 + 30 * s**4) / move_time if s < 1.0 else 0.0
        setpoint = origin.copy()
        setpoint[:2] += progress * offset
        setpoint[3:5] += rate * offset
        inputs[t] = model.clamp(hover - gain @ (states[t] - setpoint))
        states[t + 1] = model.step(states[t], inputs[t])
    return states, inputs
