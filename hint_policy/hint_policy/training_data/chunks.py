"""Stage 3: observation chunks and composite actions at the knots, in raw units (Algorithm 1).

Knots lie every ``k = control_stride`` physics steps; with phase p (0 <= p < phases) knot j is
physics step ``s_j = p + j k`` and the knots of a demo are all s_j < T (each has an input).
Every knot h of every phase of every demo gives one sample (o_h, a_h).

Observation chunk o_h: the ``obs_steps`` (tau_obs) knots h - tau_obs + 1 .. h, oldest first.
Each row is ``[full state x_{s_i}, previous input u_{s_i - 1}]``: the state observed at knot i
and the low-level input applied during the physics step that led to it (the input of knot i's
own step is not yet known when o_h is formed; for s_i = 0 there is none and it is 0).
``obs_states`` narrows the state to the named coordinates and ``obs_previous_input = False``
drops the input (a policy that sees its own last input can learn to copy it instead of reading
the scene). State coordinates named in ``obs_angles`` (angles that wrap, e.g. PushT's unwrapped
block angle) are observed as their cosine in place and their sine appended after the state, so
the same physical pose gives the same observation (:func:`observation_features`). Rows before
the first knot are padding: zeros in raw units (``obs_padding="zero"``, Algorithm 1) or copies
of the first row (``"repeat"``). Inference (:mod:`hint_policy.inference`) pads the same way.

Composite action a_h: the primitives (:mod:`hint_policy.training_data.synthesis`) of knots
h .. h + tau_chunk - 1 (tau_chunk = ``chunk_length``), each flattened as
``[x_ref (n), u_ff (m), K row-major (m n)]`` (``action_content="primitives"``), ``[u_ff]``
(``"feedforward"``, the no-gains baseline) or ``[target (m)]`` (``"servo_targets"``, Diffusion
Policy's action: the position target of the model's own servo law, e.g. gym-pusht's PD; executed
as x_ref = (target, 0), u_ff = 0, K = the servo's fixed gains, no learned or synthesized gains).
Knots past the demo's last knot repeat the last primitive (end padding, as in Diffusion Policy).

:class:`ChunkLayout` records the names, shapes and periods of both (stored in checkpoints).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from hint_controller.dynamics.base import DynamicsModel
from hint_controller.names import name_indices
from hint_controller.tvlqr import SynthesisFn
from hint_policy.config import DataConfig
from hint_policy.demos import Demo
from hint_policy.training_data.synthesis import demo_primitives


@dataclasses.dataclass(frozen=True)
class ChunkLayout:
    """Shapes and names of observation chunks and composite actions (stored in checkpoints)."""

    obs_state_names: tuple[str, ...]  # full observed state
    state_names: tuple[str, ...]  # controlled subsystem (x_ref, K columns)
    input_names: tuple[str, ...]
    obs_steps: int
    chunk_length: int
    action_content: str
    obs_padding: str
    control_stride: int
    physics_period: float
    #: states observed as (cos, sin); () = none (also when a checkpoint lacks the field)
    obs_angle_names: tuple[str, ...] = ()
    #: the states a policy observes (a subset of obs_state_names, in that order); () = all
    obs_feature_names: tuple[str, ...] = ()
    #: whether the previous input is part of each observation row (True when a checkpoint lacks the field)
    obs_previous_input: bool = True
    #: fixed gains (m x n, row-major) that execute "servo_targets" actions; () otherwise
    servo_gains: tuple[float, ...] = ()

    @property
    def observed_state_names(self) -> tuple[str, ...]:
        return self.obs_feature_names or self.obs_state_names

    @property
    def obs_dim(self) -> int:
        inputs = len(self.input_names) if self.obs_previous_input else 0
        return len(self.observed_state_names) + len(self.obs_angle_names) + inputs

    @property
    def action_dim(self) -> int:
        n, m = len(self.state_names), len(self.input_names)
        return n + m + m * n if self.action_content == "primitives" else m

    def unpack(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x_ref, u_ff, gains) of raw action rows (L, action_dim), see :func:`unpack_actions`."""
        return unpack_actions(actions, len(self.state_names), len(self.input_names), self.action_content,
                              self.servo_gains)

    @property
    def knot_period(self) -> float:
        return self.physics_period * self.control_stride

    def to_dict(self) -> dict:
        values = dataclasses.asdict(self)
        for key in _NAME_FIELDS:
            values[key] = list(values[key])
        return values

    @classmethod
    def from_dict(cls, values: dict) -> ChunkLayout:
        values = dict(values)
        for key in _NAME_FIELDS:
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


