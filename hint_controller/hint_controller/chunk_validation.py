"""What a composite action must satisfy before the controller executes it, without ROS.

A chunk that violates a limit is rejected with :class:`ChunkRejected`, whose ``reason`` is one of
:data:`REJECTION_REASONS` (counted per reason in hint_msgs/ControllerStatus) and whose text names
the field and its value. The limits (:class:`ChunkLimits`, controller_node parameters) are tied to
the model:

* ``knot_period`` within [min_knot_period, max_knot_period] (default [model period / 10, 10 s]):
  a tiny period is a chunk that ends at once, a huge one a chunk that never ends;
* total duration ``length * knot_period`` at most ``max_duration``;
* ``start_time`` at most ``max_future`` ahead of now, and the last knot ended at most
  ``max_age`` ago;
* every ``x_ref`` / ``u_ff`` entry within the model's declared state / input bounds
  (:meth:`DynamicsModel.state_bounds`, ``input_lower`` / ``input_upper``), each widened by ``bound_margin`` times its range
  (infinite bounds stay unchecked);
* every gain's operator norm (largest singular value) at most ``max_gain_norm``: the gain
  magnitude bound R of the paper's Algorithm 1;
* optionally (``max_contraction`` > 0; off by default) a certificate
  (:mod:`hint_controller.stability`) whose ``contraction`` ||Phi_tau||_2 is below
  ``max_contraction``: a chunk without a certificate, or with a larger one, is rejected.

:meth:`ChunkValidator.check_header` needs only the scalar fields, so a subscriber can run it on a
message before converting its arrays (a cheap pre-check against floods);
:meth:`ChunkValidator.check_values` checks the arrays in the model's coordinate order.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from hint_controller.composite_action import Certificate
from hint_controller.dynamics.base import DynamicsModel

#: rejection reasons, in the order of ControllerStatus.rejection_reasons
REJECTION_REASONS = (
    "dimensions",  # lengths, dims and array sizes disagree
    "names",  # state / input names do not match the model
    "non_finite",  # NaN or inf in a value
    "size",  # more knots or array elements than allowed
    "stale",  # the last knot ended more than max_age ago
    "future",  # starts more than max_future ahead of now
    "knot_period",  # outside [min_knot_period, max_knot_period]
    "duration",  # length * knot_period above max_duration
    "x_ref",  # a reference state outside the widened state bounds
    "u_ff",  # a feed-forward input outside the widened input bounds
    "gains",  # a gain above max_gain_norm
    "certificate",  # no certificate, or contraction >= max_contraction (when that limit is on)
    "previous_episode",  # starts before the latest episode START (planned from the previous episode's state)
    "older_than_active",  # starts before the active chunk (planned from an older observation than it)
    "other",  # any other malformed field
)


class ChunkRejected(ValueError):
    """A composite action that must not be executed; ``reason`` is one of REJECTION_REASONS."""

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REJECTION_REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        super().__init__(message)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class ChunkLimits:
    """Operator limits on composite actions (controller_node parameters of the same names)."""

    #: shortest knot period [s]; None = the model's period / 10
    min_knot_period: float | None = None
    max_knot_period: float = 10.0
    #: longest chunk, length * knot_period [s]
    max_duration: float = 30.0
    #: latest start ahead of now [s]
    max_future: float = 1.0
    #: reject chunks whose last knot ended longer ago [s]
    max_age: float = 0.5
    max_knots: int = 1024
    #: largest operator norm (2-norm) of a gain matrix
    max_gain_norm: float = 1e4
    #: the model's state / input bounds are widened by this fraction of their range on each side
    bound_margin: float = 0.5
    #: reject chunks whose certificate's contraction ||Phi_tau||_2 is not below this (or that have
    #: none); 0 = off
    max_contraction: float = 0.0

    def __post_init__(self) -> None:
        positive = {
            "max_knot_period": self.max_knot_period, "max_duration": self.max_duration,
            "max_future": self.max_future, "max_age": self.max_age, "max_gain_norm": self.max_gain_norm,
        }
        if self.min_knot_period is not None:
            positive["min_knot_period"] = self.min_knot_period
        for name, value in positive.items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be finite and > 0, got {value}")
        if not (math.isfinite(self.max_contraction) and self.max_contraction >= 0):
            raise ValueError(f"max_contraction must be finite and >= 0, got {self.max_contraction}")
        if not (math.isfinite(self.bound_margin) and self.bound_margin >= 0):
            raise ValueError(f"bound_margin must be finite and >= 0, got {self.bound_margin}")
        if not 1 <= self.max_knots <= 1_000_000:
            raise ValueError(f"max_knots must be in [1, 1000000], got {self.max_knots}")
        if self.min_knot_period is not None and self.min_knot_period > self.max_knot_period:
            raise ValueError(f"min_knot_period {self.min_knot_period} exceeds max_knot_period {self.max_knot_period}")


def _widen(lower: np.ndarray, upper: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    with np.errstate(invalid="ignore"):  # inf - inf: the bound stays infinite
        pad = np.where(np.isfinite(upper - lower), margin * (upper - lower), 0.0)
    return lower - pad, upper + pad


class ChunkValidator:
    """:class:`ChunkLimits` applied to one model; raises :class:`ChunkRejected`."""

    def __init__(self, model: DynamicsModel, limits: ChunkLimits = ChunkLimits()) -> None:
        self.limits = limits
        self.min_knot_period = limits.min_knot_period if limits.min_knot_period is not None else model.period / 10
        if self.min_knot_period > limits.max_knot_period:
            raise ValueError(f"min_knot_period {self.min_knot_period} exceeds max_knot_period {limits.max_knot_period}")
        self.state_names = tuple(model.state_names)
        self.input_names = tuple(model.input_names)
        self.state_lower, self.state_upper = _widen(*model.state_bounds(), limits.bound_margin)
        self.input_lower, self.input_upper = _widen(model.input_lower, model.input_upper, limits.bound_margin)

    def check_header(self, *, sequence: int, knot_period: float, length: int, start_time: float, now: float | None) -> None:
        """The scalar limits; with `now` None the start-time limits are not checked."""
        lim = self.limits
        label = f"chunk {sequence}"
        if not self.min_knot_period <= knot_period <= lim.max_knot_period:  # False for NaN too
            raise ChunkRejected("knot_period", f"{label}: knot_period {knot_period!r} s outside [{self.min_knot_period:g}, {lim.max_knot_period:g}] s")
        if length > lim.max_knots:
            raise ChunkRejected("size", f"{label}: length {length} exceeds max_knots {lim.max_knots}")
        duration = length * knot_period
        if duration > lim.max_duration:
            raise ChunkRejected("duration", f"{label}: duration length * knot_period = {duration:g} s exceeds max_duration {lim.max_duration:g} s")
        if now is None:
            return
        if not math.isfinite(start_time):
            raise ChunkRejected("non_finite", f"{label}: header.stamp {start_time!r}")
        if start_time - now > lim.max_future:
            raise ChunkRejected("future", f"{label}: header.stamp {start_time:.6f} is {start_time - now:.3g} s ahead of now (max_future {lim.max_future:g} s)")
        age = now - (start_time + duration)
        if age > lim.max_age:
            raise ChunkRejected("stale", f"{label}: ended {age:.3f} s ago (max_age {lim.max_age:g} s)")

    def check_values(self, sequence: int, x_ref: np.ndarray, u_ff: np.ndarray, gains: np.ndarray) -> None:
        """Bounds of x_ref (length, n), u_ff (length, m), gains (length, m, n) in the model's order."""
        label = f"chunk {sequence}"
        self.check_reference(sequence, x_ref)
        self._check_rows(label, "u_ff", "u_ff", u_ff, self.input_names, self.input_lower, self.input_upper)
        bound = self.limits.max_gain_norm
        with np.errstate(over="ignore", invalid="ignore"):
            # cheap test first: each gain's operator norm is at most the Frobenius norm of all of them
            if np.sum(gains * gains) <= bound**2:
                return
            norms = np.linalg.norm(gains, ord=2, axis=(1, 2))
        outside = np.flatnonzero(~(norms <= bound))
        if outside.size:
            knot = int(outside[0])
            raise ChunkRejected("gains", f"{label}: gains[{knot}] operator norm {norms[knot]:.6g} exceeds max_gain_norm {bound:g}")

    def check_reference(self, sequence: int, x_ref: np.ndarray, field: str = "x_ref") -> None:
        """Reference rows (r, n) in the model's order within the widened state bounds (rejected as
        reason "x_ref"; `field` names them in the message, e.g. "x_ref_end")."""
        self._check_rows(f"chunk {sequence}", "x_ref", field, np.atleast_2d(x_ref), self.state_names,
                         self.state_lower, self.state_upper)

    @staticmethod
    def _check_rows(label: str, reason: str, field: str, values: np.ndarray, names, lower, upper) -> None:
        outside = ~((values >= lower) & (values <= upper))  # NaN counts as outside
        if outside.any():
            knot, coordinate = np.argwhere(outside)[0]
            raise ChunkRejected(reason, (
                f"{label}: {field}[{knot}] {names[coordinate]} = {values[knot, coordinate]:.6g} outside the "
                f"widened bounds [{lower[coordinate]:.6g}, {upper[coordinate]:.6g}]"
            ))

    def check_certificate(self, sequence: int, certificate: Certificate | None) -> None:
        """With max_contraction on, the chunk's certificate must exist and contract below it."""
        bound = self.limits.max_contraction
        if bound <= 0:
            return
        if certificate is None:
            raise ChunkRejected("certificate", f"chunk {sequence}: no certificate (max_contraction {bound:g} is on)")
        if not certificate.contraction < bound:
            raise ChunkRejected("certificate", f"chunk {sequence}: contraction {certificate.contraction:.6g} not below max_contraction {bound:g}")
