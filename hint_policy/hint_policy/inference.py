"""Run a trained HINT policy: observation chunk in, composite action out (the replica policy).

    policy = HintPolicy.from_checkpoint("outputs/train/checkpoints/latest.pt", sigma=None,
                                        sampler="ddim", sampler_steps=10, device="cpu")
    policy.reset(seed=0)                           # a new episode: empty history, sequence from 1
    policy.observe(state, applied_input)           # at every knot
    action = policy.select_action(start_time)      # when a chunk is due -> CompositeAction

The policy owns its memory, as LeRobot's policies do: the last ``obs_steps`` knot observations,
the chunk it returned last (for the hand-over) and the chunks' sequence numbers (1, 2, ... from
:meth:`ChunkPolicy.reset`). ``begin_episodes(n)`` keeps n such memories side by side for
lockstep evaluation (``observe(..., episode=i)``, ``select_actions(times, episodes)``: one model
pass for all). The stateless ``act(obs_states, obs_inputs, start_time)`` / ``act_batch`` take
the history from the caller instead.

Observations follow :mod:`hint_policy.training_data.chunks`: ``obs_states`` holds the most recent full states
observed at knot times (oldest first, up to ``obs_steps`` rows; fewer at the start of an episode,
then padded like the training data), ``obs_inputs`` the low-level input applied during the
physics step before each of those states (zeros for the episode's first state). The observation
is normalized, perturbed by sigma times a unit draw of the checkpoint's noise law
(:mod:`hint_policy.observation_noise`; sigma = the training sigma unless given; sigma = 0 is a
plain diffusion policy), a composite action is sampled with the EMA weights and
unnormalized. With ``candidates`` K > 1 the policy samples K chunks per observation (each from its
own noise draw) and returns their medoid (:mod:`hint_policy.diffusion.selection`). Knot k of the
result applies from ``start_time + k * knot_period``.

Hand-over. A new chunk takes over at its start time (the time of its observation) and is
time-indexed: the executor enters it at the knot of the current time, so knots already in the
past when it arrives are skipped. ``handover="inpaint"`` (real-time chunking, Black, Galliker,
Levine 2025) also conditions the new chunk on the one executing: given the previous chunk of the
same episode (``act_batch(..., previous=...)``), its knots at the new chunk's times are the
inpainting target (:class:`hint_policy.diffusion.ddpm.Inpainting`) with RTC's soft mask
(:func:`hint_policy.diffusion.ddpm.soft_mask`): the first ``inpaint_frozen`` knots held to it,
the rest of the overlap pulled toward it with decaying weight, none beyond the previous chunk's end
(or beyond ``inpaint_horizon`` knots, when set).
"""

from __future__ import annotations

import collections
import os
from operator import attrgetter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from hint_controller.composite_action import CompositeAction, Interpolation, chunk_from_knots
from hint_policy.checkpoint import load_checkpoint
from hint_policy.config import HintConfig, config_from_dict
from hint_policy.diffusion.ddpm import Inpainting, soft_mask
from hint_policy.diffusion.factory import build_diffusion, build_model
from hint_policy.diffusion.selection import medoid
from hint_policy.observation_noise import unit_noise
from hint_policy.training_data.chunks import ChunkLayout, observation_features, pack_actions, pad_observation
from hint_policy.training_data.normalizers import Normalizers


