"""Scripted experts for robomimic Can and Square that act through the Panda's position interface.

An episode is a few **phases**, each planned from the measured state when the previous one ends
(the arm is then at rest): reach and grasp, carry and release, retreat. A phase is a gripper
path through Cartesian **keyframes** (tool centre point and yaw, the hand pointing down),
followed by a finger motion with the arm held:

1. the path is a chain of quintic segments with zero acceleration at every keyframe; the arm
   stops only where a keyframe says so (grasp, release) and passes through the others at the mean
   of its neighbouring segments' speeds, so there is no stop-and-go between waypoints. Each
   segment's duration comes from its length and turn at ``speed`` and ``yaw_speed``;
2. damped least-squares inverse kinematics on MuJoCo's own Jacobian of the grip site (a scratch
   ``MjData`` of the task's model; a pull toward the phase's start configuration in the
   Jacobian's null space resolves the Panda's redundancy) turns each 10 ms sample of the path into joint positions; the gripper's
   start orientation blends into the path's over the first segment;
3. the commanded positions that make the servo model follow that joint reference are its inverse
   dynamics (:func:`hint_policy.experts.arm_expert.inverse_dynamics`), and TVLQR on the same
   model (the training data's weights) gives the feedback: u = u_ff + K (x - x_ref), clamped to the
   interface's bounds (:func:`hint_controller.executor.primitive_input`). The finger follows a
   minimum-jerk profile between open and closed; closing on an object the finger stops short of
   the reference and the command stays at its "closed" bound.

The expert reads only the state a policy observes (joint states, the object's pose) plus the
task's fixed geometry (the bin's target spot, the peg), so it runs the same behind ROS.

**Multimodality.** Each episode draws its strategy from the seed: Can grasps with the fingers
turned +45 or -45 degrees from the arm's rest yaw and carries the can either high over the bin
walls or on a lower arc through the bins' gap line; Square turns the nut to the peg clockwise or
counter-clockwise (two of the four alignments of the square hole). ``Demo.extra["strategy"]``
records the draw.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# first: it picks MuJoCo's headless rendering backend before mujoco is imported
from hint_policy.envs.robosuite_tasks import ARM_JOINTS, FINGER_RANGE, CanEnv, RobosuiteTaskEnv, SquareEnv

import mujoco  # noqa: E402  (after the backend choice above)

from hint_controller.executor import primitive_input
from hint_controller.tvlqr import TVLQRConfig
from hint_policy.demos import Demo
from hint_policy.experts import expert_demo, stream_episode
from hint_policy.experts.arm_expert import inverse_dynamics, minimum_jerk

#: TVLQR weights of the servoed arm and finger (the training configs' synthesis_options): position
#: errors 10, velocities 0.1, commands 1, so the feedback adds about 2 rad of command per rad of lag
#: on top of the servo's own loop instead of saturating the wrist's torque
TRACKING_WEIGHTS = TVLQRConfig(q_diag=(10.0,) * 8 + (0.1,) * 8, r_diag=(1.0,) * 8, terminal="dare")

#: the hand pointing down (tool z axis along world -z) with yaw 0
DOWN = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])


def rotation_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def hand_rotation(yaw: float) -> np.ndarray:
    """The hand pointing down, turned by `yaw` about the world z axis."""
    return rotation_z(yaw) @ DOWN


def hand_yaw(rotation: np.ndarray) -> float:
    """The yaw of a hand rotation about world z (its x axis projected on the table)."""
    return float(np.arctan2(rotation[1, 0], rotation[0, 0]))


def rotation_vector(rotation: np.ndarray) -> np.ndarray:
    """The axis-angle vector of a rotation matrix (angle below pi)."""
    quaternion = np.empty(4)
    mujoco.mju_mat2Quat(quaternion, np.ascontiguousarray(rotation).ravel())
    vector = np.empty(3)
    mujoco.mju_quat2Vel(vector, quaternion, 1.0)
    return vector


def rotation_from_vector(vector: np.ndarray) -> np.ndarray:
    angle = float(np.linalg.norm(vector))
    if angle < 1e-12:
        return np.eye(3)
    quaternion = np.empty(4)
    mujoco.mju_axisAngle2Quat(quaternion, vector / angle, angle)
    matrix = np.empty(9)
    mujoco.mju_quat2Mat(matrix, quaternion)
    return matrix.reshape(3, 3)


def wrap_angle(angle: float) -> float:
    return float((angle + np.pi) % (2 * np.pi) - np.pi)


def quaternion_yaw(xyzw: np.ndarray) -> float:
    """The yaw of a quaternion (x, y, z, w) about world z."""
    x, y, z, w = xyzw
    return float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))


class PandaIK:
    """Damped least-squares inverse kinematics of the Panda's grip site on a scratch copy of the
    task's MuJoCo model."""

    def __init__(self, env: RobosuiteTaskEnv, damping: float = 0.05, posture_weight: float = 0.1) -> None:
        self.model = env.sim_env.sim.model._model
        self.data = mujoco.MjData(self.model)
        self.qpos_index = np.asarray(env.robot._ref_joint_pos_indexes)
        self.dof_index = np.asarray(env.robot._ref_joint_vel_indexes)
        self.site = int(env.robot.eef_site_id["right"])
        self.damping, self.posture_weight = damping, posture_weight
        self.lower, self.upper = env.model.state_lower[:7], env.model.state_upper[:7]
        self._jacp, self._jacr = np.zeros((3, self.model.nv)), np.zeros((3, self.model.nv))

    def forward(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grip site position and rotation at arm configuration `q`."""
        self.data.qpos[self.qpos_index] = q
        mujoco.mj_kinematics(self.model, self.data)
        return self.data.site_xpos[self.site].copy(), self.data.site_xmat[self.site].reshape(3, 3).copy()

    def solve(self, q: np.ndarray, position: np.ndarray, rotation: np.ndarray, rest: np.ndarray,
              iterations: int = 3) -> np.ndarray:
        """Joint positions near `q` that put the grip site at `position` with `rotation`."""
        q = np.array(q, dtype=float)
        for _ in range(iterations):
            current, current_rotation = self.forward(q)
            mujoco.mj_comPos(self.model, self.data)
            mujoco.mj_jacSite(self.model, self.data, self._jacp, self._jacr, self.site)
            jacobian = np.vstack([self._jacp[:, self.dof_index], self._jacr[:, self.dof_index]])
            error = np.concatenate([position - current, rotation_vector(rotation @ current_rotation.T)])
            pseudo_inverse = jacobian.T @ np.linalg.inv(jacobian @ jacobian.T + self.damping**2 * np.eye(6))
            null_space = np.eye(7) - pseudo_inverse @ jacobian
            step = pseudo_inverse @ error + null_space @ (self.posture_weight * (rest - q))
            q = np.clip(q + step, self.lower, self.upper)
        return q


@dataclasses.dataclass(frozen=True)
class Keyframe:
    """A gripper pose to pass through (or stop at): tool centre point [m] and yaw [rad]."""

    position: np.ndarray
    yaw: float
    stop: bool = False


@dataclasses.dataclass(frozen=True)
class ManipulationExpertConfig:
    speed: float = 0.35  # m/s, mean Cartesian speed of a segment
    yaw_speed: float = 1.0  # rad/s, mean turn rate of a segment
    min_segment: float = 0.4  # s
    finger_time: float = 0.3  # s to open or close the finger
    settle_time: float = 0.2  # s held after the finger moved
    approach_height: float = 0.1  # m above the grasp point where the descent starts
    tvlqr: TVLQRConfig = dataclasses.field(default_factory=lambda: TRACKING_WEIGHTS)


@dataclasses.dataclass
class Plan:
    """A phase's reference at the physics period (see the module docstring)."""

    states: np.ndarray  # (T + 1, 16): model state reference
    inputs: np.ndarray  # (T, 8): feedforward commands
    gains: np.ndarray  # (T, 8, 16)


@dataclasses.dataclass
class ManipulationMemory:
    """What the expert carries from one physics step to the next."""

    strategy: str
    phase: int = 0
    step: int = 0
    plan: Plan | None = None
    context: dict = dataclasses.field(default_factory=dict)


def quintic_segment(p0: np.ndarray, p1: np.ndarray, v0: np.ndarray, v1: np.ndarray, duration: float,
                    times: np.ndarray) -> np.ndarray:
    """Positions of the quintic from (p0, v0) to (p1, v1) over `duration` with zero acceleration at
    both ends, at `times` in [0, duration]."""
    r = np.clip(times / duration, 0.0, 1.0)[:, None]
    h00 = 1 - 10 * r**3 + 15 * r**4 - 6 * r**5
    h10 = r - 6 * r**3 + 8 * r**4 - 3 * r**5
    h01 = 10 * r**3 - 15 * r**4 + 6 * r**5
    h11 = -4 * r**3 + 7 * r**4 - 3 * r**5
    return h00 * p0 + h10 * duration * v0 + h01 * p1 + h11 * duration * v1


class ManipulationExpert:
    """Phased Cartesian expert through the position interface; see the module docstring."""

    def __init__(self, env: RobosuiteTaskEnv, config: ManipulationExpertConfig | None = None) -> None:
        self.env = env
        self.config = config or ManipulationExpertConfig()
        self.ik = PandaIK(env)
        self._synthesize = self.config.tvlqr.synthesis(env.model)
        self._names = {name: i for i, name in enumerate(env.state_names)}

    # ------------------------------------------------------------------ state access
    def _get(self, state: np.ndarray, *names: str) -> np.ndarray:
        return np.array([state[self._names[name]] for name in names])

    def object_position(self, state: np.ndarray) -> np.ndarray:
        return self._get(state, "object/x", "object/y", "object/z")

    def object_yaw(self, state: np.ndarray) -> float:
        return quaternion_yaw(self._get(state, "object/qx", "object/qy", "object/qz", "object/qw"))

    def arm_positions(self, state: np.ndarray) -> np.ndarray:
        return self._get(state, *(f"{joint}/position" for joint in ARM_JOINTS))

    # ------------------------------------------------------------------ planning
    def plan_phase(self, state: np.ndarray, keyframes: list[Keyframe], finger_target: float | None,
                   finger_on_the_way: float | None = None, finger_held: float | None = None) -> Plan:
        """Reference through `keyframes` from the measured `state`, the finger moving to
        `finger_on_the_way` meanwhile (None: kept at `finger_held`, or where it is), then the
        finger to `finger_target` (None: kept) with the arm held; see the module docstring.
        A finger closed on an object is held at the closed position: it keeps squeezing."""
        c, dt = self.config, self.env.physics_period
        q0 = self.arm_positions(state)
        start_position, start_rotation = self.ik.forward(q0)
        points = [np.append(start_position, hand_yaw(start_rotation))]
        for frame in keyframes:  # unwrap each yaw to the nearest turn of the previous one
            points.append(np.append(frame.position, points[-1][3] + wrap_angle(frame.yaw - points[-1][3])))
        durations = [max(c.min_segment, np.linalg.norm(b[:3] - a[:3]) / c.speed, abs(b[3] - a[3]) / c.yaw_speed)
                     for a, b in zip(points[:-1], points[1:])]
        slopes = [(b - a) / d for a, b, d in zip(points[:-1], points[1:], durations)]
        velocities = [np.zeros(4)] + [
            np.zeros(4) if frame.stop else 0.5 * (slopes[i] + slopes[i + 1]) for i, frame in enumerate(keyframes[:-1])
        ] + [np.zeros(4)]
        path = [points[0][None]]
        for i, duration in enumerate(durations):
            times = np.arange(1, int(np.ceil(duration / dt)) + 1) * dt
            path.append(quintic_segment(points[i], points[i + 1], velocities[i], velocities[i + 1], times[-1], times))
        path = np.concatenate(path)
        # the start orientation blends into the path's over the first segment
        offset = rotation_vector(start_rotation @ hand_rotation(points[0][3]).T)
        first = int(np.ceil(durations[0] / dt))
        blend = 1.0 - minimum_jerk(np.zeros(1), np.ones(1), first * dt, np.arange(len(path)) * dt)[0][:, 0]
        arm = [q0]
        for sample, weight in zip(path[1:], blend[1:]):
            rotation = rotation_from_vector(weight * offset) @ hand_rotation(sample[3])
            arm.append(self.ik.solve(arm[-1], sample[:3], rotation, q0))
        arm = np.array(arm)
        finger = np.full(len(arm), state[self._names["panda_finger_joint1/position"]] if finger_held is None else finger_held)
        if finger_on_the_way is not None:
            finger = minimum_jerk(finger[:1], np.array([finger_on_the_way]), min(c.finger_time, (len(arm) - 1) * dt),
                                  np.arange(len(arm)) * dt)[0][:, 0]
        if finger_target is not None:
            steps = int(np.ceil((c.finger_time + c.settle_time) / dt))
            profile = minimum_jerk(finger[-1:], np.array([finger_target]), c.finger_time, np.arange(1, steps + 1) * dt)[0]
            arm = np.vstack([arm, np.repeat(arm[-1:], steps, axis=0)])
            finger = np.concatenate([finger, profile[:, 0]])
        return self._track(np.column_stack([arm, finger]))

    def _track(self, positions: np.ndarray) -> Plan:
        """Servo reference, feedforward and TVLQR gains for joint `positions` (T + 1, 8) at the
        physics period (at rest at both ends)."""
        dt = self.env.physics_period
        velocities = np.gradient(positions, dt, axis=0)
        velocities[0] = velocities[-1] = 0.0
        states = np.hstack([positions, velocities])
        inputs = inverse_dynamics(self.env.model, states[:-1], (velocities[1:] - velocities[:-1]) / dt)
        inputs = np.clip(inputs, self.env.model.input_lower, self.env.model.input_upper)
        return Plan(states, inputs, self._synthesize(states, inputs))

    def hold(self, state: np.ndarray, seconds: float) -> Plan:
        """Rest where the arm is for `seconds`."""
        x = self.env.controlled_state(state)
        steps = max(1, int(round(seconds / self.env.physics_period)))
        return self._track(np.repeat(x[None, :8], steps + 1, axis=0))

    # ------------------------------------------------------------------ task logic
    def strategies(self) -> tuple[str, ...]:
        raise NotImplementedError

    def phase_plan(self, memory: ManipulationMemory, state: np.ndarray) -> Plan | None:
        """The plan of phase `memory.phase` from `state`, or None after the last phase."""
        raise NotImplementedError

    # ------------------------------------------------------------------ streaming
    def start(self, state: np.ndarray, seed: int) -> ManipulationMemory:
        """A fresh episode from the full `state`, with the strategy drawn from `seed`."""
        rng = np.random.default_rng([seed, 25])
        strategies = self.strategies()
        return ManipulationMemory(strategy=strategies[int(rng.integers(len(strategies)))])

    def act(self, memory: ManipulationMemory, state: np.ndarray) -> np.ndarray:
        """u = u_ff + K (x - x_ref) of the current phase's step (advances `memory`, planning the
        next phase from `state` when one ends; after the last one the arm rests)."""
        state = np.asarray(state, dtype=float)
        while memory.plan is None or memory.step >= len(memory.plan.inputs):
            memory.plan = self.phase_plan(memory, state) or self.hold(state, 1.0)
            memory.phase += 1
            memory.step = 0
        plan, t = memory.plan, memory.step
        memory.step += 1
        x = self.env.controlled_state(state)
        model = self.env.model
        return primitive_input(plan.gains[t], x - plan.states[t], plan.inputs[t], *model.input_bounds(x))

    def run_episode(self, seed: int) -> Demo:
        """Reset the env to `seed`, act until the episode ends, record the demo."""
        env = self.env
        states, inputs, info, memory = stream_episode(env, self, seed)
        return expert_demo(env, seed, states, inputs, info.success, extra={
            "strategy": memory.strategy, "duration": len(inputs) * env.physics_period,
            "object_lift": env.lift,
        })


OPEN, CLOSED = FINGER_RANGE[1], FINGER_RANGE[0]


class CanExpert(ManipulationExpert):
    """Pick the can, carry it over the bin walls, place it in its quadrant, let go, back off."""

    env: CanEnv
    #: grasp yaw relative to the arm's rest yaw, and the carry height above the bins' floor [m]
    GRASP_YAW = {"left": np.pi / 4, "right": -np.pi / 4}
    CARRY_HEIGHT = {"high": 0.3, "low": 0.2}

    def __init__(self, env: CanEnv, config: ManipulationExpertConfig | None = None, target_pull: float = 0.35) -> None:
        super().__init__(env, config)
        centre = env.bin_centre()
        self.drop_point = env.target_position() + target_pull * (centre - env.target_position()) * np.array([1, 1, 0])
        self.floor = float(centre[2])
        _, rotation = self.ik.forward(np.asarray(env.robot.init_qpos, dtype=float))
        self.rest_yaw = hand_yaw(rotation)

    def strategies(self) -> tuple[str, ...]:
        return tuple(f"{grasp}-{carry}" for grasp in self.GRASP_YAW for carry in self.CARRY_HEIGHT)

    def phase_plan(self, memory: ManipulationMemory, state: np.ndarray) -> Plan | None:
        grasp, carry = memory.strategy.split("-")
        if memory.phase == 0:  # reach above the can, descend, close
            can = self.object_position(state)
            yaw = self.rest_yaw + self.GRASP_YAW[grasp]
            memory.context["yaw"] = yaw
            above = can + [0.0, 0.0, self.config.approach_height]
            return self.plan_phase(state, [Keyframe(above, yaw), Keyframe(can, yaw, stop=True)], CLOSED, OPEN)
        if memory.phase == 1:  # lift, carry, lower into the bin, open
            grip, _ = self.ik.forward(self.arm_positions(state))
            yaw = memory.context["yaw"]
            height = self.floor + self.CARRY_HEIGHT[carry]
            lift = np.array([grip[0], grip[1], height])
            over = np.array([self.drop_point[0], self.drop_point[1], height])
            release = np.array([self.drop_point[0], self.drop_point[1], self.floor + 0.1])
            return self.plan_phase(state, [Keyframe(lift, yaw), Keyframe(over, yaw), Keyframe(release, yaw, stop=True)],
                                   OPEN, finger_held=CLOSED)
        if memory.phase == 2:  # back off upwards
            grip, _ = self.ik.forward(self.arm_positions(state))
            return self.plan_phase(state, [Keyframe(grip + [0.0, 0.0, 0.15], memory.context["yaw"], stop=True)], None)
        return None


class SquareExpert(ManipulationExpert):
    """Grasp the square nut's handle across its width, turn the nut onto the peg's alignment, lower
    it over the peg, let go, back off.

    Phases: 0 reach and grasp (after the nut, dropped at reset, has landed); 1 lift, turn and carry
    the nut to a hover above the peg; 2 centre it over the peg from where it hangs, lower it, open;
    3 back off upwards. Phases 1 and 2 first check that the nut is held; if not (the fingers closed
    on nothing, or the nut slipped out), the grasp is planned again from the live nut pose.
    """

    env: SquareEnv
    #: where along the handle the fingers close, beyond the handle site [m]: the fingers clear the
    #: nut's ring and stay on the handle
    HANDLE_OFFSET = 0.012
    #: height of the nut's hover above the peg's centre before it is lowered [m]
    HOVER_HEIGHT = 0.2
    #: the finger closed further than this holds nothing (on the handle it stops near 0.016) [m]
    MISSED_GRASP = 0.006
    #: the nut is held while its centre is within this of the grip site [m]
    HOLD_DISTANCE = 0.1
    #: the nut is still falling while its centre is this much above its resting height [m]
    LANDED = 0.005
    #: how long the arm waits before looking again at a falling nut [s]
    LANDING_WAIT = 0.1
    TURN = ("clockwise", "counterclockwise")

    def __init__(self, env: SquareEnv, config: ManipulationExpertConfig | None = None) -> None:
        super().__init__(env, config)
        self.peg = env.peg_position()
        self.table_height = float(env.sim_env.table_offset[2])
        state = env.reset(0)
        for _ in range(50):  # the nut is placed above the table and drops onto it
            state, _ = env.step(env.controlled_state(state)[:8])
        centre, rotation = env.object_pose()
        #: the handle site in the nut's frame
        self.handle_local = rotation.T @ (env.handle_position() - centre)
        self.handle_direction_local = self.handle_local[:2] / np.linalg.norm(self.handle_local[:2])
        #: the nut's centre height above the table when it lies on it [m]
        self.rest_height = float(centre[2]) - self.table_height

    def strategies(self) -> tuple[str, ...]:
        return self.TURN

    def phase_plan(self, memory: ManipulationMemory, state: np.ndarray) -> Plan | None:
        if memory.phase == 0:
            if self.object_position(state)[2] > self.table_height + self.rest_height + self.LANDED:
                memory.phase -= 1  # the reach is planned once the wait ends
                return self.hold(state, self.LANDING_WAIT)
            return self._reach(memory, state)
        if memory.phase in (1, 2) and not self._holding(state):
            memory.phase = 0
            return self._reach(memory, state)
        if memory.phase == 1:
            return self._carry(memory, state)
        if memory.phase == 2:
            return self._lower(memory, state)
        if memory.phase == 3:  # back off upwards
            grip, rotation = self.ik.forward(self.arm_positions(state))
            return self.plan_phase(state, [Keyframe(grip + [0.0, 0.0, 0.15], hand_yaw(rotation), stop=True)], None)
        return None

    def _holding(self, state: np.ndarray) -> bool:
        """Whether the fingers hold the nut: closed on something, the nut next to the grip site."""
        grip, _ = self.ik.forward(self.arm_positions(state))
        finger = state[self._names["panda_finger_joint1/position"]]
        return finger > self.MISSED_GRASP and np.linalg.norm(self.object_position(state) - grip) < self.HOLD_DISTANCE

    def _turn(self, nut_yaw: float, strategy: str) -> float:
        """The smallest turn [rad] in the `strategy`'s direction (clockwise: negative) that aligns
        the nut's square hole with the peg and leaves its handle pointing anywhere but away from the
        robot (+x: the grip would be out of the arm's reach). The handle points along the nut's x axis."""
        step = -np.pi / 2 if strategy == "clockwise" else np.pi / 2
        turn = -wrap_angle(4 * nut_yaw) / 4  # the smallest turn either way, in (-pi/4, pi/4]
        if turn * step < 0:
            turn += step
        if abs(wrap_angle(nut_yaw + turn)) < np.pi / 4:
            turn += step
        return turn

    def _reach(self, memory: ManipulationMemory, state: np.ndarray) -> Plan:
        """Open, go above the handle (rising first if the hand is low), descend, close across it."""
        centre, nut_yaw = self.object_position(state), self.object_yaw(state)
        direction = rotation_z(nut_yaw)[:2, :2] @ self.handle_direction_local
        grasp = centre + rotation_z(nut_yaw) @ self.handle_local + self.HANDLE_OFFSET * np.append(direction, 0.0)
        grasp[2] = self.table_height + self.rest_height
        q = self.arm_positions(state)
        grip, rotation = self.ik.forward(q)
        yaw = self._grasp_yaw(q, hand_yaw(rotation), grasp, float(np.arctan2(direction[1], direction[0])),
                              self._turn(nut_yaw, memory.strategy))
        memory.context["yaw"] = yaw
        above = grasp + [0.0, 0.0, self.config.approach_height]
        keyframes = [Keyframe(above, yaw), Keyframe(grasp, yaw, stop=True)]
        if grip[2] < above[2] - 0.02:
            keyframes.insert(0, Keyframe(grip + [0.0, 0.0, self.config.approach_height], hand_yaw(rotation)))
        return self.plan_phase(state, keyframes, CLOSED, OPEN)

    def _grasp_yaw(self, q: np.ndarray, yaw: float, grasp: np.ndarray, handle_angle: float, turn: float) -> float:
        """Of the two hand yaws within half a turn of `yaw` that close the fingers (along the hand's
        x axis) across the handle, the one that leaves joint 7 the most room to its limits at the
        grasp and after the nut's `turn` (joint 7 turns the hand against the yaw)."""
        first = yaw + wrap_angle(handle_angle + np.pi / 2 - yaw)
        candidates = (first, first - np.pi if first > yaw else first + np.pi)
        lower, upper = self.ik.lower[6], self.ik.upper[6]

        def room(candidate: float) -> float:
            q7 = self.ik.solve(q, grasp, hand_rotation(candidate), q, iterations=50)[6]
            return min(q7 - lower, upper - q7, q7 - turn - lower, upper - q7 + turn)

        return max(candidates, key=room)

    def _carry(self, memory: ManipulationMemory, state: np.ndarray) -> Plan:
        """Lift, and turn the nut onto the peg's alignment while carrying it to the hover above the peg."""
        grip, rotation = self.ik.forward(self.arm_positions(state))
        yaw = hand_yaw(rotation)
        turn = self._turn(self.object_yaw(state), memory.strategy)
        # the nut's centre relative to the grip site, turned with the hand
        offset = rotation_z(turn) @ (self.object_position(state) - grip)
        height = self.peg[2] + self.HOVER_HEIGHT
        lift = np.array([grip[0], grip[1], height])
        over = np.array([*(self.peg[:2] - offset[:2]), height])
        memory.context["yaw"] = yaw + turn
        return self.plan_phase(state, [Keyframe(lift, yaw), Keyframe(over, yaw + turn, stop=True)], None,
                               finger_held=CLOSED)

    def _lower(self, memory: ManipulationMemory, state: np.ndarray) -> Plan:
        """Centre the nut over the peg from where it hangs now, lower it to just above the table, open."""
        grip, _ = self.ik.forward(self.arm_positions(state))
        nut = self.object_position(state)
        target = grip + np.append(self.peg[:2] - nut[:2], self.table_height + self.rest_height + 0.01 - nut[2])
        above = np.append(target[:2], grip[2] - 0.03)
        yaw = memory.context["yaw"]
        return self.plan_phase(state, [Keyframe(above, yaw), Keyframe(target, yaw, stop=True)], OPEN,
                               finger_held=CLOSED)
