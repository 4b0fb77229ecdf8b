"""A planning expert for PushT: choose push moves by simulating them, execute them smoothly.

Each replanning round, from the exact current state:

1. Candidate pushes: contact points every ``contact_spacing`` px along the T's outline; the agent
   starts just outside the contact point along the outward normal and moves at ``push_speed``
   along the inward normal turned by each of ``push_angles``.
2. Each candidate is simulated in a second :class:`~hint_policy.envs.pusht.PushTEnv` (same
   pymunk physics) set to the current block pose; the block pose cost (distance of the T's
   centre of gravity to the goal's plus ``angle_weight`` times the absolute error to the
   episode's target angle) is recorded after every physics step, so every push length is scored
   by one simulation.
3. Among improving candidates, the few best get a collision-free approach path around the T (a
   visibility graph over the T's outline inflated by the agent radius plus a clearance); one is
   drawn by softmax over improvement minus a path-length penalty.
4. The path (a short continuation of the current motion, approach, straight lead-in, push,
   short retreat) is timed (``travel_speed``, ``push_speed``), smoothed by a Gaussian filter in
   time, blended at its start onto the agent's current position, velocity and last input, and
   tracked at 100 Hz by PD with feedforward acceleration. The chosen push is first executed in
   closed loop in the second env for a few durations (the best one is kept; a candidate that
   does not improve is skipped). The recorded inputs are smooth accelerations without pauses.
   When the push is over, replan.

Multimodality: when the initial angle error exceeds 90 degrees the target angle (goal or goal
+- 2 pi; pymunk's angle is not wrapped) is drawn at random, i.e. the block is rotated one way or
the other ("rotate_positive" / "rotate_negative", else "direct"); softmax sampling makes the
first contact edge vary. Both are recorded in ``Demo.extra``.

Streaming: :meth:`PushTExpert.start` and :meth:`PushTExpert.act` run the same expert one physics
step at a time from any measured state, its plan carried in a :class:`PushTExpertMemory`
(:meth:`PushTExpert.run_episode` is a loop over them), so it can drive a simulator or robot
through ROS (hint_bringup's expert node).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import shapely.geometry as sg
from shapely.ops import nearest_points
from shapely.prepared import prep

from hint_policy.demos import Demo
from hint_policy.envs.pusht import AGENT_RADIUS, GOAL_POSE, KD, KP, PHYSICS_PERIOD, PUSHT_STATE_NAMES, PushTEnv
from hint_policy.experts import expert_demo

def _state_slice(first: str, last: str) -> slice:
    """The contiguous run of PushT state coordinates from `first` to `last` (inclusive)."""
    return slice(PUSHT_STATE_NAMES.index(first), PUSHT_STATE_NAMES.index(last) + 1)


#: where the expert reads the agent's position and velocity and the block's pose in a PushT state
AGENT_POSITION = _state_slice("agent_x", "agent_y")
AGENT_VELOCITY = _state_slice("agent_vx", "agent_vy")
BLOCK_POSE = _state_slice("block_x", "block_theta")
BLOCK_ANGLE = PUSHT_STATE_NAMES.index("block_theta")

#: the T's outline in the block's body frame (gym-pusht's add_tee with scale 30), with edge names
T_OUTLINE = np.array(
    [(-60.0, 0.0), (60.0, 0.0), (60.0, 30.0), (15.0, 30.0), (15.0, 120.0), (-15.0, 120.0), (-15.0, 30.0), (-60.0, 30.0)]
)
T_EDGE_NAMES = (
    "bar_top",
    "bar_right_end",
    "bar_under_right",
    "stem_right",
    "stem_end",
    "stem_left",
    "bar_under_left",
    "bar_left_end",
)
#: gym-pusht's block centre of gravity in the body frame
T_CENTRE = np.array([0.0, 45.0])
WORKSPACE_MARGIN = 12.0  # keep the agent's centre this far inside the 512 px square


@dataclasses.dataclass
class PushTExpertConfig:
    """Planner and execution settings (pixels, seconds, radians)."""

    push_speed: float = 100.0  # px/s while pushing
    travel_speed: float = 220.0  # px/s on the approach
    contact_spacing: float = 15.0  # px between candidate contact points
    push_angles: tuple[float, ...] = (-0.45, 0.0, 0.45)  # rad, relative to the inward normal
    max_push_time: float = 1.0  # s simulated per candidate
    min_push_time: float = 0.05  # s, shortest push considered
    start_gap: float = 2.0  # px between agent and T at the start of a simulated push
    angle_weight: float = 50.0  # px per rad in the pose cost
    min_improvement: float = 0.5  # px of pose cost
    clearance: float = 9.0  # px kept between the agent and the T on approach paths
    lead_in: float = 30.0  # px of straight approach along the push direction
    retreat: float = 10.0  # px backed off along the push after it
    candidates_with_paths: int = 8  # best candidates for which approach paths are computed
    path_length_penalty: float = 0.01  # pose-cost px per px of approach
    softmax_temperature: float = 0.25  # as a fraction of the best candidate's utility
    smoothing_sigma: float = 0.05  # s, Gaussian smoothing of the reference
    blend_time: float = 0.3  # s over which a new reference is blended onto the current motion
    continuation_time: float = 0.15  # s a new plan first continues the current motion
    tracking_kp: float = KP
    tracking_kd: float = KD
    candidates_checked: int = 5  # candidates simulated in closed loop before falling back
    duration_scales: tuple[float, ...] = (0.8, 1.0, 1.2, 1.45)
    random_rotation_above: float = math.pi / 2  # initial |angle error| above which direction is random
    #: a demo goes on past gym-pusht's success (coverage 0.95) until this coverage: demos that stop
    #: at the threshold end in chunks that hold still at about 0.95, so a policy that imitates them
    #: with a few px of error learns to stop just short of success (README, PushT ablation)
    finish_coverage: float = 0.98


@dataclasses.dataclass
class PushCandidate:
    """One push move: where the agent starts, where it pushes, for how long, and its outcome."""

    edge: int
    contact: np.ndarray  # world point on the outline
    start: np.ndarray  # agent centre at the start of the push
    direction: np.ndarray  # unit push direction
    duration: float  # s of pushing (best prefix)
    cost: float  # pose cost after the push
    improvement: float
    path: list[np.ndarray] | None = None
    path_length: float = math.inf


@dataclasses.dataclass
class PushTExpertMemory:
    """What the expert carries from one physics step to the next (see :meth:`PushTExpert.act`);
    copy it (copy.deepcopy) to resume the expert from an earlier step."""

    rng: np.random.Generator
    target_angle: float  # goal angle or goal +- 2 pi (rotation direction), fixed per episode
    strategy: str  # "direct", "rotate_positive" or "rotate_negative"
    reference: np.ndarray | None = None  # smoothed reference of the current push (row 0: previous sample)
    execute: int = 0  # steps of the reference to execute before replanning
    step: int = 0  # steps of it executed so far
    last_input: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(2))
    first_edge: str | None = None  # edge of the episode's first push


def wrap_angle(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def t_polygon(block_pose: np.ndarray) -> np.ndarray:
    """The T outline in world coordinates for a block pose (x, y, theta), (8, 2)."""
    c, s = math.cos(block_pose[2]), math.sin(block_pose[2])
    rotation = np.array([[c, -s], [s, c]])
    return T_OUTLINE @ rotation.T + block_pose[:2]


def pose_cost(x: float, y: float, theta: float, target_angle: float, angle_weight: float) -> float:
    """Distance of the T's centre of gravity to the goal's plus weighted absolute angle error."""
    c, s = math.cos(theta), math.sin(theta)
    cx, cy = x - s * T_CENTRE[1], y + c * T_CENTRE[1]
    gc, gs = math.cos(GOAL_POSE[2]), math.sin(GOAL_POSE[2])
    gx, gy = GOAL_POSE[0] - gs * T_CENTRE[1], GOAL_POSE[1] + gc * T_CENTRE[1]
    return math.hypot(cx - gx, cy - gy) + angle_weight * abs(theta - target_angle)


def _outward_normals(polygon: np.ndarray) -> np.ndarray:
    edges = np.roll(polygon, -1, axis=0) - polygon
    normals = np.stack([edges[:, 1], -edges[:, 0]], axis=1)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    x, y = polygon[:, 0], polygon[:, 1]
    signed_area = 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)
    return normals if signed_area > 0 else -normals


class PushTExpert:
    """Plans and executes pushes in a :class:`PushTEnv`; see the module docstring."""

    def __init__(self, config: PushTExpertConfig | None = None) -> None:
        self.config = config or PushTExpertConfig()
        self.sim = PushTEnv()
        self.sim.reset(0)

    # ------------------------------------------------------------------ episode
    def run_episode(self, env: PushTEnv, seed: int, rng: np.random.Generator | None = None) -> Demo:
        """Reset `env` to `seed`, solve it and return the demo at the physics period: it ends at
        ``finish_coverage`` or at the episode limit, successful once coverage passed 0.95."""
        state = env.reset(seed)
        memory = self.start(state, seed, rng)
        states, inputs = [state], []
        success = env.is_success()
        while env.coverage() <= self.config.finish_coverage and env.steps < env.max_steps:
            u = self.act(memory, state)
            state, info = env.step(u)
            states.append(state)
            inputs.append(u)
            success = success or info.success
            if info.collision:
                break
        return expert_demo(env, seed, states, inputs, success, extra={
            "strategy": memory.strategy,
            "first_contact_edge": memory.first_edge or "",
            "target_angle": float(memory.target_angle),
            "score": float(env.max_reward),
        })

    # ------------------------------------------------------------------ streaming
    def start(self, state: np.ndarray, seed: int, rng: np.random.Generator | None = None) -> PushTExpertMemory:
        """The memory of a new episode from its first full state (rng defaults to one seeded by `seed`)."""
        rng = rng if rng is not None else np.random.default_rng(seed)
        target_angle, strategy = self._choose_target_angle(state[BLOCK_ANGLE], rng)
        return PushTExpertMemory(rng=rng, target_angle=target_angle, strategy=strategy)

    def act(self, memory: PushTExpertMemory, state: np.ndarray) -> np.ndarray:
        """The input for one physics step from the full `state`; plans a new push when the
        current one is executed. Advances `memory` by one step."""
        if memory.reference is None or memory.step >= memory.execute:
            candidate = self._choose(state, memory.last_input, memory.target_angle, memory.rng)
            if candidate is None:
                candidate = self._fallback(state, memory.target_angle, memory.rng)
            if memory.first_edge is None:
                memory.first_edge = T_EDGE_NAMES[candidate.edge]
            memory.reference, memory.execute = self._reference(state, candidate, memory.last_input)
            memory.step = 0
        u = self._tracking_input(memory.reference, memory.step, state)
        memory.step += 1
        memory.last_input = u
        return u

    def _choose_target_angle(self, theta: float, rng: np.random.Generator) -> tuple[float, str]:
        error = wrap_angle(theta - GOAL_POSE[2])
        nearest = theta - error
        if abs(error) <= self.config.random_rotation_above:
            return nearest, "direct"
        other = nearest + (2 * math.pi if error > 0 else -2 * math.pi)
        target = nearest if rng.random() < 0.5 else other
        return target, "rotate_positive" if target > theta else "rotate_negative"

    # ------------------------------------------------------------------ planning
    def _candidate_starts(self, block_pose: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """(edge index, contact point, outward normal) every contact_spacing px along the outline."""
        polygon = t_polygon(block_pose)
        normals = _outward_normals(polygon)
        out = []
        for i, (a, normal) in enumerate(zip(polygon, normals)):
            b = polygon[(i + 1) % len(polygon)]
            length = float(np.linalg.norm(b - a))
            count = max(1, int(round(length / self.config.contact_spacing)))
            for k in range(count):
                out.append((i, a + (b - a) * (k + 0.5) / count, normal))
        return out

    def _choose(
        self, state: np.ndarray, last_input: np.ndarray, target_angle: float, rng: np.random.Generator
    ) -> PushCandidate | None:
        """Draw candidates by softmax and return the first whose executed push (simulated in
        closed loop, for a few push durations around the planned one) improves the pose."""
        cfg = self.config
        cost_now = pose_cost(*state[BLOCK_POSE], target_angle, cfg.angle_weight)
        for candidate in self._plan(state, target_angle, rng)[: cfg.candidates_checked]:
            best = None
            for scale in cfg.duration_scales:
                trial = dataclasses.replace(candidate, duration=candidate.duration * scale)
                cost = self._rollout_cost(state, last_input, trial, target_angle)
                if best is None or cost < best[0]:
                    best = (cost, trial)
            if best[0] < cost_now - cfg.min_improvement:
                best[1].cost, best[1].improvement = best[0], cost_now - best[0]
                return best[1]
        return None

    def _rollout_cost(
        self, state: np.ndarray, last_input: np.ndarray, candidate: PushCandidate, target_angle: float
    ) -> float:
        """Pose cost after executing `candidate` from `state` in the planning simulator."""
        reference, execute = self._reference(state, candidate, last_input)
        self.sim.set_state(state)
        agent, block, space = self.sim.gym_env.agent, self.sim.gym_env.block, self.sim.gym_env.space
        current = state.copy()
        for t in range(execute):
            u = self._tracking_input(reference, t, current)
            agent.velocity += u * PHYSICS_PERIOD
            space.step(PHYSICS_PERIOD)
            current[:4] = (*agent.position, *agent.velocity)
        position = block.position
        return pose_cost(position.x, position.y, block.angle, target_angle, self.config.angle_weight)

    def _plan(self, state: np.ndarray, target_angle: float, rng: np.random.Generator) -> list[PushCandidate]:
        cfg = self.config
        block_pose = state[BLOCK_POSE]
        cost_now = pose_cost(*block_pose, target_angle, cfg.angle_weight)
        polygon = sg.Polygon(t_polygon(block_pose))
        body = prep(polygon.buffer(AGENT_RADIUS + cfg.start_gap - 0.5, join_style="mitre"))
        candidates = []
        for edge, contact, normal in self._candidate_starts(block_pose):
            start = contact + normal * (AGENT_RADIUS + cfg.start_gap)
            if not _inside_workspace(start) or body.contains(sg.Point(start)):
                continue
            for angle in cfg.push_angles:
                c, s = math.cos(angle), math.sin(angle)
                direction = -np.array([c * normal[0] - s * normal[1], s * normal[0] + c * normal[1]])
                duration, cost = self._simulate_push(state, start, direction, target_angle)
                if cost_now - cost > cfg.min_improvement:
                    candidates.append(
                        PushCandidate(edge, contact, start, direction, duration, cost, cost_now - cost)
                    )
        return self._select(candidates, state, polygon, rng)

    def _simulate_push(
        self, state: np.ndarray, start: np.ndarray, direction: np.ndarray, target_angle: float
    ) -> tuple[float, float]:
        """Best (duration, pose cost) of a straight push at push_speed from `start`."""
        cfg = self.config
        velocity = direction * cfg.push_speed
        self.sim.set_state(np.array([start[0], start[1], velocity[0], velocity[1], *state[BLOCK_POSE]]))
        block, space = self.sim.gym_env.block, self.sim.gym_env.space
        agent = self.sim.gym_env.agent
        steps = int(round(cfg.max_push_time / PHYSICS_PERIOD))
        first = int(round(cfg.min_push_time / PHYSICS_PERIOD))
        best_cost, best_step = math.inf, first
        for step in range(1, steps + 1):
            agent.velocity = (velocity[0], velocity[1])
            space.step(PHYSICS_PERIOD)
            if step >= first:
                position = block.position
                cost = pose_cost(position.x, position.y, block.angle, target_angle, cfg.angle_weight)
                if cost < best_cost - 1e-9:
                    best_cost, best_step = cost, step
        return best_step * PHYSICS_PERIOD, best_cost

    def _select(
        self,
        candidates: list[PushCandidate],
        state: np.ndarray,
        polygon: sg.Polygon,
        rng: np.random.Generator,
    ) -> list[PushCandidate]:
        cfg = self.config
        candidates.sort(key=lambda c: -c.improvement)
        planner = ApproachPlanner(polygon, AGENT_RADIUS + cfg.clearance)
        feasible = []
        for candidate in candidates:
            lead_in_start = candidate.start - candidate.direction * cfg.lead_in
            if not planner.segment_clear(lead_in_start, candidate.start, AGENT_RADIUS + 0.5 * cfg.start_gap):
                continue
            path = planner.path(self._continuation(state)[-1], lead_in_start)
            if path is None:
                continue
            candidate.path = path
            candidate.path_length = float(sum(np.linalg.norm(b - a) for a, b in zip(path[:-1], path[1:])))
            feasible.append(candidate)
            if len(feasible) >= cfg.candidates_with_paths:
                break
        if not feasible:
            return []
        utility = np.array([c.improvement - cfg.path_length_penalty * c.path_length for c in feasible])
        scale = max(cfg.softmax_temperature * float(np.max(np.abs(utility))), 1e-6)
        weights = np.exp((utility - utility.max()) / scale)
        order = rng.choice(len(feasible), size=len(feasible), replace=False, p=weights / weights.sum())
        return [feasible[i] for i in order]

    def _fallback(self, state: np.ndarray, target_angle: float, rng: np.random.Generator) -> PushCandidate:
        """No improving push: take a random feasible push of random length to change the situation."""
        cfg = self.config
        block_pose = state[BLOCK_POSE]
        polygon = sg.Polygon(t_polygon(block_pose))
        starts = self._candidate_starts(block_pose)
        order = rng.permutation(len(starts))
        planner = ApproachPlanner(polygon, AGENT_RADIUS + cfg.clearance)
        for index in order:
            edge, contact, normal = starts[index]
            start = contact + normal * (AGENT_RADIUS + cfg.start_gap)
            lead_in_start = start + normal * cfg.lead_in
            if not _inside_workspace(start) or not planner.segment_clear(
                lead_in_start, start, AGENT_RADIUS + 0.5 * cfg.start_gap
            ):
                continue
            path = planner.path(self._continuation(state)[-1], lead_in_start)
            if path is None:
                continue
            duration = float(rng.uniform(0.2, 0.5))
            return PushCandidate(edge, contact, start, -normal, duration, math.nan, 0.0, path, 0.0)
        # boxed in (block against a corner): back off toward the workspace centre
        away = np.array([256.0, 256.0]) - state[AGENT_POSITION]
        away = away / max(np.linalg.norm(away), 1e-9)
        start = state[AGENT_POSITION] + away * 40.0
        return PushCandidate(0, start, start, away, 0.1, math.nan, 0.0, [state[AGENT_POSITION].copy(), start], 40.0)

    # ------------------------------------------------------------------ execution
    def _continuation(self, state: np.ndarray) -> list[np.ndarray]:
        """Where the agent goes in the first `continuation_time` of a plan: on at its current
        velocity (a new plan starts where the smoothing of the old motion ends)."""
        steps = max(1, int(round(self.config.continuation_time / PHYSICS_PERIOD)))
        return [state[AGENT_POSITION] + state[AGENT_VELOCITY] * PHYSICS_PERIOD * k for k in range(1, steps + 1)]

    def _reference(
        self, state: np.ndarray, candidate: PushCandidate, last_input: np.ndarray
    ) -> tuple[np.ndarray, int]:
        """Smoothed 100 Hz reference positions for the candidate and how many steps to execute."""
        cfg = self.config
        push_end = candidate.start + candidate.direction * cfg.push_speed * candidate.duration
        retreat_end = push_end - candidate.direction * cfg.retreat
        path = candidate.path or [state[AGENT_POSITION].copy()]
        segments = [(p, cfg.travel_speed) for p in path[1:]]
        segments += [(candidate.start, cfg.push_speed), (push_end, cfg.push_speed), (retreat_end, cfg.push_speed)]
        raw = [state[AGENT_POSITION].copy(), *self._continuation(state)]
        for point, speed in segments:
            raw.extend(_interpolate(raw[-1], point, speed))
        raw = np.array(raw)
        execute = len(raw) - 1
        sigma = cfg.smoothing_sigma / PHYSICS_PERIOD
        half = int(math.ceil(3 * sigma))
        before = state[AGENT_POSITION] - state[AGENT_VELOCITY] * PHYSICS_PERIOD * np.arange(half, 0, -1)[:, None]
        after_velocity = (raw[-1] - raw[-2]) if len(raw) > 1 else np.zeros(2)
        after = raw[-1] + after_velocity * np.arange(1, half + 2)[:, None]
        padded = np.vstack([before, raw, after])
        kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
        kernel /= kernel.sum()
        smooth = np.stack([np.convolve(padded[:, i], kernel, mode="valid") for i in range(2)], axis=1)
        # smooth[k] is the reference at time k (k = 0: now). Blend its start onto the current
        # motion with a quintic Hermite correction that fades out over blend_time, its weights
        # chosen so the first tracking inputs continue the last applied one: no input jumps
        # between consecutive plans.
        smooth = smooth + _start_correction(smooth, state[AGENT_POSITION], state[AGENT_VELOCITY], last_input, cfg.blend_time)
        # row 0 is the previous sample, so the first reference velocity is the current velocity
        reference = np.vstack([state[AGENT_POSITION] - state[AGENT_VELOCITY] * PHYSICS_PERIOD, smooth])
        return reference, max(execute, 1)

    def _tracking_input(self, reference: np.ndarray, t: int, state: np.ndarray) -> np.ndarray:
        """PD with feedforward so the agent follows reference[t+1] (row 0 is the previous sample)."""
        cfg = self.config
        dt = PHYSICS_PERIOD
        position_ref = reference[t + 1]
        velocity_ref = (reference[t + 1] - reference[t]) / dt  # velocity that reached position_ref
        velocity_next = (reference[t + 2] - reference[t + 1]) / dt
        feedforward = (velocity_next - velocity_ref) / dt
        return (
            feedforward
            + cfg.tracking_kp * (position_ref - state[AGENT_POSITION])
            + cfg.tracking_kd * (velocity_ref - state[AGENT_VELOCITY])
        )


def _start_correction(
    reference: np.ndarray, position: np.ndarray, velocity: np.ndarray, acceleration: np.ndarray, blend_time: float
) -> np.ndarray:
    """Correction (len(reference), 2) fading out over blend_time such that the corrected reference
    starts at `position` and its first and second differences are those of the agent continuing
    with `velocity` and `acceleration` (semi-implicit Euler: first difference v + a dt)."""
    dt = PHYSICS_PERIOD
    s = np.minimum(np.arange(len(reference)) * dt / blend_time, 1.0)
    basis = np.stack(
        [
            1 - 10 * s**3 + 15 * s**4 - 6 * s**5,
            blend_time * (s - 6 * s**3 + 8 * s**4 - 3 * s**5),
            blend_time**2 * (0.5 * s**2 - 1.5 * s**3 + 1.5 * s**4 - 0.5 * s**5),
        ],
        axis=1,
    )  # (L, 3): value, slope and curvature shapes

    def differences(x: np.ndarray) -> np.ndarray:
        return np.array([(x[1] - x[0]) / dt, (x[2] - 2 * x[1] + x[0]) / dt**2])

    offset = position - reference[0]
    target = np.stack([velocity + acceleration * dt, acceleration])  # (2, 2): rows d1, d2
    current = differences(reference) + np.outer(differences(basis[:, 0]), offset)
    matrix = np.stack([differences(basis[:, 1]), differences(basis[:, 2])], axis=1)  # (2 diffs, 2 shapes)
    weights = np.linalg.solve(matrix, target - current)  # (2 shapes, 2 axes)
    return np.outer(basis[:, 0], offset) + basis[:, 1:] @ weights


def _interpolate(a: np.ndarray, b: np.ndarray, speed: float) -> list[np.ndarray]:
    """Points after `a` up to `b` spaced by speed * dt (last one exactly b)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    length = float(np.linalg.norm(b - a))
    count = max(1, int(math.ceil(length / (speed * PHYSICS_PERIOD))))
    return [a + (b - a) * (k / count) for k in range(1, count + 1)]


