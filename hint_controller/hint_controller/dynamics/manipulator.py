"""A fixed-base, fully actuated arm loaded from a URDF into a Drake MultibodyPlant.

State: joint positions then joint velocities, named "<joint>/position" / "<joint>/velocity" (the
fields of sensor_msgs/JointState); inputs: joint efforts "<joint>/effort" [N m for revolute joints], limited by the URDF's effort
limits; state bounds: the URDF's joint position and velocity limits. The default URDF is the shipped three-link planar arm (``models/arm3.urdf``).

Continuous dynamics (Drake's continuous-time MultibodyPlant, joint damping included, joint
position limits not enforced):

    M(q) qdd = B u + tau_g(q) - C(q, v) v - D v

M, C v and tau_g come from the plant converted to Drake symbolic (``ToSymbolic``), and their
derivatives from Drake's symbolic Jacobians; both are compiled to batched numpy functions.
Discretization: one classical RK4 step per period with the effort held (zero-order hold);
`jacobians` are the exact derivatives of that step, using
dqdd/dq_i = M^-1 (d(tau_g - C v)/dq_i - (dM/dq_i) qdd), dqdd/dv = M^-1 (-d(C v)/dv - D),
dqdd/du = M^-1 B.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydrake.symbolic import Jacobian, MakeVectorVariable

from hint_controller.dynamics.base import SafeMode
from hint_controller.dynamics.integration import RK4Model, broadcast_leading, lambdify_drake
from hint_controller.robots import ROBOTS, load_plant, resolve_urdf

#: the arm shipped with hint_controller
DEFAULT_URDF = ROBOTS["arm3"].urdf_path


class Manipulator(RK4Model):
    """Fully actuated fixed-base arm; safe modes ZERO and GRAVITY_COMPENSATION."""

    name = "manipulator"

    def __init__(self, urdf_path: str | Path | None = None, period: float = 0.01, base_link: str | None = None,
                 joints: Sequence[str] | None = None) -> None:
        """`urdf_path`: a URDF file or a name of :data:`hint_controller.robots.ROBOTS` (default
        arm3); `base_link` (welded to the world) defaults to the known robot's or "base_link";
        `joints`: the actuated joints (others are frozen; default every movable joint)."""
        self.urdf_path, robot = resolve_urdf(urdf_path)
        self.period = float(period)
        base_link = base_link or (robot.base_link if robot else "base_link")
        self.plant = load_plant(self.urdf_path, base_link, joints)
        plant = self.plant
        nq, nv = plant.num_positions(), plant.num_velocities()
        if nq != nv or plant.num_actuators() != nv:
            raise ValueError(f"{self.urdf_path} must describe a fully actuated arm of 1-dof joints (got nq={nq}, nv={nv}, nu={plant.num_actuators()})")
        #: the URDF's robot name
        self.robot_name = plant.GetModelInstanceName(plant.GetBodyByName(base_link).model_instance())
        self._nq = nq
        joints = [plant.get_joint(i) for i in plant.GetJointIndices() if plant.get_joint(i).num_positions() == 1]
        position_names = [""] * nq
        velocity_names = [""] * nv
        damping = np.zeros(nv)
        self.position_lower = np.zeros(nq)
        self.position_upper = np.zeros(nq)
        velocity_lower, velocity_upper = np.zeros(nv), np.zeros(nv)
        for joint in joints:
            position_names[joint.position_start()] = f"{joint.name()}/position"
            velocity_names[joint.velocity_start()] = f"{joint.name()}/velocity"
            damping[joint.velocity_start()] = joint.default_damping_vector()[0]
            self.position_lower[joint.position_start()] = joint.position_lower_limits()[0]
            self.position_upper[joint.position_start()] = joint.position_upper_limits()[0]
            velocity_lower[joint.velocity_start()] = joint.velocity_lower_limits()[0]
            velocity_upper[joint.velocity_start()] = joint.velocity_upper_limits()[0]
        actuators = [plant.get_joint_actuator(i) for i in plant.GetJointActuatorIndices()]
        self.state_names = tuple(position_names + velocity_names)
        self.state_lower = np.concatenate([self.position_lower, velocity_lower])
        self.state_upper = np.concatenate([self.position_upper, velocity_upper])
        self.input_names = tuple(f"{a.joint().name()}/effort" for a in actuators)
        limits = np.array([a.effort_limit() for a in actuators])
        self.input_lower, self.input_upper = -limits, limits
        self._actuation = np.asarray(plant.MakeActuationMatrix())  # (nv, nu)
        self._actuation_pinv = np.linalg.pinv(self._actuation)
        self._damping = np.diag(damping)
        self._compile_symbolic()

    def _compile_symbolic(self) -> None:
        symbolic_plant = self.plant.ToSymbolic()
        context = symbolic_plant.CreateDefaultContext()
        q = MakeVectorVariable(self._nq, "q")
        v = MakeVectorVariable(self._nq, "v")
        symbolic_plant.SetPositions(context, q)
        symbolic_plant.SetVelocities(context, v)
        mass = symbolic_plant.CalcMassMatrix(context)
        gravity = symbolic_plant.CalcGravityGeneralizedForces(context)
        coriolis = symbolic_plant.CalcBiasTerm(context)
        with np.errstate(invalid="ignore"):  # numpy's float checks misfire on object arrays
            passive = gravity - coriolis  # tau_g - C v
        variables = list(q) + list(v)
        nq = self._nq
        self._mass = lambdify_drake(mass, variables)
        self._mass_dq = lambdify_drake(Jacobian(mass.reshape(-1), q).reshape(nq, nq, nq), variables)
        self._passive = lambdify_drake(passive, variables)
        self._passive_dq = lambdify_drake(Jacobian(passive, q), variables)
        self._passive_dv = lambdify_drake(Jacobian(passive, v), variables)
        self._gravity = lambdify_drake(gravity, list(q))

    # batched continuous dynamics: x (..., 2 nq), u (..., nu)
    def _accelerations(self, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nq = self._nq
        mass = self._mass(x)
        forces = u @ self._actuation.T + self._passive(x) - x[..., nq:] @ self._damping.T
        return np.linalg.solve(mass, forces[..., None])[..., 0], mass

    def _batched_f(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        x, u = broadcast_leading(x, u)
        qdd, _ = self._accelerations(x, u)
        return np.concatenate([x[..., self._nq :], qdd], axis=-1)

    def _batched_jac(self, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, u = broadcast_leading(x, u)
        nq = self._nq
        batch = x.shape[:-1]
        qdd, mass = self._accelerations(x, u)
        d_forces_dq = self._passive_dq(x) - np.einsum("...rci,...c->...ri", self._mass_dq(x), qdd)
        d_forces_dv = self._passive_dv(x) - self._damping
        rhs = np.concatenate([d_forces_dq, d_forces_dv, np.broadcast_to(self._actuation, (*batch, nq, self._actuation.shape[1]))], axis=-1)
        solved = np.linalg.solve(mass, rhs)
        fx = np.zeros((*batch, 2 * nq, 2 * nq))
        fx[..., :nq, nq:] = np.eye(nq)
        fx[..., nq:, :] = solved[..., : 2 * nq]
        fu = np.zeros((*batch, 2 * nq, self.input_dim))
        fu[..., nq:, :] = solved[..., 2 * nq :]
        return fx, fu

    def gravity_compensation(self, x: np.ndarray) -> np.ndarray:
        """Efforts that cancel gravity at x's joint positions (unclamped): B u = -tau_g(q)."""
        return self._actuation_pinv @ -self._gravity(np.asarray(x, float)[: self._nq])

    def safe_input(self, x: np.ndarray, mode: SafeMode | str) -> np.ndarray:
        if SafeMode(mode) is SafeMode.GRAVITY_COMPENSATION:
            u = self.gravity_compensation(x)
            return self.clamp(u) if np.all(np.isfinite(u)) else super().safe_input(x, SafeMode.ZERO)
        return super().safe_input(x, mode)