_NAME_FIELDS = ("obs_state_names", "state_names", "input_names", "obs_angle_names", "obs_feature_names",
                "servo_gains")


@dataclasses.dataclass
class ChunkArrays:
    """All samples in raw units."""

    obs: np.ndarray  # (N, obs_steps, obs_dim)
    obs_real: np.ndarray  # (N, obs_steps) bool: False for padding rows
    actions: np.ndarray  # (N, chunk_length, action_dim)
    demo_index: np.ndarray  # (N,) int
    knot_step: np.ndarray  # (N,) int: physics step of knot h


#: what a composite action's rows hold (data.action_content)
ACTION_CONTENTS = ("primitives", "feedforward", "servo_targets")


def pack_actions(x_ref: np.ndarray, u_ff: np.ndarray, gains: np.ndarray, content: str) -> np.ndarray:
    """Flatten primitives (L, n), (L, m), (L, m, n) into action rows (L, action_dim).

    For "servo_targets", `u_ff` holds the servo targets (L, m) (see :func:`demo_primitives`)."""
    if content in ("feedforward", "servo_targets"):
        return np.asarray(u_ff, dtype=float).copy()
    length = len(x_ref)
    return np.concatenate([x_ref, u_ff, np.reshape(gains, (length, -1))], axis=1)


def unpack_actions(actions: np.ndarray, n: int, m: int, content: str, servo_gains: tuple[float, ...] = ()):
    """Inverse of :func:`pack_actions`: (x_ref, u_ff, gains); feedforward gives x_ref = K = 0,
    servo targets give x_ref = (target, 0), u_ff = 0 and K = `servo_gains`."""
    actions = np.asarray(actions, dtype=float)
    length = actions.shape[0]
    if content == "servo_targets":
        if actions.shape[1] != m or len(servo_gains) != m * n:
            raise ValueError(f"servo targets need {m} columns and {m * n} servo gains")
        x_ref = np.hstack([actions, np.zeros((length, n - m))])
        return x_ref, np.zeros((length, m)), np.broadcast_to(np.reshape(servo_gains, (m, n)), (length, m, n)).copy()
    if content == "feedforward":
        if actions.shape[1] != m:
            raise ValueError(f"feedforward actions need {m} columns, got {actions.shape[1]}")
        return np.zeros((length, n)), actions.copy(), np.zeros((length, m, n))
    if actions.shape[1] != n + m + m * n:
        raise ValueError(f"primitive actions need {n + m + m * n} columns, got {actions.shape[1]}")
    x_ref = actions[:, :n]
    u_ff = actions[:, n : n + m]
    gains = actions[:, n + m :].reshape(length, m, n)
    return x_ref.copy(), u_ff.copy(), gains.copy()


def observation_features(states: np.ndarray, inputs: np.ndarray, layout: ChunkLayout) -> np.ndarray:
    """Observation rows (r, obs_dim) from full states (r, n_full) and previous inputs (r, m).

    A row is the observed states (``layout.observed_state_names``) with each angle of
    ``layout.obs_angle_names`` replaced by its cosine, then the sines of those angles, then the
    input (if ``layout.obs_previous_input``).
    """
    states = np.array(states, dtype=float, ndmin=2)
    observed = layout.observed_state_names
    states = states[:, name_indices(layout.obs_state_names, observed)]
    angles = name_indices(observed, layout.obs_angle_names)
    sines = np.sin(states[:, angles])
    states[:, angles] = np.cos(states[:, angles])
    parts = [states, sines]
    if layout.obs_previous_input:
        parts.append(np.asarray(inputs, dtype=float).reshape(len(states), -1))
    return np.hstack(parts)


def observation_rows(demo: Demo, layout: ChunkLayout) -> np.ndarray:
    """Row t = features of [x_t (full state), u_{t-1} (0 for t = 0)], shape (T+1, obs_dim)."""
    inputs = demo.inputs[:, name_indices(demo.input_names, layout.input_names)]
    previous = np.vstack([np.zeros((1, inputs.shape[1])), inputs])
    return observation_features(demo.states, previous, layout)


def knot_steps(horizon: int, stride: int, phase: int) -> np.ndarray:
    """Physics steps of the knots phase, phase + stride, ... that are < horizon."""
    return np.arange(phase, horizon, stride)