def _inside_workspace(point: np.ndarray) -> bool:
    return bool(np.all(point > WORKSPACE_MARGIN) and np.all(point < 512.0 - WORKSPACE_MARGIN))


class ApproachPlanner:
    """Shortest collision-free polyline around the T for the agent's centre (visibility graph)."""

    def __init__(self, polygon: sg.Polygon, inflation: float) -> None:
        self.polygon = polygon
        self.obstacle = prep(polygon.buffer(inflation - 0.5, join_style="mitre", mitre_limit=2.0))
        #: leaving from close to the T (after a push) only needs to avoid touching it
        self.contact = prep(polygon.buffer(AGENT_RADIUS + 1.0))
        ring = polygon.buffer(inflation + 1.0, join_style="mitre", mitre_limit=2.0).exterior.coords
        self.nodes = [np.array(p) for p in list(ring)[:-1] if _inside_workspace(np.array(p))]

    def segment_clear(self, a: np.ndarray, b: np.ndarray, distance: float) -> bool:
        """Whether the agent centre can move from a to b staying `distance` away from the T."""
        return not sg.LineString([a, b]).buffer(distance).intersects(self.polygon)

    def _clear(self, a: np.ndarray, b: np.ndarray, obstacle) -> bool:
        return not obstacle.intersects(sg.LineString([a, b]))

    def _escape(self, point: np.ndarray) -> list[np.ndarray]:
        """[point] or [point, a point just out of contact with the T away from it]."""
        if not self.contact.intersects(sg.Point(point)):
            return [point]
        nearest = np.array(nearest_points(self.polygon, sg.Point(point))[0].coords[0])
        away = point - nearest
        norm = float(np.linalg.norm(away))
        away = away / norm if norm > 1e-9 else np.array([0.0, 1.0])
        return [point, point + away * (AGENT_RADIUS + 3.0 - norm)]

    def path(self, start: np.ndarray, goal: np.ndarray) -> list[np.ndarray] | None:
        """Polyline from start to goal (goal must lie outside the inflated T), or None."""
        goal = np.asarray(goal, dtype=float)
        if self.obstacle.intersects(sg.Point(goal)):
            return None
        head = self._escape(np.asarray(start, dtype=float))
        source = head[-1]
        source_obstacle = self.contact if self.obstacle.intersects(sg.Point(source)) else self.obstacle
        if self._clear(source, goal, source_obstacle):
            return head + [goal]
        points = [source] + self.nodes + [goal]
        count = len(points)
        distance = [math.inf] * count
        previous = [-1] * count
        distance[0] = 0.0
        done = [False] * count
        for _ in range(count):
            current, i = min((d, i) for i, d in enumerate(distance) if not done[i])
            if current == math.inf:
                return None
            done[i] = True
            if i == count - 1:
                break
            obstacle = source_obstacle if i == 0 else self.obstacle
            for j in range(count):
                if done[j]:
                    continue
                step = float(np.linalg.norm(points[j] - points[i]))
                if distance[i] + step < distance[j] and self._clear(points[i], points[j], obstacle):
                    distance[j] = distance[i] + step
                    previous[j] = i
        if previous[count - 1] < 0:
            return None
        chain = [count - 1]
        while chain[-1] != 0:
            chain.append(previous[chain[-1]])
        return head[:-1] + [points[i] for i in reversed(chain)]
