"""From demonstrations to HINT training samples (Algorithm 1 of Block et al. 2023).

Time grid. Demos are recorded at the physics period: states x_0..x_T (``demo.states``, T+1 rows)
and inputs u_0..u_{T-1} (``demo.inputs``), u_t being applied during the step from x_t to x_{t+1}.
Knots lie every ``k = control_stride`` physics steps; with phase p (0 <= p < phases) knot j is
physics step ``s_j = p + j k`` and the knots of a demo are all s_j < T (each has an input).

Primitive controllers (synthesis oracle). ``synthesize(model_states, inputs) -> gains (T, m, n)``
is called once per demo on the full physics-rate trajectory of the controlled subsystem
(``model_states`` = the demo's columns named ``model.state_names``, shape (T+1, n)). The
primitive of knot j is ``x_ref = model_states[s_j]``, ``u_ff = inputs[s_j]``, ``K = gains[s_j]``.

Observation chunk o_h at knot h: the ``obs_steps`` (tau_obs) knots h - tau_obs + 1 .. h, oldest
first. Each row is ``[full state x_{s_i}, previous input u_{s_i - 1}]``: the state observed at
knot i and the low-level input applied during the physics step that led to it (the input of
knot i's own step is not yet known when o_h is formed; for s_i = 0 there is none and it is 0).
``obs_states`` narrows the state to the named coordinates and ``obs_previous_input = False``
drops the input (a policy that sees its own last input can learn to copy it instead of reading
the scene). State coordinates named in ``obs_angles`` (angles that wrap, e.g. PushT's unwrapped block angle)
are observed as their cosine in place and their sine appended after the state, so the same
physical pose gives the same observation (:func:`observation_features`).
Rows before the first knot are padding: zeros in raw units (``obs_padding="zero"``, Algorithm 1)
or copies of the first row (``"repeat"``). Inference (:mod:`hint_policy.inference`) pads the
same way.

Composite action a_h: primitives of knots h .. h + tau_chunk - 1, each flattened as
``[x_ref (n), u_ff (m), K row-major (m n)]`` (``action_content="primitives"``), ``[u_ff]``
(``"feedforward"``, the no-gains baseline) or ``[target (m)]`` (``"servo_targets"``, Diffusion
Policy's action: the position target of the model's own servo law, e.g. gym-pusht's PD; executed
as x_ref = (target, 0), u_ff = 0, K = the servo's fixed gains, no learned or synthesized gains). Knots past the demo's last knot repeat the last
primitive (end padding, as in Diffusion Policy).

Noise augmentation (replica policy): observations are normalized to [-1, 1] per coordinate
(:class:`MinMaxNormalizer`, fitted on the real, non-padded rows) and then perturbed by sigma
times a unit draw of ``noise_law`` (:mod:`hint_policy.observation_noise`) over the whole chunk,
padding included. ``noise_mode="fixed"`` materializes ``noise_draws`` (N_aug) unit draws per
sample once, from ``noise_seed``, so the dataset has N * N_aug items (Algorithm 1); the same unit
draws serve every sigma. ``"fresh"`` draws new noise each time a sample is used (N items). With
sigma = 0 there is one item per sample.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from hint_controller.dynamics import make_model
from hint_controller.dynamics.base import DynamicsModel
from hint_controller.names import name_indices
from hint_controller.tvlqr import SynthesisFn, make_synthesis
from hint_policy.config import DataConfig
from hint_policy.demos import Demo, load_demos, select_demos
from hint_policy.lerobot_io import PREFIX, LeRobotColumns, read_lerobot_demos
from hint_policy.normalizer import MinMaxNormalizer
from hint_policy.observation_noise import NOISE_LAWS, unit_noise


def read_demo_files(paths: Sequence[str], lerobot: dict[str, Any] | None = None,
                    required_states: Sequence[str] = (), required_inputs: Sequence[str] = ()) -> list[Demo]:
    """Every demo of the sources `paths` (a training config's ``data.demos``: .npz files, or
    LeRobot datasets as "lerobot:<root or repo id>" read with the ``data.lerobot`` column map;
    `required_*`: the model's names such a dataset must provide), in order."""
    if not paths:
        raise ValueError("data.demos lists no demo files")
    demos: list[Demo] = []
    for path in paths:
        if str(path).startswith(PREFIX):
            demos.extend(read_lerobot_demos(str(path)[len(PREFIX):], LeRobotColumns.from_config(lerobot),
                                            required_states, required_inputs))
        else:
            demos.extend(load_demos(path))
    return demos


def config_demos(data: DataConfig) -> list[Demo]:
    """The demos a data config trains on: its files' demos, filtered and cut as it says (a LeRobot
    dataset among them must provide the names of the config's dynamics model)."""
    required: tuple[Sequence[str], Sequence[str]] = ((), ())
    if data.dynamics and any(str(path).startswith(PREFIX) for path in data.demos):
        model = data_model(data)
        required = (model.state_names, model.input_names)
    return select_demos(read_demo_files(data.demos, data.lerobot, *required), data.only_successful, data.num_demos)


def data_model(data: DataConfig, period: float = 0.01) -> DynamicsModel:
    """The dynamics model a data config names (with its options), discretized at `period`."""
    return make_model(data.dynamics, period=period, **data.dynamics_options)


def model_and_synthesis(data: DataConfig, period: float) -> tuple[DynamicsModel, SynthesisFn | None]:
    """The dynamics model (at the demos' `period`) and synthesis oracle a data config names."""
    model = data_model(data, period)
    return model, make_synthesis(model, data.synthesis, data.synthesis_options)


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
    obs_angle_names: tuple[str, ...] = ()  # observed as (cos, sin); absent in older checkpoints
    #: the states a policy observes (a subset of obs_state_names, in that order); () = all
    obs_feature_names: tuple[str, ...] = ()
    #: whether the previous input is part of each observation row (older checkpoints: always)
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
    def control_period(self) -> float:
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
class Primitives:
    """Per-physics-step primitive controllers of one demo."""

    x_ref: np.ndarray  # (T, n)
    u_ff: np.ndarray  # (T, m)
    gains: np.ndarray  # (T, m, n)


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


def demo_primitives(
    demo: Demo, model: DynamicsModel, synthesize: SynthesisFn | str | None
) -> Primitives:
    """Primitive controllers at every physics step of `demo` (gains 0 when `synthesize` is None;
    "servo_targets": the model's servo targets in place of u_ff, gains 0)."""
    model_states = demo.select_states(model.state_names)
    inputs = demo.inputs[:, name_indices(demo.input_names, model.input_names)]
    steps, n, m = len(inputs), len(model.state_names), len(model.input_names)
    if synthesize == "servo_targets":
        servo = getattr(model, "servo_targets", None)
        if servo is None:
            raise ValueError(f"data.action_content servo_targets needs a model with a servo law; {model.name!r} has none")
        zeros = np.zeros((steps, m, n))
        return Primitives(x_ref=model_states[:-1].copy(), u_ff=servo(model_states[:-1], inputs), gains=zeros)
    if synthesize is None:
        gains = np.zeros((steps, m, n))
    else:
        gains = np.asarray(synthesize(model_states, inputs), dtype=float)
        if gains.shape != (steps, m, n):
            raise ValueError(f"synthesis returned gains of shape {gains.shape}, expected {(steps, m, n)}")
        if not np.all(np.isfinite(gains)):
            raise ValueError(f"synthesis returned non-finite gains for demo seed {demo.seed}")
    return Primitives(x_ref=model_states[:-1].copy(), u_ff=inputs.copy(), gains=gains)


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
    """Every (observation chunk, composite action) pair of `demos`, in raw units."""
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
        servo_gains=tuple(np.ravel(model.servo_gains())) if config.action_content == "servo_targets" else (),
    )
    synthesis = {"primitives": synthesize, "feedforward": None, "servo_targets": "servo_targets"}[config.action_content]
    columns: dict[str, list] = {k: [] for k in ("obs", "obs_real", "actions", "demo", "step")}
    for index, demo in enumerate(demos):
        _check_compatible(demo, first)
        primitives = demo_primitives(demo, model, synthesis)
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