def chunk_step_indices(
    knots: np.ndarray, h: int, obs_steps: int, chunk_length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Physics steps of o_h's rows (-1 = padding) and of a_h's primitives (end-padded)."""
    obs_knots = np.arange(h - obs_steps + 1, h + 1)
    obs = np.where(obs_knots >= 0, knots[np.clip(obs_knots, 0, None)], -1)
    action_knots = np.minimum(np.arange(h, h + chunk_length), len(knots) - 1)
    return obs, knots[action_knots]


def build_chunks(
    demos: Sequence[Demo],
    model: DynamicsModel,
    synthesize: SynthesisFn | None,
    config: DataConfig,
) -> tuple[ChunkArrays, ChunkLayout]:
    """Every (observation chunk, composite action) pair of `demos`, in raw units, and their layout
    (`synthesize` gives the gains of "primitives" actions, see :func:`demo_primitives`)."""
    if not demos:
        raise ValueError("no demos to build a dataset from")
    first = demos[0]
    observed = config.obs_states or list(first.state_names)
    for key, names in (("obs_states", config.obs_states), ("obs_angles", config.obs_angles)):
        unknown = sorted(set(names) - set(observed if key == "obs_angles" else first.state_names))
        if unknown:
            raise ValueError(f"data.{key} names {unknown} that are not observed states of the demos {observed}")
    layout = ChunkLayout(
        obs_state_names=first.state_names,
        state_names=tuple(model.state_names),
        input_names=tuple(model.input_names),
        obs_steps=config.obs_steps,
        chunk_length=config.chunk_length,
        action_content=config.action_content,
        obs_padding=config.obs_padding,
        control_stride=config.control_stride,
        physics_period=float(first.period),
        obs_angle_names=tuple(config.obs_angles),
        obs_feature_names=tuple(config.obs_states),
        obs_previous_input=config.obs_previous_input,
        servo_gains=_servo_gains(model) if config.action_content == "servo_targets" else (),
    )
    columns: dict[str, list] = {k: [] for k in ("obs", "obs_real", "actions", "demo", "step")}
    for index, demo in enumerate(demos):
        _check_compatible(demo, first)
        primitives = demo_primitives(demo, model, synthesize, config.action_content)
        rows = observation_rows(demo, layout)
        packed = pack_actions(primitives.x_ref, primitives.u_ff, primitives.gains, config.action_content)
        for phase in range(config.phases):
            knots = knot_steps(demo.horizon, config.control_stride, phase)
            for h in range(len(knots)):
                obs_idx, action_idx = chunk_step_indices(knots, h, config.obs_steps, config.chunk_length)
                columns["obs"].append(_padded_obs(rows, obs_idx, config.obs_padding))
                columns["obs_real"].append(obs_idx >= 0)
                columns["actions"].append(packed[action_idx])
                columns["demo"].append(index)
                columns["step"].append(knots[h])
    if not columns["obs"]:
        raise ValueError("demos are too short to contain a single knot")
    arrays = ChunkArrays(
        obs=np.stack(columns["obs"]),
        obs_real=np.stack(columns["obs_real"]),
        actions=np.stack(columns["actions"]),
        demo_index=np.asarray(columns["demo"]),
        knot_step=np.asarray(columns["step"]),
    )
    return arrays, layout


def pad_observation(rows: np.ndarray, obs_steps: int, padding: str) -> np.ndarray:
    """Left-pad (or truncate to the latest) `rows` (r, obs_dim) to (obs_steps, obs_dim)."""
    rows = np.asarray(rows, dtype=float)
    if len(rows) >= obs_steps:
        return rows[len(rows) - obs_steps :]
    if len(rows) == 0:
        raise ValueError("at least one observation row is needed")
    missing = obs_steps - len(rows)
    fill = np.zeros((missing, rows.shape[1])) if padding == "zero" else np.repeat(rows[:1], missing, 0)
    return np.vstack([fill, rows])


def _padded_obs(rows: np.ndarray, step_idx: np.ndarray, padding: str) -> np.ndarray:
    real = rows[step_idx[step_idx >= 0]]
    return pad_observation(real, len(step_idx), padding)


def _servo_gains(model: DynamicsModel) -> tuple[float, ...]:
    """The model's servo gains, row-major, as Python floats: a checkpoint's layout holds plain
    values only, so that it loads with ``torch.load(weights_only=True)``."""
    return tuple(float(gain) for gain in np.ravel(model.servo_gains()))


def _check_compatible(demo: Demo, first: Demo) -> None:
    if demo.state_names != first.state_names or demo.input_names != first.input_names:
        raise ValueError("all demos must have the same state and input names")
    if not np.isclose(demo.period, first.period):
        raise ValueError(f"all demos must share one period, got {demo.period} and {first.period}")


