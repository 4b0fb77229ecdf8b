"""Arm reaching expert: a minimum-jerk joint-space motion to an IK solution of the goal point,
with inverse-dynamics feedforward and TVLQR feedback.

From the measured start (at rest) the expert

1. solves the planar inverse kinematics of the goal point (:meth:`PlanarArmKinematics.inverse`)
   for ``tip_angle_samples`` directions of the last link and both elbow signs, keeps the
   configurations at least ``limit_margin`` inside the joint limits, draws the elbow sign
   (positive with ``elbow_positive_probability``, the other one when the drawn one has no
   solution) and takes the solution of that sign closest to the start in joint space;
2. moves there along the minimum-jerk profile q(t) = q_0 + (q_g - q_0) s(t / T),
   s(r) = 10 r^3 - 15 r^4 + 6 r^5 (at rest at both ends). The duration T makes the peak joint
   speed ``nominal_speed`` (within [min_duration, max_duration]) and is lengthened by 20 % steps
   while the feedforward effort exceeds ``effort_fraction`` of a joint's effort limit;
3. appends ``hold_time`` at rest at the goal configuration (feedforward = gravity compensation);
4. feedforward efforts are the model's inverse dynamics along the profile, for the profile's
   mean acceleration over each physics step (:func:`inverse_dynamics`: the continuous dynamics
   are affine in the efforts), and the
   feedback gains are TVLQR along the reference with the training data's weights
   (:meth:`hint_controller.tvlqr.TVLQRConfig.synthesis`), so u = u_ff + K (x - x_ref), clamped.

The elbow draw makes the demos bimodal for the same observation (a goal point is reached elbow
up or elbow down), recorded in ``Demo.extra["elbow"]``.

Streaming: :meth:`ArmExpert.start` plans from a measured full state (joint positions and
velocities, goal point) and :meth:`ArmExpert.act` returns one physics step's efforts
(hint_bringup's expert chunker protocol); :meth:`ArmExpert.run_episode` is a loop over them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hint_controller.dynamics.base import DynamicsModel
from hint_controller.executor import primitive_input
from hint_controller.names import name_indices
from hint_controller.tvlqr import TVLQRConfig
from hint_policy.demos import Demo
from hint_policy.envs.arm import ArmReachEnv
from hint_policy.envs.panda import PandaReachEnv
from hint_policy.experts import expert_demo, stream_episode

#: peak of ds/dr of the minimum-jerk profile from rest, s(r) = 10 r^3 - 15 r^4 + 6 r^5
MIN_JERK_PEAK_SPEED = 1.875
DURATION_GROWTH = 1.2


@dataclasses.dataclass(frozen=True)
class ArmExpertConfig:
    tip_angle_samples: int = 72  # directions of the last link tried by the IK
    limit_margin: float = 0.1  # rad the goal configuration keeps from the joint limits
    elbow_positive_probability: float = 0.5
    nominal_speed: float = 1.2  # rad/s, peak speed of the joint that moves most
    min_duration: float = 1.0  # s
    max_duration: float = 4.0  # s
    effort_fraction: float = 0.8  # of each joint's effort limit, for the feedforward
    hold_time: float = 1.0  # s at rest at the goal appended to the reference
    tvlqr: TVLQRConfig = dataclasses.field(default_factory=TVLQRConfig)


@dataclasses.dataclass
class ArmPlan:
    """A reference at the physics period: states x_0..x_T (joint positions, velocities) and the
    feedforward efforts u_0..u_{T-1} with TVLQR gains K_0..K_{T-1}."""

    states: np.ndarray  # (T + 1, 2 n)
    inputs: np.ndarray  # (T, n)
    gains: np.ndarray  # (T, n, 2 n)
    goal_configuration: np.ndarray  # (n,)
    elbow_positive: bool
    duration: float  # s of motion (without the hold)


@dataclasses.dataclass
class ArmExpertMemory:
    """What the expert carries from one physics step to the next (see :meth:`ArmExpert.act`)."""

    plan: ArmPlan
    step: int = 0  # physics steps of the plan executed so far


def minimum_jerk(start: np.ndarray, goal: np.ndarray, duration: float, times: np.ndarray) -> tuple[np.ndarray, ...]:
    """Positions, velocities and accelerations (len(times), n) of the minimum-jerk motion from
    `start` to `goal` (at rest at both ends) over `duration`; times beyond it hold the goal."""
    start = np.asarray(start, dtype=float)
    r = np.clip(np.asarray(times, dtype=float) / duration, 0.0, 1.0)[:, None]
    delta = np.asarray(goal, dtype=float) - start
    s = 10 * r**3 - 15 * r**4 + 6 * r**5
    ds = (30 * r**2 - 60 * r**3 + 30 * r**4) / duration
    dds = (60 * r - 180 * r**2 + 120 * r**3) / duration**2
    return start + delta * s, delta * ds, delta * dds


def inverse_dynamics(model: DynamicsModel, states: np.ndarray, accelerations: np.ndarray) -> np.ndarray:
    """Inputs (T, m) that give joint `accelerations` (T, n) at `states` (T, 2 n) of a fully
    actuated model whose state is (positions, velocities) and whose continuous dynamics are
    affine in the input (qdd = a(x) + G(x) u, as for every mechanical model): u = G^-1 (qdd - a)."""
    states = np.atleast_2d(np.asarray(states, dtype=float))
    accelerations = np.atleast_2d(np.asarray(accelerations, dtype=float))
    n = accelerations.shape[-1]
    if states.shape[-1] != 2 * n or model.input_dim != n:
        raise ValueError(
            f"inverse dynamics needs a fully actuated model with 2 n states and n inputs; "
            f"got {states.shape[-1]} states, {model.input_dim} inputs, {n} accelerations"
        )
    zero = np.zeros((len(states), n))
    drift = model.continuous_dynamics(states, zero)[:, n:]
    columns = [model.continuous_dynamics(states, zero + unit)[:, n:] - drift for unit in np.eye(n)]
    control = np.stack(columns, axis=-1)  # (T, n, n): d qdd / d u
    return np.linalg.solve(control, (accelerations - drift)[..., None])[..., 0]


class ArmExpert:
    """IK + minimum-jerk motion + inverse dynamics + TVLQR; see the module docstring."""

    def __init__(self, env: ArmReachEnv, config: ArmExpertConfig | None = None) -> None:
        self.env = env
        self.config = config or ArmExpertConfig()
        self._goal_columns = name_indices(env.state_names, env.goal_state_names)
        self._synthesize = self.config.tvlqr.synthesis(env.model)

    # ------------------------------------------------------------------ planning
    def goal_configuration(self, start: np.ndarray, goal_point: np.ndarray, elbow_positive: bool) -> tuple[np.ndarray, bool]:
        """The IK solution of `goal_point` closest to `start` (joint positions) with the preferred
        elbow sign, or the other sign when that one has none; returns (q, elbow positive)."""
        env, cfg = self.env, self.config
        angles = np.linspace(-np.pi, np.pi, cfg.tip_angle_samples, endpoint=False)
        low, high = env.joint_lower + cfg.limit_margin, env.joint_upper - cfg.limit_margin
        for positive in (elbow_positive, not elbow_positive):
            solutions, reachable = env.kinematics.inverse(goal_point, angles, 1.0 if positive else -1.0)
            inside = reachable & np.all((solutions >= low) & (solutions <= high), axis=-1)
            if inside.any():
                candidates = solutions[inside]
                return candidates[np.argmin(np.linalg.norm(candidates - start, axis=-1))], positive
        raise ValueError(f"goal point {goal_point.tolist()} has no IK solution {cfg.limit_margin} rad inside the joint limits")

    def plan(self, state: np.ndarray, elbow_positive: bool) -> ArmPlan:
        """Reference, feedforward and gains from the full `state` to its goal point.

        The motion starts at rest at the state's joint positions (episodes start at rest); when
        the expert takes over a moving arm (e.g. through ROS), TVLQR absorbs the velocity. (A
        quintic starting at the measured velocity overshot into the joint limits more often:
        success 0.9 vs 1.0 over 40 starts kicked by 5-11 steps of a stale controller.)"""
        env, cfg = self.env, self.config
        n = env.num_joints
        start = np.asarray(state, dtype=float)[:n]
        goal_q, positive = self.goal_configuration(start, np.asarray(state)[self._goal_columns], elbow_positive)
        travel = float(np.max(np.abs(goal_q - start)))
        duration = float(np.clip(MIN_JERK_PEAK_SPEED * travel / cfg.nominal_speed, cfg.min_duration, cfg.max_duration))
        while True:
            states, inputs = self._reference(start, goal_q, duration)
            if self._load(states, inputs) <= cfg.effort_fraction or duration >= cfg.max_duration:
                break
            duration = min(cfg.max_duration, duration * DURATION_GROWTH)
        gains = self._synthesize(states, inputs)
        return ArmPlan(states, inputs, gains, goal_q, positive, duration)

    def _load(self, states: np.ndarray, inputs: np.ndarray) -> float:
        """The largest share of a limit the reference uses: feedforward effort / effort limit."""
        return float(np.max(np.abs(inputs) / self.env.model.input_upper))

    def _reference(self, start: np.ndarray, goal_q: np.ndarray, duration: float) -> tuple[np.ndarray, np.ndarray]:
        dt = self.env.physics_period
        steps = int(np.ceil(duration / dt)) + int(round(self.config.hold_time / dt))
        times = np.arange(steps + 1) * dt
        positions, velocities, _ = minimum_jerk(start, goal_q, duration, times)
        states = np.concatenate([positions, velocities], axis=-1)
        # the effort held over [t, t + dt] realizes the profile's mean acceleration over that step
        mean_accelerations = (velocities[1:] - velocities[:-1]) / dt
        inputs = inverse_dynamics(self.env.model, states[:-1], mean_accelerations)
        return states, inputs

    # ------------------------------------------------------------------ streaming
    def start(self, state: np.ndarray, seed: int) -> ArmExpertMemory:
        """Plan from the full `state` (at rest) with the elbow sign drawn from `seed`."""
        rng = np.random.default_rng([seed, 11])
        elbow_positive = bool(rng.random() < self.config.elbow_positive_probability)
        return ArmExpertMemory(self.plan(state, elbow_positive))

    def act(self, memory: ArmExpertMemory, state: np.ndarray) -> np.ndarray:
        """u = u_ff + K (x - x_ref) of the plan's current step, clamped (advances `memory`);
        past the plan's end its last primitive (rest at the goal) is held."""
        plan = memory.plan
        t = min(memory.step, len(plan.inputs) - 1)
        memory.step += 1
        x = self.env.controlled_state(np.asarray(state, dtype=float))
        model = self.env.model
        return primitive_input(plan.gains[t], x - plan.states[t], plan.inputs[t], *model.input_bounds(x))

    # ------------------------------------------------------------------ episodes
    def run_episode(self, seed: int) -> Demo:
        """Reset the env to `seed`, plan, track until the episode ends, record the demo."""
        env = self.env
        states, inputs, info, memory = stream_episode(env, self, seed)
        plan = memory.plan
        return expert_demo(env, seed, states, inputs, info.success, extra={
            "elbow": "positive" if plan.elbow_positive else "negative",
            "goal_configuration": plan.goal_configuration.tolist(),
            "duration": plan.duration,
            "final_distance": env.goal_distance(),
            "collision": info.collision,
        })


