"""hint_controller's :class:`CompositeAction` to and from hint_msgs/CompositeAction.

The array-level conversion and its validation live in :mod:`hint_msgs.conversions`; this module
only maps its fields onto the dataclass, once, for every node that sends or receives chunks.
"""

from __future__ import annotations

import dataclasses

from hint_msgs.conversions import (
    DimensionError,
    NameMismatchError,
    NonFiniteError,
    SizeLimitError,
    StaleMessageError,
    composite_action_from_msg,
    composite_action_to_msg,
)
from hint_msgs.msg import CompositeAction as CompositeActionMsg

from hint_controller.chunk_validation import ChunkRejected
from hint_controller.composite_action import Certificate, CompositeAction

#: the rejection reason (hint_controller.chunk_validation.REJECTION_REASONS) of each conversion error
_CONVERSION_REASONS = (
    (DimensionError, "dimensions"), (NameMismatchError, "names"), (NonFiniteError, "non_finite"),
    (SizeLimitError, "size"), (StaleMessageError, "stale"),
)


#: the message's certificate fields of an uncertified chunk
_UNCERTIFIED = (-1.0, -1.0, -1.0)


def action_to_msg(action: CompositeAction) -> CompositeActionMsg:
    """The message of `action` (stamp = its start time)."""
    return composite_action_to_msg(
        action.x_ref, action.u_ff, action.gains, knot_period=action.period, stamp=action.start_time,
        state_names=action.state_names, input_names=action.input_names, sequence=action.sequence,
        sigma=action.sigma, interpolation=int(action.interpolation), x_ref_end=action.x_ref_end,
        certificate=_UNCERTIFIED if action.certificate is None else dataclasses.astuple(action.certificate),
    )


def rejection_reason(error: ValueError) -> str:
    """The REJECTION_REASONS entry of a ChunkRejected or a hint_msgs conversion error."""
    if isinstance(error, ChunkRejected):
        return error.reason
    return next((reason for kind, reason in _CONVERSION_REASONS if isinstance(error, kind)), "other")


def action_from_msg(
    msg: CompositeActionMsg, *, max_length: int, now: float | None = None, max_age: float | None = None,
) -> CompositeAction:
    """The validated action of `msg` (raises MessageValidationError or ValueError)."""
    arrays = composite_action_from_msg(msg, max_length=max_length, now=now, max_age=max_age)
    return CompositeAction(
        x_ref=arrays.x_ref, u_ff=arrays.u_ff, gains=arrays.gains, period=arrays.knot_period,
        start_time=arrays.start_time, state_names=arrays.state_names, input_names=arrays.input_names,
        sequence=arrays.sequence, sigma=arrays.sigma, interpolation=arrays.interpolation,
        x_ref_end=arrays.x_ref_end,
        certificate=Certificate(*arrays.certificate) if min(arrays.certificate) >= 0 else None,
    )