class PolicyMemory:
    """What a policy remembers between calls, per episode: the last ``obs_steps`` knot observations
    and the chunk it returned last. A policy class supplies ``obs_steps``, ``obs_state_names``,
    ``input_names`` and ``act_batch`` (:class:`ChunkPolicy` does) and calls :meth:`begin_episodes`
    once from its constructor."""

    def begin_episodes(self, count: int = 1) -> None:
        """Start `count` episodes side by side: empty observation histories, no previous chunks.
        Sequence numbers and the random stream carry on."""
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        self._histories = [collections.deque(maxlen=self.obs_steps) for _ in range(count)]
        self._previous: list[CompositeAction | None] = [None] * count

    def observe(self, state: np.ndarray, applied_input: np.ndarray, episode: int = 0) -> None:
        """Add one knot observation to an episode's history: the observed state (``obs_state_names``
        order) and the input applied in the physics step before it (zeros at the episode's start)."""
        state = np.array(state, dtype=float).reshape(-1)
        applied_input = np.array(applied_input, dtype=float).reshape(-1)
        if state.shape != (len(self.obs_state_names),) or applied_input.shape != (len(self.input_names),):
            raise ValueError(f"observe needs {len(self.obs_state_names)} state values {list(self.obs_state_names)} "
                             f"and {len(self.input_names)} inputs, got {state.shape} and {applied_input.shape}")
        self._histories[episode].append((state, applied_input))

    def history(self, episode: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """A copy of an episode's observation history: states (rows, n), inputs (rows, m), oldest first."""
        rows = list(self._histories[episode])
        if not rows:
            raise RuntimeError(f"episode {episode} has no observation yet; call observe() first")
        return np.array([s for s, _ in rows]), np.array([u for _, u in rows])

    def previous_chunk(self, episode: int = 0) -> CompositeAction | None:
        """The chunk returned last for an episode (None before its first)."""
        return self._previous[episode]

    def select_action(self, start_time: float, episode: int = 0,
                      history: tuple[np.ndarray, np.ndarray] | None = None) -> CompositeAction:
        """The next composite action of an episode from its own history (or a `history` snapshot
        taken earlier with :meth:`history`), starting at `start_time`."""
        return self.select_actions([start_time], [episode], None if history is None else [history])[0]

    def select_actions(self, start_times: Sequence[float], episodes: Sequence[int] | None = None,
                       histories: Sequence[tuple[np.ndarray, np.ndarray]] | None = None) -> list[CompositeAction]:
        """The next composite actions of several episodes (default 0, 1, ...) in one model pass."""
        episodes = list(range(len(start_times))) if episodes is None else list(episodes)
        if histories is None:
            histories = [self.history(e) for e in episodes]
        actions = self.act_batch([h[0] for h in histories], [h[1] for h in histories], list(start_times),
                                 previous=[self._previous[e] for e in episodes])
        for episode, action in zip(episodes, actions, strict=True):
            self._previous[episode] = action
        return actions


class ChunkPolicy(PolicyMemory):
    """What every chunk policy shares: observation chunks in, composite actions out.

    Subclasses implement :meth:`raw_actions` (raw observation chunks -> raw composite actions
    (B, chunk_length, action_dim)); this class builds the observation exactly as the training
    data (:mod:`hint_policy.training_data.chunks`) and turns action rows into :class:`CompositeAction` objects
    numbered by :attr:`sequence`. :class:`HintPolicy` samples the trained DDPM;
    :class:`hint_policy.baselines.NearestNeighbourPolicy` looks the action up.
    """

    def __init__(self, layout: ChunkLayout, *, sigma: float = 0.0,
                 interpolation: Interpolation = Interpolation.LINEAR, source: str = "<memory>") -> None:
        self.layout = layout
        self.sigma = float(sigma)
        if self.sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {self.sigma}")
        self.interpolation = Interpolation(interpolation)
        self.source = source
        self.sequence = 0
        self.begin_episodes(1)

    def reset(self, seed: int | None = None) -> None:
        """A fresh start: sequence numbers from 1 again, one empty episode memory (subclasses also
        reseed their random stream)."""
        self.sequence = 0
        self.begin_episodes(1)

    # ------------------------------------------------------------------ properties
    # read-only views of the chunk layout: names, sizes and timing of observations and actions
    obs_state_names = property(attrgetter("layout.obs_state_names"))
    state_names = property(attrgetter("layout.state_names"))
    input_names = property(attrgetter("layout.input_names"))
    obs_steps = property(attrgetter("layout.obs_steps"))
    chunk_length = property(attrgetter("layout.chunk_length"))
    knot_period = property(attrgetter("layout.knot_period"))
    control_stride = property(attrgetter("layout.control_stride"))

    # ------------------------------------------------------------------ acting

    def observation(self, obs_states: np.ndarray, obs_inputs: np.ndarray) -> np.ndarray:
        """The raw observation chunk (obs_steps, obs_dim) for the given history (padded)."""
        states = np.atleast_2d(np.asarray(obs_states, dtype=float))
        inputs = np.atleast_2d(np.asarray(obs_inputs, dtype=float))
        n_full, m = len(self.obs_state_names), len(self.input_names)
        if states.ndim != 2 or states.shape[1] != n_full:
            raise ValueError(
                f"obs_states must have shape (rows, {n_full}) for states {list(self.obs_state_names)}, "
                f"got {states.shape}"
            )
        if inputs.ndim != 2 or inputs.shape[1] != m:
            raise ValueError(
                f"obs_inputs must have shape (rows, {m}) for inputs {list(self.input_names)}, got {inputs.shape}"
            )
        if len(states) != len(inputs) or len(states) == 0:
            raise ValueError(f"obs_states and obs_inputs need the same number (>= 1) of rows, "
                             f"got {len(states)} and {len(inputs)}")
        if not (np.all(np.isfinite(states)) and np.all(np.isfinite(inputs))):
            raise ValueError("observation contains non-finite values")
        return pad_observation(observation_features(states, inputs, self.layout), self.obs_steps, self.layout.obs_padding)

    def raw_actions(self, raw_obs: np.ndarray) -> np.ndarray:
        """Raw composite actions (B, chunk_length, action_dim) for raw observation chunks."""
        raise NotImplementedError

    def act(self, obs_states: np.ndarray, obs_inputs: np.ndarray, start_time: float) -> CompositeAction:
        """One composite action for one observation history."""
        return self.act_batch([obs_states], [obs_inputs], [start_time])[0]

    def raw_actions_after(self, raw_obs: np.ndarray, previous: Sequence[CompositeAction | None],
                          start_times: Sequence[float]) -> np.ndarray:
        """Like :meth:`raw_actions`, knowing each episode's previous chunk (None: none yet); this
        base ignores it."""
        return self.raw_actions(raw_obs)

    def input_range(self) -> np.ndarray | None:
        """The range of the feed-forward inputs the policy was trained on (m,), if it knows it."""
        return None

    def act_batch(self, obs_states: list, obs_inputs: list, start_times: list[float],
                  previous: Sequence[CompositeAction | None] | None = None) -> list[CompositeAction]:
        """Composite actions for several histories at once (one model pass for all); `previous`:
        each history's executing chunk, for the hand-over (see the module docstring)."""
        raw = np.stack([self.observation(s, u) for s, u in zip(obs_states, obs_inputs, strict=True)])
        raw_actions = self.raw_actions(raw) if previous is None else self.raw_actions_after(raw, previous, start_times)
        return [self._composite(action, float(t)) for action, t in zip(raw_actions, start_times, strict=True)]

    def _composite(self, raw_action: np.ndarray, start_time: float) -> CompositeAction:
        x_ref, u_ff, gains = self.layout.unpack(raw_action)
        self.sequence += 1
        return chunk_from_knots(x_ref, u_ff, gains, knot_period=self.knot_period, start_time=start_time,
                                state_names=self.state_names, input_names=self.input_names,
                                sequence=self.sequence, interpolation=self.interpolation, sigma=self.sigma)


#: hand-over rules of :class:`HintPolicy` (module docstring)
HANDOVERS = ("none", "inpaint")


#: chunks sampled per observation when none is configured: one, executed as drawn
DEFAULT_CANDIDATES = 1

#: the policy node's parameters that :func:`policy_settings` reads
SETTING_PARAMETERS = ("sigma", "sampler", "sampler_steps", "candidates")


def policy_settings(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """:class:`HintPolicy` keyword arguments (sigma, sampler, sampler_steps, candidates) from the
    policy node's parameters of those names (a launch file's ``policy`` section; candidates may be
    absent: :data:`DEFAULT_CANDIDATES`); sigma < 0 = the checkpoint's training sigma."""
    sigma = float(parameters["sigma"])
    return {"sigma": None if sigma < 0 else sigma, "sampler": parameters["sampler"],
            "sampler_steps": int(parameters["sampler_steps"]),
            "candidates": int(parameters.get("candidates", DEFAULT_CANDIDATES))}


class HintPolicy(ChunkPolicy):
    """A trained denoiser (EMA weights) with its normalizers, layout and sampler settings."""

    def __init__(
        self,
        denoiser: torch.nn.Module,
        config: HintConfig,
        layout: ChunkLayout,
        normalizers: Normalizers,
        *,
        sigma: float | None = None,
        sampler: str = "ddim",
        sampler_steps: int = 10,
        candidates: int = DEFAULT_CANDIDATES,
        device: str | torch.device = "cpu",
        seed: int | None = None,
        interpolation: Interpolation = Interpolation.LINEAR,
        source: str = "<memory>",
        handover: str = "none",
        inpaint_frozen: int = 1,
        inpaint_horizon: int = 0,
    ) -> None:
        if sampler not in ("ddpm", "ddim"):
            raise ValueError(f"sampler must be 'ddpm' or 'ddim', got {sampler!r}")
        if handover not in HANDOVERS:
            raise ValueError(f"handover must be one of {HANDOVERS}, got {handover!r}")
        if int(candidates) < 1:
            raise ValueError(f"candidates must be at least 1, got {candidates}")
        self.candidates = int(candidates)
        self.handover, self.inpaint_frozen, self.inpaint_horizon = handover, int(inpaint_frozen), int(inpaint_horizon)
        self.training_sigma = float(config.data.sigma)
        super().__init__(layout, sigma=self.training_sigma if sigma is None else sigma,
                         interpolation=interpolation, source=source)
        self.device = torch.device(device)
        self.config = config
        self.normalizers = normalizers
        self.sampler = sampler
        self.sampler_steps = config.diffusion.train_steps if sampler == "ddpm" else int(sampler_steps)
        self.denoiser = denoiser.to(self.device).eval()
        self.diffusion = build_diffusion(config, layout, normalizers).to(self.device)
        if sampler == "ddim":
            self.diffusion.ddim_timesteps(self.sampler_steps)  # validates the step count now
        self.generator = torch.Generator()
        self.reset(seed)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, **settings: Any) -> HintPolicy:
        """Load the EMA weights of a training checkpoint (CheckpointError, a ValueError, names the file).

        ``settings`` are the keyword arguments of :class:`HintPolicy` (sigma, sampler, sampler_steps,
        candidates, device, seed, interpolation, handover, inpaint_frozen, inpaint_horizon).
        """
        return cls.from_payload(load_checkpoint(path), source=str(path), **settings)

    @classmethod
    def from_payload(cls, payload: dict[str, Any], source: str = "<memory>", **settings: Any) -> HintPolicy:
        """Build from a checkpoint dict (what train.py saves); ``settings`` as in :meth:`from_checkpoint`."""
        try:
            config = config_from_dict(HintConfig, payload["config"])
            layout = ChunkLayout.from_dict(payload["layout"])
            normalizers = Normalizers.from_state_dict(payload["normalizers"])
            denoiser = build_model(config, layout, normalizers)
            denoiser.load_state_dict(payload["ema"]["model"])
        except (KeyError, TypeError, RuntimeError, ValueError) as error:
            raise ValueError(f"checkpoint {source} is incomplete or inconsistent: {error}") from error
        return cls(denoiser, config, layout, normalizers, source=source, **settings)

    def reset(self, seed: int | None = None) -> None:
        """A fresh start (:meth:`ChunkPolicy.reset`) and the random stream reseeded (with `seed`)."""
        super().reset(seed)
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(int(seed))

    @torch.no_grad()
    def sample_normalized(self, raw_obs: np.ndarray, guide: Inpainting | None = None) -> np.ndarray:
        """Normalized learned action coordinates (B, L, learned_action_dim) for raw observation chunks:
        ``candidates`` chunks per observation, each from its own noise draw, and their medoid
        (:func:`hint_policy.diffusion.selection.medoid`)."""
        obs = self.normalizers.obs.normalize(torch.as_tensor(raw_obs, dtype=torch.float32))
        batch = obs.shape[0]
        if self.candidates > 1:
            obs = obs.repeat(self.candidates, 1, 1)
            guide = guide.repeated(self.candidates) if guide is not None else None
        if self.sigma > 0:
            obs = obs + self.sigma * unit_noise(obs.shape, self.config.data.noise_law, self.generator)
        actions = self.diffusion.sample(
            self.denoiser, obs.to(self.device), self.sampler, self.sampler_steps, self.generator, guide=guide
        )
        return medoid(actions.reshape(self.candidates, batch, *actions.shape[1:])).cpu().numpy()

    def raw_actions(self, raw_obs: np.ndarray) -> np.ndarray:
        """Sample, then unnormalize (see :meth:`sample_normalized`)."""
        return self.normalizers.decode_actions(self.sample_normalized(raw_obs))

    def raw_actions_after(self, raw_obs: np.ndarray, previous: Sequence[CompositeAction | None],
                          start_times: Sequence[float]) -> np.ndarray:
        """With ``handover="inpaint"``, sample each chunk inpainted from its previous one."""
        if self.handover == "none" or all(p is None for p in previous):
            return self.raw_actions(raw_obs)
        return self.normalizers.decode_actions(self.sample_normalized(raw_obs, self._inpainting(previous, start_times)))

    def _inpainting(self, previous: Sequence[CompositeAction | None], start_times: Sequence[float]) -> Inpainting:
        """Targets: the previous chunk's knots at the new chunk's knot times; RTC soft-mask weights."""
        length, content = self.chunk_length, self.layout.action_content
        targets = np.zeros((len(previous), length, self.layout.action_dim))
        weights = np.zeros((len(previous), length))
        for b, (chunk, start) in enumerate(zip(previous, start_times, strict=True)):
            if chunk is None:
                continue
            shift = round((start - chunk.start_time) / chunk.period)
            rows = pack_actions(chunk.x_ref, chunk.u_ff, chunk.gains, content)[shift:]
            if shift < 0 or len(rows) == 0:  # a chunk from the future (a clock reset) or one already over
                continue
            targets[b, : len(rows)] = rows[:length]
            targets[b, len(rows):] = rows[-1]
            overlap = min(len(rows), self.inpaint_horizon) if self.inpaint_horizon > 0 else len(rows)
            weights[b] = soft_mask(length, self.inpaint_frozen, overlap)
        learned = self.normalizers.encode_actions(torch.as_tensor(targets, dtype=torch.float32))
        return Inpainting(learned, torch.as_tensor(weights, dtype=torch.float32))

    def input_range(self) -> np.ndarray | None:
        """Range of u_ff over the training chunks (from the action normalizer; primitives only)."""
        if self.layout.action_content != "primitives":
            return None
        n, m = len(self.state_names), len(self.input_names)
        return 2.0 * self.normalizers.action.half_range[n : n + m].double().numpy()

    def __repr__(self) -> str:
        return (f"HintPolicy({self.source}, {self.config.model.denoiser}, sigma={self.sigma}, "
                f"{self.sampler}x{self.sampler_steps}, candidates={self.candidates}, "
                f"obs {self.obs_steps}x{self.layout.obs_dim}, action {self.chunk_length}x{self.layout.action_dim})")
