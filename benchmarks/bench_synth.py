"""Synthesis oracle and chunk executor timings (hint_controller, no ROS).

Figures:
- synth.tvlqr_ms.T200 / .T1000: hint's discrete TVLQR (vectorized exact RK4 Jacobians + symmetrized
  Riccati) along a planar-quadrotor hover-to-point maneuver, median wall time.
- synth.tvlqr_ms.pusht_T3000: the same on the PushT agent over 3000 steps (30 s at 100 Hz).
- synth.speedup_vs_drake_continuous.T1000: Drake's continuous FiniteHorizonLinearQuadraticRegulator
  on the same trajectory, gains sampled at every step, time divided by hint's.
- executor.tick_us: median ChunkExecutor.command() time while tracking a quadrotor chunk.
"""

from __future__ import annotations

import time

import numpy as np

REPEATS = 25
TICKS = 20000


def _median_ms(function, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def _drake_continuous_gains(model, states, inputs, q, r, qf) -> np.ndarray:
    from pydrake.systems.controllers import FiniteHorizonLinearQuadraticRegulator, FiniteHorizonLinearQuadraticRegulatorOptions
    from pydrake.trajectories import PiecewisePolynomial

    system = model.drake_system(discrete=False)
    times = np.arange(len(states)) * model.period
    options = FiniteHorizonLinearQuadraticRegulatorOptions()
    options.Qf = qf
    options.x0 = PiecewisePolynomial.FirstOrderHold(times, states.T)
    options.u0 = PiecewisePolynomial.ZeroOrderHold(times, np.vstack([inputs, inputs[-1:]]).T)
    result = FiniteHorizonLinearQuadraticRegulator(system, system.CreateDefaultContext(), 0.0, times[-1], q, r, options)
    return -np.array([result.K.value(t) for t in times[:-1]])


def run(report) -> None:
    from hint_controller.dynamics.planar_quadrotor import PlanarQuadrotor, hover_to_point_trajectory
    from hint_controller.dynamics.pusht_agent import PushTAgent
    from hint_controller.executor import ChunkExecutor
    from hint_controller.tvlqr import TVLQRConfig, chunk_controllers, primitive_controllers, synthesize_gains

    quadrotor = PlanarQuadrotor()
    states, inputs = hover_to_point_trajectory(quadrotor, 1000)
    q, r, qf = TVLQRConfig().matrices(quadrotor)
    maneuver = "planar quadrotor, 1 m x 0.5 m min-jerk hover-to-point maneuver at 100 Hz"
    for horizon in (200, 1000):
        ours_ms = _median_ms(lambda: synthesize_gains(quadrotor, states[: horizon + 1], inputs[:horizon], q, r, qf))
        report(f"synth.tvlqr_ms.T{horizon}", ours_ms, "ms", f"discrete TVLQR incl. exact RK4 Jacobians, {maneuver}, {horizon} steps, median of {REPEATS}")

    pusht = PushTAgent()
    pusht_states = np.zeros((3001, 4))
    pusht_inputs = np.zeros((3000, 2))
    pq, pr, pqf = TVLQRConfig().matrices(pusht)
    ms = _median_ms(lambda: synthesize_gains(pusht, pusht_states, pusht_inputs, pq, pr, pqf))
    report("synth.tvlqr_ms.pusht_T3000", ms, "ms", f"discrete TVLQR on the PushT agent (double integrator), 3000 steps, median of {REPEATS}")

    drake_ms = _median_ms(lambda: _drake_continuous_gains(quadrotor, states, inputs, q, r, qf), repeats=3)
    report(
        "synth.speedup_vs_drake_continuous.T1000",
        drake_ms / ours_ms,
        "x",
        f"Drake continuous FiniteHorizonLinearQuadraticRegulator + K sampled at 1000 steps ({drake_ms:.0f} ms, median of 3) "
        f"over hint's discrete TVLQR ({ours_ms:.1f} ms), same maneuver and weights",
    )

    x_ref, u_ff, gains = primitive_controllers(quadrotor, states, inputs, stride=5)
    chunk = chunk_controllers(quadrotor, x_ref, u_ff, gains, knot_period=0.05, chunk_length=16)[2]
    executor = ChunkExecutor(quadrotor, grace_period=0.1)
    executor.submit(chunk)
    rng = np.random.default_rng(0)
    measured = states[160:240] + 0.01 * rng.normal(size=(80, 6))
    tick_times = np.empty(TICKS)
    for i in range(TICKS):
        t = chunk.start_time + (i % 8000) * 1e-4
        x = measured[i % 80]
        begin = time.perf_counter()
        executor.command(t, x)
        tick_times[i] = time.perf_counter() - begin
    report(
        "executor.tick_us",
        1e6 * float(np.median(tick_times)),
        "us",
        f"ChunkExecutor.command() median over {TICKS} ticks, quadrotor chunk of 16 knots, LINEAR interpolation, tracking (pure Python + numpy)",
    )
