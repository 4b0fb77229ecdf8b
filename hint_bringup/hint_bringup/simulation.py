"""The ROS-free core of the simulator node: an Env with a simulated clock, a held command with a
timeout, and episode bookkeeping (:class:`Simulation`), plus the episode-event codes shared by
the node, the recorder and the bag tools.

Sim time starts at 0 and only moves forward, also across episodes: a reset takes one physics
period, so the last state of an episode and the first of the next never share a stamp. A command
is held until a newer one arrives or ``command_timeout`` passes; then the model's safe input
applies. A reset teleports the robot, and an unstamped command (std_msgs/Float64MultiArray)
computed before it may still arrive: for ``reset_hold`` seconds after a reset commands are
dropped and the safe input applies (a position-servoed arm would jump back towards the old pose).
An episode ends with SUCCESS, COLLISION or TIMEOUT from the env (and, with
``auto_reset``, the next seed starts at once) or with STOP (a reset or a shutdown).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from hint_controller.dynamics.base import SafeMode
from hint_controller.executor import default_safe_mode
from hint_policy.envs.base import Env, StepInfo

#: nanoseconds per second
NS = 1_000_000_000
#: hint_msgs/EpisodeEvent's codes (checked against the .msg text by hint_bringup.bags.make_typestore)
EVENT_START, EVENT_SUCCESS, EVENT_COLLISION, EVENT_TIMEOUT, EVENT_STOP = 0, 1, 2, 3, 4
EVENT_NAMES = {EVENT_START: "START", EVENT_SUCCESS: "SUCCESS", EVENT_COLLISION: "COLLISION",
               EVENT_TIMEOUT: "TIMEOUT", EVENT_STOP: "STOP"}


@dataclasses.dataclass(frozen=True)
class SimEvent:
    """An episode event, ROS-free (the node turns it into hint_msgs/EpisodeEvent)."""

    event: int
    time_ns: int
    seed: int
    episode_index: int
    score: float = 0.0
    detail: str = ""


@dataclasses.dataclass
class StepResult:
    """One physics step: the input applied from `start_ns`, the state reached at `time_ns`."""

    start_ns: int
    applied_input: np.ndarray
    used_safe_input: bool
    time_ns: int
    state: np.ndarray
    info: StepInfo
    events: list[SimEvent]


class Simulation:
    """An Env with a simulated clock, a held command with timeout and episode events (no ROS)."""

    def __init__(
        self, env: Env, *, command_timeout: float = 0.1, safe_mode: str | None = None, auto_reset: bool = True,
        reset_hold: float = 0.0,
    ) -> None:
        if not (command_timeout > 0 and math.isfinite(command_timeout)):
            raise ValueError(f"command_timeout must be finite and > 0, got {command_timeout}")
        if not (reset_hold >= 0.0 and math.isfinite(reset_hold)):
            raise ValueError(f"reset_hold must be finite and >= 0, got {reset_hold}")
        self.reset_hold_ns = round(reset_hold * NS)
        self._start_ns = 0
        self.env = env
        self.period_ns = round(env.physics_period * NS)
        self.command_timeout_ns = round(command_timeout * NS)
        self.safe_mode = SafeMode(safe_mode) if safe_mode else default_safe_mode(env.model)
        env.model.safe_input(np.zeros(env.model.state_dim), self.safe_mode)  # raises if unsupported
        missing = set(env.model.input_names) ^ set(env.input_names)
        if missing:
            raise ValueError(f"{env.name}: model inputs {env.model.input_names} differ from env inputs {env.input_names}")
        self._model_order = [env.model.input_names.index(name) for name in env.input_names]
        self.auto_reset = auto_reset
        self.time_ns = 0
        self.seed = -1
        self.episode_index = -1
        self.running = False
        self.state: np.ndarray | None = None
        self.max_reward = 0.0
        self._command: np.ndarray | None = None
        self._command_received_ns = 0
        self._stepped_since_reset = False

    @property
    def time(self) -> float:
        return self.time_ns / NS

    def reset(self, seed: int) -> list[SimEvent]:
        """Start episode `seed` (a STOP ends a running one); returns the events to publish."""
        events = []
        if self.running:
            events.append(self._end_event(EVENT_STOP, "reset"))
        if self.episode_index >= 0:
            self.time_ns += self.period_ns  # a reset takes one period: stamps stay unique
        self.state = np.asarray(self.env.reset(int(seed)), dtype=float)
        self.seed = int(seed)
        self.episode_index += 1
        self.running = True
        self.max_reward = 0.0
        self._command = None  # commands meant for the previous episode do not carry over
        self._start_ns = self.time_ns
        events.append(SimEvent(EVENT_START, self.time_ns, self.seed, self.episode_index))
        return events

    def stop(self, detail: str = "stopped") -> list[SimEvent]:
        """End the running episode with STOP (e.g. at shutdown)."""
        return [self._end_event(EVENT_STOP, detail)] if self.running else []

    def set_command(self, names: Sequence[str], values: Sequence[float]) -> str | None:
        """Hold a new command; returns why it was rejected (then the old one stays), else None."""
        names = list(names)
        values = np.asarray(values, dtype=float)
        if len(names) != len(values):
            return f"{len(names)} names for {len(values)} values"
        if len(set(names)) != len(names) or set(names) != set(self.env.input_names):
            return f"input names {names} do not match {list(self.env.input_names)}"
        ordered = values[[names.index(name) for name in self.env.input_names]]
        if not np.all(np.isfinite(ordered)):
            return f"non-finite input values {ordered.tolist()}"
        if self.running and self.time_ns - self._start_ns < self.reset_hold_ns:
            return None  # may have been computed before the reset: dropped (not an error)
        self._command = ordered
        self._command_received_ns = self.time_ns
        return None

    def current_input(self) -> tuple[np.ndarray, bool]:
        """The input for the next step (env input order) and whether it is the safe input."""
        assert self.state is not None
        fresh = self._command is not None and self.time_ns - self._command_received_ns <= self.command_timeout_ns
        if fresh:
            u_model = np.asarray(self._command)[np.argsort(self._model_order)]
        else:
            u_model = self.env.model.safe_input(self.env.controlled_state(self.state), self.safe_mode)
        # Commands are applied as received (limits are the controller's job, physics the env's).
        return np.asarray(u_model, dtype=float)[self._model_order], not fresh

    def step(self) -> StepResult | None:
        """One physics step of the running episode (None when no episode runs: time still advances)."""
        if not self.running:
            self.time_ns += self.period_ns
            return None
        start_ns = self.time_ns
        u, safe = self.current_input()
        state, info = self.env.step(u)
        self.state = np.asarray(state, dtype=float)
        self.time_ns += self.period_ns
        self.max_reward = max(self.max_reward, float(info.reward))
        events = []
        if info.done:
            kind = EVENT_COLLISION if info.collision else EVENT_SUCCESS if info.success else EVENT_TIMEOUT
            events.append(self._end_event(kind, ""))
            if self.auto_reset:
                events += self.reset(self.seed + 1)
        return StepResult(start_ns, u, safe, start_ns + self.period_ns, state, info, events)

    def _end_event(self, kind: int, detail: str) -> SimEvent:
        """Score: 1 on SUCCESS, 0 on COLLISION, else the episode's best reward (PushT: max coverage reward)."""
        self.running = False
        score = {EVENT_SUCCESS: 1.0, EVENT_COLLISION: 0.0}.get(kind, self.max_reward)
        return SimEvent(kind, self.time_ns, self.seed, self.episode_index, score, detail)
