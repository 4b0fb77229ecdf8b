"""Scripted experts as sources of composite actions (ROS-free core of the expert node).

An expert (PushT's push planner, the quadrotor's and the arm's trajectory + TVLQR experts of
:mod:`hint_policy.experts`) drives the system through the same controller as the learned policy: every few knots
:class:`ExpertChunker` takes the measured full state, rolls the expert forward from it on a
private copy of the environment for one chunk (``chunk_length`` knots of ``control_stride`` physics
steps), synthesizes TVLQR gains along that predicted trajectory with the training data's own
code (:func:`hint_policy.training_data.synthesis.demo_primitives`) and packs the primitive controllers at the
knots into a :class:`~hint_controller.composite_action.CompositeAction`:

    knot k = (x_ref = x_{k s}, u_ff = u_{k s}, K = K_{k s}),  s = control_stride (the env's by default)

which is exactly the composite action a perfect imitation of the expert's demos would output.

Experts are streaming objects (:class:`StreamingExpert`): ``start(state, seed)`` begins an episode
from its first measured state and returns the expert's memory (its plan); ``act(memory, state)``
returns one physics step's input and advances the memory. The chunker keeps a copy of the memory
after every rolled-out step, so when the next chunk is due it resumes the expert from the step
matching the time elapsed since the previous chunk, but from the newly measured state.

Experts are found by environment name in :data:`EXPERTS` (:func:`register_expert` adds one).
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from hint_controller.composite_action import CompositeAction, chunk_from_knots
from hint_controller.executor import default_safe_mode
from hint_controller.names import name_indices
from hint_controller.tvlqr import TVLQRConfig
from hint_policy.demos import Demo
from hint_policy.envs import make_env
from hint_policy.envs.base import Env
from hint_policy.training_data.synthesis import Primitives, demo_primitives


class StreamingExpert(Protocol):
    """An expert that acts one physics step at a time from the measured full state."""

    def start(self, state: np.ndarray, seed: int) -> Any:
        """Begin an episode at `state`; return the expert's memory (copyable with copy.deepcopy)."""

    def act(self, memory: Any, state: np.ndarray) -> np.ndarray:
        """The input for one physics step at full `state` (env input order); advances `memory`."""


@dataclasses.dataclass(frozen=True)
class ExpertSpec:
    """How to build an environment's expert and how to put a copy of the env at a measured state."""

    make_expert: Callable[[Env], StreamingExpert]  # called with the chunker's private env copy
    place: Callable[[Env, np.ndarray], None]  # set the env copy to a full measured state


def _pusht_expert(env: Env) -> StreamingExpert:
    from hint_policy.experts.pusht_expert import PushTExpert

    return PushTExpert()


def _quadrotor_expert(env: Env) -> StreamingExpert:
    from hint_policy.experts.quadrotor_expert import QuadrotorExpert

    return QuadrotorExpert(env)


def _arm_expert(env: Env) -> StreamingExpert:
    from hint_policy.experts.arm_expert import ArmExpert

    return ArmExpert(env)


def _panda_expert(env: Env) -> StreamingExpert:
    from hint_policy.experts.arm_expert import PandaExpert

    return PandaExpert(env)


def _manipulation_expert(env: Env) -> StreamingExpert:
    from hint_policy.experts.manipulation_expert import CanExpert, SquareExpert

    return (CanExpert if env.name == "can" else SquareExpert)(env)


#: environment name -> expert (the experts of hint_policy.experts)
EXPERTS: dict[str, ExpertSpec] = {
    "pusht": ExpertSpec(_pusht_expert, lambda env, state: env.set_state(state)),
    "quadrotor": ExpertSpec(_quadrotor_expert, lambda env, state: env.reset_to(state)),
    "arm": ExpertSpec(_arm_expert, lambda env, state: env.reset_to(state)),
    "panda": ExpertSpec(_panda_expert, lambda env, state: env.reset_to(state)),
    "can": ExpertSpec(_manipulation_expert, lambda env, state: env.reset_to(state)),
    "square": ExpertSpec(_manipulation_expert, lambda env, state: env.reset_to(state)),
}


def register_expert(environment: str, spec: ExpertSpec) -> None:
    """Make `spec` the expert of `environment` (replacing any earlier one)."""
    EXPERTS[environment] = spec


def expert_spec(environment: str) -> ExpertSpec:
    """The registered expert of `environment`; "module:function" names a function returning an ExpertSpec."""
    if environment in EXPERTS:
        return EXPERTS[environment]
    if ":" in environment:
        module_name, _, function = environment.partition(":")
        return getattr(importlib.import_module(module_name), function)()
    raise ValueError(f"no expert for environment {environment!r}; experts exist for {sorted(EXPERTS)}")


@dataclasses.dataclass(frozen=True)
class ChunkerConfig:
    """Chunk shape and synthesis weights."""

    chunk_length: int = 16  # knots per composite action (the policies' chunk length)
    control_stride: int = 0  # physics steps per knot; 0 = the env's control stride
    tvlqr: TVLQRConfig = dataclasses.field(default_factory=TVLQRConfig)


@dataclasses.dataclass(frozen=True)
class ExpertChunk:
    """A composite action and the expert rollout it was built from."""

    action: CompositeAction
    states: np.ndarray  # (steps + 1, full state) predicted by the rollout
    inputs: np.ndarray  # (steps, m) the expert's inputs along it
    resumed_step: int  # rollout step of the previous chunk the expert resumed from (0 for the first)


