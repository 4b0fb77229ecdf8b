"""Primitive controllers and composite actions: the objects HINT learns and executes.

Names: the glossary in docs/architecture.md maps the paper's notation (Block, Pfrommer,
Jadbabaie, Simchowitz, Tedrake, NeurIPS 2023) to the one name hint uses for each quantity:
a primitive controller is u = u_ff + K (x - x_ref) (``x_ref[k]``, ``u_ff[k]``, ``gains[k]``), a
composite action (chunk) holds ``chunk_length`` of them, one per knot of ``period`` seconds.

Knots and steps: the paper's demos and primitive controllers live on one time grid; hint's
simulators step faster than the policy acts, so a demo's steps are sampled every
``control_stride`` steps to make knots, and the controller applies a knot's primitive controller
at every physics step inside it (interpolating x_ref). ``exec_knots`` knots of each chunk run
before the policy's next chunk takes over.

Knot k of a composite action applies from ``start_time + k * period`` until the next knot;
``x_ref_end`` is the reference at ``end_time`` (the next knot's x_ref when the chunk is cut from a
longer plan; None: the executor extrapolates it with its model). :func:`chunk_from_knots` is the
one way hint builds a composite action from a trajectory of primitive controllers.
"""

from __future__ import annotations

import dataclasses
import enum

import numpy as np


class Interpolation(enum.IntEnum):
    """How the reference state is interpolated between knots (values match hint_msgs)."""

    ZERO_ORDER_HOLD = 0
    LINEAR = 1


@dataclasses.dataclass(frozen=True)
class Certificate:
    """Incremental-stability certificate of a chunk (:mod:`hint_controller.stability`)."""

    contraction: float  # ||Phi_tau||_2: start deviation -> deviation at the chunk's end
    transient_gain: float  # max_i ||Phi_i||_2 over the chunk's physics steps
    input_gain: float  # worst max-norm state deviation per unit max-norm input disturbance


@dataclasses.dataclass(frozen=True)
class CompositeAction:
    """A chunk of ``length`` affine primitive controllers at a fixed knot period."""

    x_ref: np.ndarray  # (length, n)
    u_ff: np.ndarray  # (length, m)
    gains: np.ndarray  # (length, m, n)
    period: float  # knot period [s]
    start_time: float  # time at which knot 0 starts [s]
    state_names: tuple[str, ...]
    input_names: tuple[str, ...]
    sequence: int = 0
    sigma: float = 0.0
    interpolation: Interpolation = Interpolation.LINEAR
    x_ref_end: np.ndarray | None = None  # (n,): the reference at end_time
    certificate: Certificate | None = None

    def __post_init__(self) -> None:
        x_ref = np.asarray(self.x_ref, dtype=float)
        u_ff = np.asarray(self.u_ff, dtype=float)
        gains = np.asarray(self.gains, dtype=float)
        object.__setattr__(self, "x_ref", x_ref)
        object.__setattr__(self, "u_ff", u_ff)
        object.__setattr__(self, "gains", gains)
        object.__setattr__(self, "state_names", tuple(self.state_names))
        object.__setattr__(self, "input_names", tuple(self.input_names))
        object.__setattr__(self, "interpolation", Interpolation(self.interpolation))
        length, n = x_ref.shape if x_ref.ndim == 2 else (-1, -1)
        m = len(self.input_names)
        if x_ref.ndim != 2 or length < 1:
            raise ValueError(f"x_ref must have shape (length>=1, n), got {x_ref.shape}")
        if n != len(self.state_names):
            raise ValueError(f"x_ref has {n} columns but {len(self.state_names)} state names")
        if u_ff.shape != (length, m):
            raise ValueError(f"u_ff must have shape {(length, m)}, got {u_ff.shape}")
        if gains.shape != (length, m, n):
            raise ValueError(f"gains must have shape {(length, m, n)}, got {gains.shape}")
        if not (np.isfinite(self.period) and self.period > 0):
            raise ValueError(f"period must be finite and > 0, got {self.period}")
        x_end = None if self.x_ref_end is None else np.asarray(self.x_ref_end, dtype=float)
        object.__setattr__(self, "x_ref_end", x_end)
        if x_end is not None and x_end.shape != (n,):
            raise ValueError(f"x_ref_end must have shape {(n,)}, got {x_end.shape}")
        for label, array in (("x_ref", x_ref), ("u_ff", u_ff), ("gains", gains), ("x_ref_end", x_end)):
            if array is not None and not np.all(np.isfinite(array)):
                raise ValueError(f"{label} contains non-finite values")

    @property
    def length(self) -> int:
        return self.x_ref.shape[0]

    @property
    def state_dim(self) -> int:
        return self.x_ref.shape[1]

    @property
    def input_dim(self) -> int:
        return self.u_ff.shape[1]

    @property
    def end_time(self) -> float:
        """Time at which the last knot's interval ends."""
        return self.start_time + self.length * self.period


def chunk_from_knots(
    x_ref: np.ndarray,
    u_ff: np.ndarray,
    gains: np.ndarray,
    *,
    knot_period: float,
    start_time: float,
    state_names: tuple[str, ...] | list[str],
    input_names: tuple[str, ...] | list[str],
    sequence: int,
    knots: int | None = None,
    first: int = 0,
    stride: int = 1,
    interpolation: Interpolation = Interpolation.LINEAR,
    sigma: float = 0.0,
    x_ref_end: np.ndarray | None = None,
) -> CompositeAction:
    """The one builder of composite actions from a trajectory of primitive controllers.

    Rows ``first, first + stride, ...`` of (x_ref, u_ff, gains) become knots 0, 1, ... (`knots`
    of them; None = every row that exists from `first` on), each held for `knot_period`. So a
    per-physics-step trajectory (a demo, an expert rollout, a teleop reference) is sampled at
    ``stride`` = physics steps per knot, and knot-level arrays (a policy's unpacked output) use
    stride 1. ``x_ref_end`` is the row one knot after the last when the trajectory has it, else
    the given `x_ref_end` (None: the executor extrapolates).
    """
    if stride < 1 or first < 0:
        raise ValueError(f"need stride >= 1 and first >= 0, got {stride} and {first}")
    rows = len(x_ref)
    count = (rows - first + stride - 1) // stride if knots is None else int(knots)
    indices = first + stride * np.arange(count)
    if count < 1 or indices[-1] >= rows:
        raise ValueError(f"{count} knots every {stride} rows from row {first} need more than the {rows} rows given")
    after = first + stride * count
    return CompositeAction(
        x_ref=np.asarray(x_ref)[indices], u_ff=np.asarray(u_ff)[indices], gains=np.asarray(gains)[indices],
        period=knot_period, start_time=float(start_time), state_names=tuple(state_names),
        input_names=tuple(input_names), sequence=int(sequence), sigma=float(sigma), interpolation=interpolation,
        x_ref_end=np.asarray(x_ref)[after] if after < rows else x_ref_end,
    )
