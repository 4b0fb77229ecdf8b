"""Conversions between hint_msgs messages and numpy arrays, with validation.

Every ``*_from_msg`` function checks what a consumer must be able to trust before it acts on a
message: dimensions agree with the flattened arrays, names are unique and (when the caller
gives expected names) match, values are finite, sizes stay under a bound. A failed check
raises a specific subclass of :class:`MessageValidationError` whose text says what is wrong.

    from hint_msgs.conversions import composite_action_to_msg, composite_action_from_msg
    msg = composite_action_to_msg(x_ref, u_ff, gains, knot_period=0.1, stamp=t0,
                                  state_names=names_x, input_names=names_u)
    chunk = composite_action_from_msg(msg, state_names=names_x, input_names=names_u)
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from builtin_interfaces.msg import Time
from hint_msgs.msg import CompositeAction, InputVector, StateVector

#: A 7-DOF arm (14 states, 7 inputs) with 64 knots is ~63k gain entries; 1e6 leaves ample room
#: while refusing messages that would stall a high-rate controller.
DEFAULT_MAX_ELEMENTS = 1_000_000
DEFAULT_MAX_LENGTH = 1024


class MessageValidationError(ValueError):
    """A message failed validation; the text says which check and why."""


class DimensionError(MessageValidationError):
    """Declared dimensions disagree with each other or with the array sizes."""


class NameMismatchError(MessageValidationError):
    """Names are missing, duplicated or differ from the expected ones."""


class NonFiniteError(MessageValidationError):
    """An array holds NaN or infinity."""


class SizeLimitError(MessageValidationError):
    """The message is larger than the configured bound."""


class StaleMessageError(MessageValidationError):
    """The message's stamp is older than allowed."""


class CompositeActionArrays(NamedTuple):
    """The content of a CompositeAction message as numpy arrays."""

    x_ref: np.ndarray  # (length, state_dim)
    u_ff: np.ndarray  # (length, input_dim)
    gains: np.ndarray  # (length, input_dim, state_dim)
    knot_period: float  # [s]
    start_time: float  # header stamp [s]
    sequence: int
    state_names: tuple[str, ...]
    input_names: tuple[str, ...]
    sigma: float
    interpolation: int
    x_ref_end: np.ndarray | None = None  # (state_dim,), None when the message leaves it empty
    #: (contraction, transient_gain, input_gain) certificate; negative = not certified
    certificate: tuple[float, float, float] = (-1.0, -1.0, -1.0)