class ExpertChunker:
    """Turns measured states into composite actions of an environment's expert."""

    def __init__(self, environment: str, config: ChunkerConfig | None = None, env: Env | None = None) -> None:
        self.config = config or ChunkerConfig()
        if self.config.chunk_length < 1 or self.config.control_stride < 0:
            raise ValueError(f"need chunk_length >= 1 and control_stride >= 0, got {self.config}")
        spec = expert_spec(environment)
        self.env = env if env is not None else make_env(environment)
        self.env.reset(0)  # builds the simulator's bodies; rollouts then place them at measured states
        self.expert = spec.make_expert(self.env)
        self._place = spec.place
        self.model = self.env.model
        self.control_stride = self.config.control_stride or self.env.control_stride
        self.knot_period = self.control_stride * self.env.physics_period
        self.rollout_steps = self.config.chunk_length * self.control_stride
        self._model_inputs = name_indices(self.env.input_names, self.model.input_names)
        self._synthesize = self.config.tvlqr.synthesis(self.model)
        self.seed = -1
        self.sequence = 0
        self._memory: Any = None
        self._snapshots: list[Any] = []  # expert memory after each step of the last rollout
        self._last_time: float | None = None  # time of the last chunk's knot 0

    @property
    def started(self) -> bool:
        return self._memory is not None

    def start(self, state: np.ndarray, seed: int) -> None:
        """Begin an episode: the expert plans from `state` (may take a while, e.g. the quadrotor's)."""
        self._memory = self.expert.start(np.asarray(state, dtype=float), int(seed))
        self.seed = int(seed)
        self._snapshots = []
        self._last_time = None

    def chunk(self, state: np.ndarray, time: float) -> ExpertChunk:
        """The composite action starting at `time` [s] from the measured full `state`."""
        if self._memory is None:
            raise RuntimeError("call start() before chunk()")
        state = np.asarray(state, dtype=float)
        if state.shape != (len(self.env.state_names),) or not np.all(np.isfinite(state)):
            raise ValueError(f"state must be {len(self.env.state_names)} finite values {self.env.state_names}")
        resumed = 0
        if self._last_time is not None and self._snapshots:
            elapsed = round((time - self._last_time) / self.env.physics_period)
            if elapsed < 0:
                raise ValueError(f"time {time} is before the previous chunk's {self._last_time}")
            resumed = min(elapsed, len(self._snapshots) - 1)
            self._memory = copy.deepcopy(self._snapshots[resumed])
        states, inputs = self._rollout(state)
        primitives = self.primitives(states, inputs)
        action = self._pack(primitives.x_ref, primitives.u_ff, primitives.gains, time)
        self._last_time = float(time)
        return ExpertChunk(action, states, inputs, resumed)

    def hold(self, state: np.ndarray, time: float) -> CompositeAction:
        """A chunk that holds the measured controlled state (for use while the expert plans).

        x_ref is the state itself at every knot (episodes start at rest), u_ff the model's hold
        input there (its default safe input: 0 for PushT's agent, hover thrust, gravity
        compensation), K the TVLQR gains along that constant trajectory. It replaces a chunk left
        over from the previous episode, which the controller would otherwise keep tracking.
        """
        x = self.env.controlled_state(np.asarray(state, dtype=float))
        u = np.asarray(self.model.safe_input(x, default_safe_mode(self.model)), dtype=float)
        states = np.repeat(x[None], self.rollout_steps + 1, axis=0)
        inputs = np.repeat(u[None], self.rollout_steps, axis=0)
        return self._pack(states[:-1], inputs, self._synthesize(states, inputs), time)

    def _pack(self, x_ref: np.ndarray, u_ff: np.ndarray, gains: np.ndarray, time: float) -> CompositeAction:
        """The next-numbered chunk of `chunk_length` knots, every `control_stride` steps of a rollout."""
        self.sequence += 1
        return chunk_from_knots(x_ref, u_ff, gains, knot_period=self.knot_period, start_time=time,
                                state_names=self.model.state_names, input_names=self.model.input_names,
                                sequence=self.sequence, knots=self.config.chunk_length, stride=self.control_stride)

    def warm_up(self) -> None:
        """Plan one chunk from the env's seed-0 start and forget it: pays the one-time costs
        (imports, solver set-up) before the first real chunk is due."""
        state = self.env.reset(0)
        self.start(state, 0)
        self.chunk(state, 0.0)
        self._memory, self._snapshots, self._last_time, self.sequence, self.seed = None, [], None, 0, -1

    def primitives(self, states: np.ndarray, inputs: np.ndarray) -> Primitives:
        """Per-step primitive controllers along a rollout, as the training data builds them."""
        env = self.env
        demo = Demo(states=states, inputs=inputs, period=env.physics_period, state_names=env.state_names,
                    input_names=env.input_names, env=env.name, seed=self.seed, source="expert")
        return demo_primitives(demo, self.model, self._synthesize)

    def _rollout(self, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Step the expert on the env copy from `state`; keep its memory after every step."""
        self._place(self.env, state)
        states, inputs = [state], []
        self._snapshots = [copy.deepcopy(self._memory)]
        x = state
        for _ in range(self.rollout_steps):
            u = np.asarray(self.expert.act(self._memory, x), dtype=float).copy()
            u[self._model_inputs] = self.model.clamp(u[self._model_inputs])  # as the env applies it
            x, _ = self.env.step(u)
            states.append(np.asarray(x, dtype=float))
            inputs.append(u)
            self._snapshots.append(copy.deepcopy(self._memory))
        return np.array(states), np.array(inputs)