def _check_compatible(demo: Demo, first: Demo) -> None:
    if demo.state_names != first.state_names or demo.input_names != first.input_names:
        raise ValueError("all demos must have the same state and input names")
    if not np.isclose(demo.period, first.period):
        raise ValueError(f"all demos must share one period, got {demo.period} and {first.period}")


@dataclasses.dataclass
class Normalizers:
    """Observation and action scaling, and which action coordinates a model learns.

    Action coordinates that are constant over the training data (gain entries that are always
    zero, or all equal when the gains are time-invariant) carry no information: the denoiser
    learns only the others (:attr:`learned_action_dim`), and :meth:`decode_actions` fills the
    constant ones back in. Noise prediction on a constant coordinate is not free: the denoiser
    would have to output a_noisy / sqrt(1 - alpha_bar_k), unbounded at small k.
    """

    obs: MinMaxNormalizer
    action: MinMaxNormalizer

    @property
    def learned_action_dim(self) -> int:
        return int((~self.action.constant).sum())

    def encode_actions(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw actions (..., D) -> normalized learned coordinates (..., learned_action_dim)."""
        return self.action.normalize(raw)[..., ~self.action.constant]

    def decode_actions(self, learned: np.ndarray) -> np.ndarray:
        """Normalized learned coordinates (..., learned_action_dim) -> raw actions (..., D)."""
        learned = np.asarray(learned, dtype=np.float64)
        full = np.zeros(learned.shape[:-1] + (self.action.dim,))
        full[..., ~self.action.constant.numpy()] = learned
        return self.action.unnormalize(full)

    def state_dict(self) -> dict:
        return {"obs": self.obs.state_dict(), "action": self.action.state_dict()}

    @classmethod
    def from_state_dict(cls, state: dict) -> Normalizers:
        return cls(MinMaxNormalizer.from_state_dict(state["obs"]),
                   MinMaxNormalizer.from_state_dict(state["action"]))


def fit_normalizers(chunks: ChunkArrays) -> Normalizers:
    """Observation normalizer on the real (non-padding) rows, action normalizer on all knots."""
    return Normalizers(
        obs=MinMaxNormalizer.fit(chunks.obs[chunks.obs_real]),
        action=MinMaxNormalizer.fit(chunks.actions),
    )


class HintDataset(torch.utils.data.Dataset):
    """Normalized, noise-augmented samples; items are dicts ``{"obs", "action"}`` of float32.

    ``obs`` is the noised normalized observation chunk (obs_steps, obs_dim), ``action`` the
    normalized composite action's learned coordinates (chunk_length, learned_action_dim). :meth:`get_batch` gathers many items
    at once (what the training loop uses).
    """

    def __init__(
        self,
        chunks: ChunkArrays,
        normalizers: Normalizers,
        sigma: float,
        noise_draws: int = 1,
        noise_mode: str = "fixed",
        noise_seed: int = 0,
        noise_law: str = "gaussian",
    ) -> None:
        if sigma < 0 or noise_draws < 1 or noise_mode not in ("fixed", "fresh") or noise_law not in NOISE_LAWS:
            raise ValueError(f"need sigma >= 0, noise_draws >= 1, noise_mode 'fixed' or 'fresh', "
                             f"noise_law one of {', '.join(NOISE_LAWS)}")
        self.normalizers = normalizers
        self.sigma = float(sigma)
        self.noise_mode = noise_mode
        self.noise_law = noise_law
        self.clean_obs = normalizers.obs.normalize(torch.as_tensor(chunks.obs, dtype=torch.float32))
        self.actions = normalizers.encode_actions(torch.as_tensor(chunks.actions, dtype=torch.float32))
        self.num_samples = len(self.clean_obs)
        self.draws = noise_draws if (noise_mode == "fixed" and self.sigma > 0) else 1
        self.unit_noise: torch.Tensor | None = None
        if noise_mode == "fixed" and self.sigma > 0:
            generator = torch.Generator().manual_seed(noise_seed)
            self.unit_noise = unit_noise(
                (self.num_samples, self.draws) + tuple(self.clean_obs.shape[1:]), noise_law, generator
            )

    @classmethod
    def from_config(
        cls, chunks: ChunkArrays, normalizers: Normalizers, config: DataConfig
    ) -> HintDataset:
        return cls(chunks, normalizers, config.sigma, config.noise_draws, config.noise_mode, config.noise_seed,
                   config.noise_law)

    def __len__(self) -> int:
        return self.num_samples * self.draws

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        batch = self.get_batch(torch.tensor([index]))
        return {key: value[0] for key, value in batch.items()}

    def get_batch(
        self, indices: torch.Tensor, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Items `indices` (item i = sample i // draws with noise draw i % draws)."""
        indices = torch.as_tensor(indices, dtype=torch.long)
        if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= len(self)):
            raise IndexError(f"dataset index out of range [0, {len(self)})")
        sample, draw = indices // self.draws, indices % self.draws
        obs = self.clean_obs[sample]
        if self.sigma > 0:
            if self.unit_noise is not None:
                noise = self.unit_noise[sample, draw]
            else:
                noise = unit_noise(obs.shape, self.noise_law, generator)
            obs = obs + self.sigma * noise
        return {"obs": obs, "action": self.actions[sample]}