def seconds_to_stamp(seconds: float) -> Time:
    """builtin_interfaces/Time for a time in seconds (non-negative)."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"stamp must be finite and >= 0 s, got {seconds}")
    nanoseconds = round(seconds * 1e9)
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def stamp_to_seconds(stamp: Time) -> float:
    """Seconds of a builtin_interfaces/Time."""
    return stamp.sec + stamp.nanosec * 1e-9


#: nanoseconds per second: ROS stamps and sim time are integer nanoseconds
NS = 1_000_000_000


def stamp_to_ns(stamp: Time) -> int:
    """Integer nanoseconds of a builtin_interfaces/Time (exact, unlike seconds as a float)."""
    return int(stamp.sec) * NS + int(stamp.nanosec)


def ns_to_stamp(nanoseconds: int) -> Time:
    """builtin_interfaces/Time of integer nanoseconds (non-negative)."""
    return Time(sec=int(nanoseconds // NS), nanosec=int(nanoseconds % NS))


class CompositeActionHeader(NamedTuple):
    """The scalar fields of a CompositeAction that precede its arrays."""

    start_time: float  # header stamp [s]
    sequence: int
    knot_period: float  # [s]
    length: int


#: CDR encapsulation identifiers (plain CDR, XCDR1) and the byte order they announce
_CDR_BYTE_ORDER = {b"\x00\x00": ">", b"\x00\x01": "<"}


def composite_action_header(serialized: bytes) -> CompositeActionHeader:
    """The header fields of a *serialized* CompositeAction (as rclpy takes it with ``raw=True``),
    read without deserializing its names and arrays: a subscriber can reject most junk for the
    price of two struct reads. Raises MessageValidationError for data too short or not CDR."""
    order = _CDR_BYTE_ORDER.get(bytes(serialized[:2]))
    if order is None:
        raise MessageValidationError(f"not a CDR-encoded message (encapsulation {bytes(serialized[:4]).hex()})")
    try:
        sec, nanosec, frame_id_size = struct.unpack_from(order + "iII", serialized, 4)
        offset = 12 + frame_id_size  # CDR body offset after header.frame_id (size word + chars)
        offset += -offset % 8  # the uint64 sequence is 8-aligned in the body
        sequence, knot_period, _, _, length = struct.unpack_from(order + "QdIII", serialized, 4 + offset)
    except struct.error as error:
        raise MessageValidationError(f"truncated CompositeAction ({len(serialized)} bytes): {error}") from None
    return CompositeActionHeader(sec + nanosec * 1e-9, sequence, knot_period, length)


def _check_names(kind: str, names: Sequence[str], expected: Sequence[str] | None) -> tuple[str, ...]:
    names = tuple(names)
    if len(set(names)) != len(names):
        duplicates = sorted({n for n in names if names.count(n) > 1})
        raise NameMismatchError(f"{kind} names are not unique: {duplicates}")
    if any(not name for name in names):
        raise NameMismatchError(f"{kind} names contain an empty name")
    if expected is not None and names != tuple(expected):
        raise NameMismatchError(f"{kind} names {list(names)} differ from the expected {list(expected)}")
    return names


def _check_finite(kind: str, array: np.ndarray) -> None:
    if not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise NonFiniteError(f"{kind} holds {bad} non-finite value(s)")


def composite_action_to_msg(
    x_ref: np.ndarray,
    u_ff: np.ndarray,
    gains: np.ndarray,
    *,
    knot_period: float,
    stamp: float,
    state_names: Sequence[str],
    input_names: Sequence[str],
    sequence: int = 0,
    sigma: float = 0.0,
    interpolation: int = CompositeAction.INTERPOLATION_LINEAR,
    x_ref_end: np.ndarray | None = None,
    certificate: tuple[float, float, float] = (-1.0, -1.0, -1.0),
) -> CompositeAction:
    """Build a CompositeAction; validates like :func:`composite_action_from_msg` does."""
    x_ref = np.asarray(x_ref, dtype=np.float64)
    u_ff = np.asarray(u_ff, dtype=np.float64)
    gains = np.asarray(gains, dtype=np.float64)
    if x_ref.ndim != 2:
        raise DimensionError(f"x_ref must be 2-D (length, state_dim), got shape {x_ref.shape}")
    length, state_dim = x_ref.shape
    input_dim = len(input_names)
    msg = CompositeAction()
    msg.header.stamp = seconds_to_stamp(stamp)
    msg.sequence = int(sequence)
    msg.knot_period = float(knot_period)
    msg.state_dim, msg.input_dim, msg.length = state_dim, input_dim, length
    msg.state_names = list(state_names)
    msg.input_names = list(input_names)
    if u_ff.shape != (length, input_dim):
        raise DimensionError(f"u_ff must have shape {(length, input_dim)}, got {u_ff.shape}")
    if gains.shape != (length, input_dim, state_dim):
        raise DimensionError(f"gains must have shape {(length, input_dim, state_dim)}, got {gains.shape}")
    msg.x_ref = x_ref.ravel().tolist()
    msg.u_ff = u_ff.ravel().tolist()
    msg.gains = gains.ravel().tolist()
    msg.sigma = float(sigma)
    msg.interpolation = int(interpolation)
    msg.x_ref_end = [] if x_ref_end is None else np.asarray(x_ref_end, dtype=np.float64).ravel().tolist()
    msg.contraction, msg.transient_gain, msg.input_gain = (float(value) for value in certificate)
    composite_action_from_msg(msg)  # the same checks a receiver makes
    return msg


def composite_action_from_msg(
    msg: CompositeAction,
    *,
    state_names: Sequence[str] | None = None,
    input_names: Sequence[str] | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    now: float | None = None,
    max_age: float | None = None,
) -> CompositeActionArrays:
    """Validate a CompositeAction and return its arrays.

    state_names / input_names: when given, the message's names must equal them (same order).
    now / max_age: when both are given, a chunk whose *last* knot ended more than max_age
    seconds before now is stale.
    """
    length, state_dim, input_dim = int(msg.length), int(msg.state_dim), int(msg.input_dim)
    if length < 1 or state_dim < 1 or input_dim < 1:
        raise DimensionError(f"length, state_dim and input_dim must be >= 1, got {length}, {state_dim}, {input_dim}")
    if length > max_length:
        raise SizeLimitError(f"length {length} exceeds the limit of {max_length} knots")
    total = len(msg.x_ref) + len(msg.u_ff) + len(msg.gains)
    if total > max_elements:
        raise SizeLimitError(f"{total} array elements exceed the limit of {max_elements}")
    if len(msg.state_names) != state_dim or len(msg.input_names) != input_dim:
        raise DimensionError(
            f"{len(msg.state_names)} state names / {len(msg.input_names)} input names for "
            f"state_dim {state_dim} / input_dim {input_dim}"
        )
    expected_sizes = {"x_ref": length * state_dim, "u_ff": length * input_dim, "gains": length * input_dim * state_dim}
    for field, size in expected_sizes.items():
        if len(getattr(msg, field)) != size:
            raise DimensionError(f"{field} has {len(getattr(msg, field))} values, expected {size} for the declared dimensions")
    names_x = _check_names("state", msg.state_names, state_names)
    names_u = _check_names("input", msg.input_names, input_names)
    if not (math.isfinite(msg.knot_period) and msg.knot_period > 0):
        raise DimensionError(f"knot_period must be finite and > 0, got {msg.knot_period}")
    if not (math.isfinite(msg.sigma) and msg.sigma >= 0):
        raise NonFiniteError(f"sigma must be finite and >= 0, got {msg.sigma}")
    if msg.interpolation not in (CompositeAction.INTERPOLATION_ZERO_ORDER_HOLD, CompositeAction.INTERPOLATION_LINEAR):
        raise MessageValidationError(f"unknown interpolation mode {msg.interpolation}")
    x_ref = np.asarray(msg.x_ref, dtype=np.float64).reshape(length, state_dim)
    u_ff = np.asarray(msg.u_ff, dtype=np.float64).reshape(length, input_dim)
    gains = np.asarray(msg.gains, dtype=np.float64).reshape(length, input_dim, state_dim)
    if len(msg.x_ref_end) not in (0, state_dim):
        raise DimensionError(f"x_ref_end has {len(msg.x_ref_end)} values, expected 0 or {state_dim}")
    x_ref_end = np.asarray(msg.x_ref_end, dtype=np.float64) if len(msg.x_ref_end) else None
    certificate = (float(msg.contraction), float(msg.transient_gain), float(msg.input_gain))
    for field, array in (("x_ref", x_ref), ("u_ff", u_ff), ("gains", gains), ("x_ref_end", x_ref_end),
                         ("certificate", np.asarray(certificate))):
        if array is not None:
            _check_finite(field, array)
    start_time = stamp_to_seconds(msg.header.stamp)
    if now is not None and max_age is not None:
        age = now - (start_time + length * msg.knot_period)
        if age > max_age:
            raise StaleMessageError(f"chunk {msg.sequence} ended {age:.3f} s ago (limit {max_age} s)")
    return CompositeActionArrays(
        x_ref, u_ff, gains, float(msg.knot_period), start_time, int(msg.sequence),
        names_x, names_u, float(msg.sigma), int(msg.interpolation), x_ref_end, certificate,
    )


def vector_to_msg(
    msg_type: type[StateVector] | type[InputVector],
    names: Sequence[str],
    values: np.ndarray,
    stamp: float,
) -> StateVector | InputVector:
    """A StateVector or InputVector with the given names, values and stamp [s]."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(names),):
        raise DimensionError(f"{len(names)} names for values of shape {values.shape}")
    _check_names(msg_type.__name__, names, None)
    _check_finite(msg_type.__name__, values)
    msg = msg_type()
    msg.header.stamp = seconds_to_stamp(stamp)
    msg.names = list(names)
    msg.values = values.tolist()
    return msg


def vector_from_msg(msg: StateVector | InputVector, names: Sequence[str] | None = None) -> np.ndarray:
    """Values of a StateVector or InputVector, reordered to `names` when given (extra entries ignored)."""
    kind = type(msg).__name__
    if len(msg.names) != len(msg.values):
        raise DimensionError(f"{kind} has {len(msg.names)} names for {len(msg.values)} values")
    available = _check_names(kind, msg.names, None)
    values = np.asarray(msg.values, dtype=np.float64)
    if names is not None:
        index = {name: i for i, name in enumerate(available)}
        missing = [name for name in names if name not in index]
        if missing:
            raise NameMismatchError(f"{kind} lacks {missing} (it has {list(available)})")
        values = values[[index[name] for name in names]]
    _check_finite(kind, values)
    return values
