"""Configuration of HINT training, sampling and evaluation: dataclasses with YAML load/save.

A config file is YAML with up to five sections (``data``, ``model``, ``diffusion``, ``train``,
``eval``); missing keys take the defaults below, unknown keys are errors. Command-line overrides
use dotted keys, their values parsed as YAML: ``--set train.lr=3e-4 data.sigma=0.1``.

Paper notation (Block et al. 2023, Algorithm 1): ``obs_steps`` = tau_obs, ``chunk_length`` =
tau_chunk, ``sigma`` = sigma, ``noise_draws`` = N_aug.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import typing
from pathlib import Path
from typing import Any

import yaml

from hint_controller.dynamics import ARM_OPTIONS
from hint_policy.observation_noise import NOISE_LAWS


@dataclasses.dataclass
class DataConfig:
    """Which demos, how they become (observation chunk, composite action) samples, and the noise."""

    #: demo files (.npz written by hint_policy.demos.save_demos) or LeRobot datasets
    #: ("lerobot:<root folder or repo id>", hint_policy.lerobot_io); relative paths are taken
    #: relative to the working directory
    demos: list[str] = dataclasses.field(default_factory=list)
    #: how LeRobot datasets in `demos` map to the dynamics model (hint_policy.lerobot_io.LeRobotColumns):
    #: state_key (default observation.state), action_key (default action), rename {dataset name: model name}
    lerobot: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: use only the first `num_demos` (after the success filter); null = all
    num_demos: int | None = None
    only_successful: bool = True
    #: dynamics model of the controlled subsystem: a name of hint_controller.dynamics.make_model
    #: ("pusht_agent", "planar_quadrotor", ...) or "module:callable" returning a DynamicsModel
    dynamics: str = ""
    #: options of an arm model (hint_controller.dynamics.ARM_OPTIONS): urdf_path (a file or a
    #: robot name such as "panda"), joints, and the servo response (natural_frequency, damping of
    #: position_servo; time_constant of velocity_servo), as the robot's identification gave them
    dynamics_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: synthesis oracle for the gains (hint_controller.tvlqr): "tvlqr", "per_step_lqr" (an
    #: infinite-horizon LQR of each step's linearization, the HINT authors' quadrotor choice) or
    #: "none" (all zero)
    synthesis: str = "tvlqr"
    #: keyword arguments of the synthesis oracle: hint_controller.tvlqr.TVLQRConfig's q_diag,
    #: r_diag, qf_diag (lists; missing = the model's defaults)
    synthesis_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: knots every `control_stride` physics steps (PushT 10, quadrotor 5)
    control_stride: int = 10
    #: tau_obs: observed knots (current one included)
    obs_steps: int = 2
    #: tau_chunk: primitive controllers per composite action
    chunk_length: int = 16
    #: "primitives" = (x_ref, u_ff, K) per knot; "feedforward" = u_ff only (the no-gains
    #: baseline: executed with K = 0 and x_ref = 0); "servo_targets" = position targets of the
    #: model's servo law (Diffusion Policy's PushT action, gym-pusht's PD; no synthesized gains)
    action_content: str = "primitives"
    #: observations before the first knot: "zero" (Algorithm 1) or "repeat" (copy of the first)
    obs_padding: str = "zero"
    #: state names that are angles which wrap (PushT's block_theta, a continuous joint): observed
    #: as (cos, sin), so poses 2 pi apart look the same; the gains and x_ref keep the raw angle
    obs_angles: list[str] = dataclasses.field(default_factory=list)
    #: the state names a policy observes (empty = every state of the demos); e.g. PushT's
    #: positions without the agent velocity
    obs_states: list[str] = dataclasses.field(default_factory=list)
    #: observe the input applied in the physics step before each observed state
    obs_previous_input: bool = True
    #: number of knot-grid phases used as samples (1 = knots at steps 0, k, 2k, ...; up to k =
    #: every physics step starts a grid, k times the samples)
    phases: int = 1
    #: sigma: scale of the observation noise in normalized observation space
    sigma: float = 0.0
    #: law of the observation noise (hint_policy.observation_noise): "gaussian" = N(0, sigma^2 I)
    #: (the paper's Algorithm 1); "uniform" = U[0, sigma) per coordinate (the HINT authors' code)
    noise_law: str = "gaussian"
    #: N_aug: noise draws per sample
    noise_draws: int = 1
    #: "fixed" = N_aug draws materialized once (Algorithm 1); "fresh" = a new draw each time a
    #: sample is used (N_aug ignored)
    noise_mode: str = "fixed"
    noise_seed: int = 0


@dataclasses.dataclass
class ModelConfig:
    """The denoiser eps_theta(a_noisy, k, o_noised)."""

    #: "unet" (1-D temporal convolution U-Net with FiLM) or "mlp" (residual MLP with FiLM)
    denoiser: str = "unet"
    step_embed_dim: int = 64
    unet_channels: list[int] = dataclasses.field(default_factory=lambda: [48, 96, 192])
    unet_kernel_size: int = 5
    unet_groups: int = 8
    mlp_hidden: int = 512
    mlp_blocks: int = 4


@dataclasses.dataclass
class DiffusionConfig:
    """The DDPM: noise schedule and its number of diffusion timesteps."""

    train_steps: int = 100
    beta_schedule: str = "squaredcos_cap_v2"
    #: clip the predicted clean action to [-1, 1] during sampling
    clip_sample: bool = True
    #: noise of each DDIM step, 0 (deterministic) to 1 (ancestral); see hint_policy.diffusion.ddpm
    ddim_eta: float = 1.0
    #: what the network predicts: "epsilon" (the noise, Ho et al.) or "sample" (the clean action)
    prediction: str = "epsilon"


@dataclasses.dataclass
class TrainConfig:
    """Optimization, checkpoints and logging."""

    steps: int = 20000
    #: global batch, split evenly over DDP processes
    batch_size: int = 256
    lr: float = 1e-4
    weight_decay: float = 1e-6
    adam_betas: list[float] = dataclasses.field(default_factory=lambda: [0.95, 0.999])
    warmup_steps: int = 500
    #: after the warm-up: "cosine" (decay to 0 at `steps`, Diffusion Policy's) or "constant"
    lr_schedule: str = "cosine"
    #: gradient norm clip; 0 = none
    grad_clip: float = 0.0
    ema_power: float = 0.75
    ema_max_decay: float = 0.9999
    seed: int = 0
    #: "auto" (CUDA when present, else CPU), "cpu", "cuda", "cuda:1", ...
    device: str = "auto"
    #: torch intra-op threads on CPU; 0 = torch's default
    threads: int = 0
    out_dir: str = "outputs/train"
    checkpoint_every: int = 1000
    #: also keep step_<n>.pt copies of periodic checkpoints (else only latest.pt)
    keep_checkpoints: bool = False
    log_every: int = 50
    progress: bool = True


@dataclasses.dataclass
class EvalConfig:
    """Periodic closed-loop evaluation during training (0 = off); see hint_policy.evaluate."""

    every_steps: int = 0
    env: str = ""
    episodes: int = 10
    first_seed: int = 100000
    #: explicit episode seeds (replace first_seed / episodes when given), e.g. the demos' own
    #: seeds for an overfit check
    seeds: list[int] = dataclasses.field(default_factory=list)
    #: keep the checkpoints of the `keep_best` best evaluations (checkpoints/best_step_<n>.pt,
    #: and the best one as checkpoints/best.pt), as Diffusion Policy keeps its top-k; 0 = none
    keep_best: int = 3
    #: knots executed from each composite action before the next one is requested
    exec_knots: int = 8
    #: observation noise at evaluation; null = the training sigma
    sigma: float | None = None
    sampler: str = "ddim"
    sampler_steps: int = 10


@dataclasses.dataclass
class HintConfig:
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = dataclasses.field(default_factory=DiffusionConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)

    def validate(self) -> None:
        """Raise ValueError on inconsistent settings."""
        d = self.data
        _check(d.control_stride >= 1, "data.control_stride must be >= 1")
        _check(d.obs_steps >= 1, "data.obs_steps must be >= 1")
        _check(d.chunk_length >= 1, "data.chunk_length must be >= 1")
        _check(1 <= d.phases <= d.control_stride, "data.phases must be in [1, control_stride]")
        _check(d.action_content in ("primitives", "feedforward", "servo_targets"),
               "data.action_content must be 'primitives', 'feedforward' or 'servo_targets'")
        _check(d.obs_padding in ("zero", "repeat"), "data.obs_padding must be 'zero' or 'repeat'")
        _check(d.sigma >= 0, "data.sigma must be >= 0")
        _check(d.noise_draws >= 1, "data.noise_draws must be >= 1")
        _check(d.noise_mode in ("fixed", "fresh"), "data.noise_mode must be 'fixed' or 'fresh'")
        _check(d.noise_law in NOISE_LAWS, f"data.noise_law must be one of {', '.join(NOISE_LAWS)}")
        _check(set(d.dynamics_options) <= set(ARM_OPTIONS),
               f"data.dynamics_options may only name {', '.join(ARM_OPTIONS)}; got {sorted(d.dynamics_options)}")
        _check(d.synthesis in ("tvlqr", "per_step_lqr", "none"), "data.synthesis must be 'tvlqr', 'per_step_lqr' or 'none'")
        _check(self.model.denoiser in ("unet", "mlp"), "model.denoiser must be 'unet' or 'mlp'")
        _check(len(self.model.unet_channels) >= 1, "model.unet_channels must not be empty")
        _check(self.diffusion.train_steps >= 2, "diffusion.train_steps must be >= 2")
        _check(self.diffusion.prediction in ("epsilon", "sample"), "diffusion.prediction must be epsilon or sample")
        _check(self.eval.sampler in ("ddpm", "ddim"), "eval.sampler must be ddpm or ddim")
        t = self.train
        _check(t.steps >= 0 and t.batch_size >= 1, "train.steps >= 0 and train.batch_size >= 1")
        _check(t.lr > 0 and t.warmup_steps >= 0, "train.lr > 0 and train.warmup_steps >= 0")
        _check(len(t.adam_betas) == 2, "train.adam_betas needs two values")
        _check(t.lr_schedule in ("cosine", "constant"), "train.lr_schedule must be cosine or constant")


class UnknownConfigKey(KeyError, ValueError):
    """A config key (file or --set) that names no field: a KeyError for the code that reads
    configs, a ValueError for the commands, which print it as one line and exit with status 2."""

    def __str__(self) -> str:  # KeyError's own would quote the message
        return str(self.args[0]) if self.args else ""


class ConfigTypeError(TypeError, ValueError):
    """A config value of the wrong type (a TypeError; a ValueError for the commands, as above)."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict (YAML- and weights_only-safe) of a config dataclass."""
    return dataclasses.asdict(config)