class PandaExpert(ArmExpert):
    """The same plan for the Panda behind a position interface (:mod:`hint_policy.envs.panda`):
    the goal configuration is Drake's inverse kinematics of the goal point closest to the start
    (``limit_margin`` inside the joint limits), the "feedforward" is the commanded position that
    gives the profile's acceleration through the joints' servo (the same inverse dynamics, of the
    servo model), the duration keeps the peak joint speed within ``effort_fraction`` of the
    velocity limits, and TVLQR gains are those of the servo model. There is no elbow choice (the
    redundant arm's solution closest to the start is unique); `elbow_positive` is recorded as drawn."""

    env: PandaReachEnv

    def goal_configuration(self, start: np.ndarray, goal_point: np.ndarray, elbow_positive: bool) -> tuple[np.ndarray, bool]:
        env, margin = self.env, self.config.limit_margin
        low, high = env.joint_lower + margin, env.joint_upper - margin
        solution = env.kinematics.inverse(goal_point, np.clip(start, low, high), low, high)
        if solution is None:
            raise ValueError(f"goal point {np.asarray(goal_point).tolist()} has no IK solution {margin} rad inside the joint limits")
        return solution, elbow_positive

    def _load(self, states: np.ndarray, inputs: np.ndarray) -> float:
        """The peak joint speed of the reference / the joint's velocity limit."""
        n = self.env.num_joints
        return float(np.max(np.abs(states[:, n:]) / self.env.velocity_limit))
