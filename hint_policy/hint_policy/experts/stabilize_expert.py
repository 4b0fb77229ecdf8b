"""Expert of the stabilization task: iLQR model-predictive control, as in the HINT authors' code.

At every step the expert solves, from the measured state, the finite-horizon problem

    minimize  sum_{k < H} c(x_k, u_k) + x_H' P_inf x_H     subject to x_{k+1} = f(x_k, u_k)

with c the task's own step cost (:meth:`QuadrotorStabilizeEnv.step_cost`: Q = I,
R = 0.5 diag(1, 0.2) on (thrust - m g, torque)), H = 30 steps (1.5 s), P_inf the infinite-horizon
LQR cost-to-go at hover (so the truncated tail is priced), and f the model's own Euler step. The
solver is iterative LQR (Li and Todorov 2004): linearize along the current guess (the model's
exact Jacobians), a backward Riccati pass with Levenberg-Marquardt regularization on the input
Hessian, then a line-searched forward pass that clamps inputs to the model's limits. The first
solve starts from hover and runs up to ``first_iterations``; each later solve starts from the
previous solution shifted by one step and runs up to ``iterations``. The first input is applied.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hint_controller.tvlqr import infinite_horizon_cost
from hint_policy.demos import Demo
from hint_policy.envs.quadrotor_stabilize import QuadrotorStabilizeEnv
from hint_policy.experts import expert_demo


@dataclasses.dataclass(frozen=True)
class StabilizeExpertConfig:
    horizon: int = 30
    first_iterations: int = 30
    iterations: int = 4
    #: stop iterating when the relative cost decrease falls below this
    tolerance: float = 1e-6
    regularization: float = 1e-6
    line_search: tuple[float, ...] = (1.0, 0.5, 0.25, 0.1, 0.03)


class StabilizeExpert:
    """iLQR MPC for :class:`QuadrotorStabilizeEnv`; see the module docstring."""

    def __init__(self, env: QuadrotorStabilizeEnv, config: StabilizeExpertConfig | None = None) -> None:
        self.env = env
        self.config = config or StabilizeExpertConfig()
        model = env.model
        task = env.config
        self.hover = np.array([model.hover_thrust, 0.0])
        self.q = np.eye(6)
        self.r = task.input_weight * np.diag([1.0, task.torque_weight])
        a, b = model.jacobians(np.zeros(6), self.hover)
        self.terminal = infinite_horizon_cost(a, b, self.q, self.r)
        self._guess: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the warm start (a new episode)."""
        self._guess = None

    def act(self, state: np.ndarray) -> np.ndarray:
        """The MPC input at `state` (advances the warm start)."""
        cfg = self.config
        if self._guess is None:
            guess, iterations = np.tile(self.hover, (cfg.horizon, 1)), cfg.first_iterations
        else:
            guess, iterations = np.vstack([self._guess[1:], self._guess[-1:]]), cfg.iterations
        inputs = self.solve(np.asarray(state, dtype=float), guess, iterations)
        self._guess = inputs
        return inputs[0].copy()

    # ------------------------------------------------------------------ iLQR
    def trajectory_cost(self, states: np.ndarray, inputs: np.ndarray) -> float:
        return float(np.sum(self.env.step_cost(states[:-1], inputs)) + states[-1] @ self.terminal @ states[-1])

    def solve(self, start: np.ndarray, inputs: np.ndarray, iterations: int) -> np.ndarray:
        """Locally optimal inputs (H, 2) from `start`, improving `inputs` by up to `iterations` steps."""
        model, cfg = self.env.model, self.config
        inputs = model.clamp(inputs)
        states = model.rollout(start, inputs)
        cost = self.trajectory_cost(states, inputs)
        for _ in range(iterations):
            feedforward, gains = self._backward(states, inputs)
            for alpha in cfg.line_search:
                new_states, new_inputs = self._forward(start, states, inputs, feedforward, gains, alpha)
                new_cost = self.trajectory_cost(new_states, new_inputs)
                if new_cost < cost:
                    break
            else:
                return inputs  # no descent along the iLQR direction: converged (or stuck)
            improvement = (cost - new_cost) / max(cost, 1e-12)
            states, inputs, cost = new_states, new_inputs, new_cost
            if improvement < cfg.tolerance:
                break
        return inputs

    def _backward(self, states: np.ndarray, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.env.model.trajectory_jacobians(states[:-1], inputs)
        horizon = len(inputs)
        feedforward = np.empty((horizon, 2))
        gains = np.empty((horizon, 2, 6))
        value_gradient = 2.0 * self.terminal @ states[-1]
        value_hessian = 2.0 * self.terminal
        q2, r2 = 2.0 * self.q, 2.0 * self.r
        regularization = self.config.regularization * np.eye(2)
        for t in range(horizon - 1, -1, -1):
            lx = q2 @ states[t]
            lu = r2 @ (inputs[t] - self.hover)
            qx = lx + a[t].T @ value_gradient
            qu = lu + b[t].T @ value_gradient
            vb = value_hessian @ b[t]
            qxx = q2 + a[t].T @ value_hessian @ a[t]
            quu = r2 + b[t].T @ vb + regularization
            qux = vb.T @ a[t]
            feedforward[t] = -np.linalg.solve(quu, qu)
            gains[t] = -np.linalg.solve(quu, qux)
            value_gradient = qx + gains[t].T @ quu @ feedforward[t] + gains[t].T @ qu + qux.T @ feedforward[t]
            value_hessian = qxx + gains[t].T @ quu @ gains[t] + gains[t].T @ qux + qux.T @ gains[t]
            value_hessian = 0.5 * (value_hessian + value_hessian.T)
        return feedforward, gains

    def _forward(self, start: np.ndarray, states: np.ndarray, inputs: np.ndarray, feedforward: np.ndarray,
                 gains: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        model = self.env.model
        new_states = np.empty_like(states)
        new_inputs = np.empty_like(inputs)
        new_states[0] = start
        for t in range(len(inputs)):
            u = inputs[t] + alpha * feedforward[t] + gains[t] @ (new_states[t] - states[t])
            new_inputs[t] = model.clamp(u)
            new_states[t + 1] = model.step(new_states[t], new_inputs[t])
        return new_states, new_inputs

    # ------------------------------------------------------------------ episodes
    def run_episode(self, seed: int) -> Demo:
        """Reset the env to `seed` and fly the MPC for the whole episode; success = origin reached."""
        env = self.env
        state = env.reset(seed)
        self.reset()
        states, inputs = [state], []
        info = None
        while info is None or not info.done:
            u = self.act(state)
            state, info = env.step(u)
            states.append(state)
            inputs.append(u)
        return expert_demo(env, seed, states, inputs, info.success, extra={
            "total_reward": env.total_reward, "final_distance": float(np.linalg.norm(state)),
        })