def config_from_dict(cls: type, values: dict[str, Any] | None, where: str = "") -> Any:
    """Build dataclass `cls` from nested `values`; unknown keys raise :class:`UnknownConfigKey`
    naming them and the closest known key of their section."""
    values = dict(values or {})
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        described = []
        for key in unknown:
            close = difflib.get_close_matches(str(key), known, n=1)
            described.append(where + str(key) + (f" (did you mean {where + close[0]}?)" if close else ""))
        raise UnknownConfigKey(f"unknown config key{'s' if len(unknown) > 1 else ''} {', '.join(described)}")
    kwargs = {}
    for name, value in values.items():
        field_type = hints[name]
        if dataclasses.is_dataclass(field_type):
            if not isinstance(value, dict):
                raise ConfigTypeError(f"config section {where + name} must be a mapping")
            value = config_from_dict(field_type, value, where=f"{where}{name}.")
        kwargs[name] = _coerce_number(value, field_type, where + name)
    return cls(**kwargs)


def _coerce_number(value: Any, field_type: Any, name: str) -> Any:
    """Floats written as YAML 1.1 leaves them (``1e-3`` is a string there) or as ints become floats."""
    if field_type is float and isinstance(value, (str, int)) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            raise ConfigTypeError(f"config key {name} must be a number, got {value!r}") from None
    if field_type is int and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise ConfigTypeError(f"config key {name} must be an integer, got {value!r}") from None
    return value


def apply_overrides(values: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides (value parsed as YAML) to a nested dict in place."""
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} is not of the form key=value")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        node = values
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {item!r}: {part} is not a section")
        try:
            node[parts[-1]] = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(f"override {item!r}: the value is not valid YAML ({' '.join(str(error).split())}); "
                             "quote the whole override, e.g. \"data.obs_states=[agent_x, agent_y]\"") from None
    return values


def load_config(path: str | os.PathLike | None, overrides: list[str] | None = None) -> HintConfig:
    """Read a YAML config (None = all defaults), apply overrides, validate."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist")
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not valid YAML ({' '.join(str(error).split())})") from None
        if not isinstance(values, dict):
            raise ValueError(f"config file {path} must hold a mapping")
    apply_overrides(values, list(overrides or []))
    config = config_from_dict(HintConfig, values)
    config.validate()
    return config


def save_config(config: HintConfig, path: str | os.PathLike) -> Path:
    """Write `config` as YAML."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False))
    return path
