"""Quadrotor expert: Drake direct collocation past the obstacle, executed with TVLQR tracking.

For each start the expert draws a homotopy class ("left" = above the obstacle, "right" = below,
see :mod:`hint_policy.envs.quadrotor`) and a goal point inside the goal box, then solves a
direct-collocation trajectory optimization (``pydrake.planning.DirectCollocation`` on the
planar quadrotor's Drake symbolic dynamics, solved by SNOPT):

    minimize   sum_k h (u_k - u_hover)' R (u_k - u_hover) + time_weight * T
    subject to collocation dynamics, x(0) = start (hover), x(T) = goal at rest,
               thrust limits, |pitch| <= max_pitch, workspace bounds,
               clearance to the obstacle disc at every knot,
               at the middle knot: x = obstacle x and z above (left) / below (right) the obstacle.

The optimal trajectory is sampled at the physics period, extended by a hover at the goal, and
tracked in the environment by TVLQR (:meth:`hint_controller.tvlqr.TVLQRConfig.synthesis`,
u = u_ref + K (x - x_ref), clamped), so the demo's inputs are those actually applied. The
vehicle counts as arrived while it still swings into the goal box, so the recording goes on for
``settle_time`` past that moment: a demo ends settling into the hover at the goal, and the
chunks that run past its end repeat a hover primitive rather than a swinging one, which with
``quadrotor.yaml``'s weights contracts (docs/results.md, "Quadrotor: what the recipe needed").
:meth:`QuadrotorExpert.start` (plan) and :meth:`QuadrotorExpert.act` (one tracking step) run the
same expert from any measured start, e.g. through ROS (hint_bringup's expert node).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from pydrake.planning import DirectCollocation
from pydrake.solvers import Solve
from pydrake.symbolic import MakeVectorVariable
from pydrake.systems.primitives import SymbolicVectorSystem
from pydrake.trajectories import PiecewisePolynomial

from hint_controller.executor import primitive_input
from hint_controller.tvlqr import TVLQRConfig
from hint_policy.demos import Demo
from hint_policy.envs.quadrotor import PlanarQuadrotorObstacleEnv, passes_left
from hint_policy.experts import expert_demo


@dataclasses.dataclass
class QuadrotorExpertConfig:
    knots: int = 31
    min_time_step: float = 0.03
    max_time_step: float = 0.25
    input_weight: float = 1.0  # R on (u - u_hover), N^-2
    time_weight: float = 2.0  # cost per second of flight
    max_pitch: float = 1.0  # rad
    # m beyond vehicle radius + obstacle radius, at knots: room for a policy's imitation error (with
    # 0.12, policies trained on the demos clip the obstacle passing below it; docs/results.md,
    # "Quadrotor: what the recipe needed")
    obstacle_margin: float = 0.2
    bound_margin: float = 0.1  # m beyond the vehicle radius to ground / ceiling / walls
    pass_clearance: float = 0.05  # m: how far beyond the obstacle the middle knot must pass
    goal_spread: tuple[float, float] = (0.15, 0.2)  # half size of the box goal points are drawn from
    guess_duration: float = 3.0  # s, initial guess
    hold_time: float = 1.5  # s of hover appended to the reference for tracking
    settle_time: float = 0.8  # s recorded past the first step in the goal (ends early on collision or the plan's end)
    left_probability: float = 0.5
    tvlqr: TVLQRConfig = dataclasses.field(default_factory=TVLQRConfig)


@dataclasses.dataclass
class PlannedTrajectory:
    states: np.ndarray  # (T+1, 6) at the physics period
    inputs: np.ndarray  # (T, 2)
    duration: float
    solver: str
    success: bool


@dataclasses.dataclass
class QuadrotorExpertMemory:
    """What the expert carries from one physics step to the next (see :meth:`QuadrotorExpert.act`)."""

    plan: PlannedTrajectory
    gains: np.ndarray | None  # (T, 2, 6) TVLQR gains along the plan (None without a plan)
    left: bool  # homotopy: above the obstacle
    goal: np.ndarray  # (x, z) goal point
    step: int = 0  # physics steps of the plan executed so far


class QuadrotorExpert:
    """Trajectory optimization + TVLQR tracking; see the module docstring."""

    def __init__(self, env: PlanarQuadrotorObstacleEnv, config: QuadrotorExpertConfig | None = None) -> None:
        self.env = env
        self.config = config or QuadrotorExpertConfig()
        model = env.model
        x = MakeVectorVariable(6, "x")
        u = MakeVectorVariable(2, "u")
        dynamics = model.symbolic_dynamics(x, u)  # the model's own Drake expressions
        self.system = SymbolicVectorSystem(state=x, input=u, dynamics=dynamics)
        self.context = self.system.CreateDefaultContext()

    # ------------------------------------------------------------------ planning
    def plan(self, start: np.ndarray, goal: np.ndarray, left: bool) -> PlannedTrajectory:
        """Optimal trajectory from `start` (hover) to `goal` (x, z) passing left (above) or right."""
        cfg, task, model = self.config, self.env.config, self.env.model
        dircol = DirectCollocation(self.system, self.context, cfg.knots, cfg.min_time_step, cfg.max_time_step)
        prog = dircol.prog()
        dircol.AddEqualTimeIntervalsConstraints()
        hover = np.full(2, model.hover_thrust)
        goal_state = np.array([goal[0], goal[1], 0.0, 0.0, 0.0, 0.0])
        prog.AddBoundingBoxConstraint(start, start, dircol.initial_state())
        prog.AddBoundingBoxConstraint(goal_state, goal_state, dircol.final_state())
        keep = task.vehicle_radius + cfg.bound_margin
        lower = np.array([task.x_limits[0] + keep, task.z_limits[0] + keep, -cfg.max_pitch, -np.inf, -np.inf, -np.inf])
        upper = np.array([task.x_limits[1] - keep, task.z_limits[1] - keep, cfg.max_pitch, np.inf, np.inf, np.inf])
        cx, cz = task.obstacle_center
        clearance = task.obstacle_radius + task.vehicle_radius + cfg.obstacle_margin
        for k in range(cfg.knots):
            prog.AddBoundingBoxConstraint(model.input_lower, model.input_upper, dircol.input(k))
            prog.AddBoundingBoxConstraint(lower, upper, dircol.state(k))
            state = dircol.state(k)
            prog.AddConstraint((state[0] - cx) ** 2 + (state[1] - cz) ** 2 >= clearance**2)
        middle = dircol.state(cfg.knots // 2)
        prog.AddBoundingBoxConstraint(cx, cx, middle[0])
        passing = task.obstacle_radius + task.vehicle_radius + cfg.pass_clearance
        if left:
            prog.AddBoundingBoxConstraint(cz + passing, np.inf, middle[1])
        else:
            prog.AddBoundingBoxConstraint(-np.inf, cz - passing, middle[1])
        thrust = dircol.input()
        dircol.AddRunningCost(cfg.input_weight * sum((thrust[i] - hover[i]) ** 2 for i in range(2)))
        dircol.AddFinalCost(cfg.time_weight * dircol.time()[0])
        dircol.SetInitialTrajectory(*self._initial_guess(start, goal_state, hover, left, clearance))
        result = Solve(prog)
        solver = result.get_solver_id().name()
        if not result.is_success():
            return PlannedTrajectory(np.empty((0, 6)), np.empty((0, 2)), 0.0, solver, False)
        state_trajectory = dircol.ReconstructStateTrajectory(result)
        input_trajectory = dircol.ReconstructInputTrajectory(result)
        duration = state_trajectory.end_time()
        dt = self.env.physics_period
        times = np.arange(int(np.floor(duration / dt)) + 1) * dt
        states = np.array([state_trajectory.value(t).ravel() for t in times])
        inputs = np.array([input_trajectory.value(t).ravel() for t in times[:-1]])
        hold = int(round(cfg.hold_time / dt))
        states = np.vstack([states, np.repeat(goal_state[None], hold, axis=0)])
        inputs = np.vstack([inputs, np.repeat(hover[None], hold, axis=0)])
        return PlannedTrajectory(states, inputs, float(duration), solver, True)

    def _initial_guess(
        self, start: np.ndarray, goal_state: np.ndarray, hover: np.ndarray, left: bool, clearance: float
    ) -> tuple[PiecewisePolynomial, PiecewisePolynomial]:
        cx, cz = self.env.config.obstacle_center
        side = 1.0 if left else -1.0
        via = np.array([cx, cz + side * (clearance + 0.1), 0.0, 0.0, 0.0, 0.0])
        times = [0.0, 0.5 * self.config.guess_duration, self.config.guess_duration]
        states = np.column_stack([start, via, goal_state])
        inputs = np.column_stack([hover, hover, hover])
        return (
            PiecewisePolynomial.FirstOrderHold(times, inputs),
            PiecewisePolynomial.FirstOrderHold(times, states),
        )

    # ------------------------------------------------------------------ execution
    def run_episode(self, seed: int) -> Demo:
        """Reset the env to `seed`, plan (homotopy and goal point drawn from `seed`), track, record."""
        env = self.env
        state = env.reset(seed)
        memory = self.start(state, seed)
        states, inputs = [state], []
        success, arrived = False, None
        settle_steps = int(round(self.config.settle_time / env.physics_period))
        if memory.plan.success:
            for step in range(min(len(memory.plan.inputs), env.max_steps)):
                u = self.act(memory, state)
                state, info = env.step(u)
                states.append(state)
                inputs.append(u)
                if info.collision or (info.timeout and arrived is None):
                    success = False
                    break
                if info.success and arrived is None:
                    success, arrived = True, step
                if arrived is not None and step - arrived >= settle_steps:
                    break
        states_array = np.array(states)
        return expert_demo(env, seed, states_array, inputs, success, extra={
            "homotopy": "left" if memory.left else "right",
            "passes_left": passes_left(states_array, env.config) if len(states_array) > 1 else memory.left,
            "goal": [float(memory.goal[0]), float(memory.goal[1])],
            "plan_success": memory.plan.success,
            "plan_duration": memory.plan.duration,
            "solver": memory.plan.solver,
        })

    # ------------------------------------------------------------------ streaming
    def start(self, state: np.ndarray, seed: int) -> QuadrotorExpertMemory:
        """Plan from `state` (at rest) with the homotopy and goal point drawn from `seed`, and the
        TVLQR gains along the plan."""
        cfg = self.config
        rng = np.random.default_rng([seed, 7])
        left = bool(rng.random() < cfg.left_probability)
        goal = np.asarray(self.env.config.goal_center) + rng.uniform(-1.0, 1.0, 2) * np.asarray(cfg.goal_spread)
        plan = self.plan(np.asarray(state, dtype=float), goal, left)
        gains = None
        if plan.success:
            gains = cfg.tvlqr.synthesis(self.env.model)(plan.states, plan.inputs)
        return QuadrotorExpertMemory(plan=plan, gains=gains, left=left, goal=goal)

    def act(self, memory: QuadrotorExpertMemory, state: np.ndarray) -> np.ndarray:
        """TVLQR tracking input of the plan's current step (advances `memory` by one step).

        Past the plan's end the last primitive (hover at the goal) is held; without a plan the
        vehicle hovers."""
        model = self.env.model
        if not memory.plan.success:
            return model.clamp(np.full(2, model.hover_thrust))
        t = min(memory.step, len(memory.plan.inputs) - 1)
        memory.step += 1
        return primitive_input(memory.gains[t], state - memory.plan.states[t], memory.plan.inputs[t],
                               model.input_lower, model.input_upper)
