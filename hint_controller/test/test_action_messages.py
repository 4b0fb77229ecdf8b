"""CompositeAction dataclass <-> hint_msgs/CompositeAction, every field."""

import numpy as np
import pytest

from hint_controller.composite_action import Certificate, CompositeAction, Interpolation

pytestmark = pytest.mark.ros


def test_round_trip_keeps_every_field():
    from hint_msgs.conversions import StaleMessageError

    from hint_controller.action_messages import action_from_msg, action_to_msg

    rng = np.random.default_rng(0)
    action = CompositeAction(
        rng.normal(size=(5, 4)), rng.normal(size=(5, 2)), rng.normal(size=(5, 2, 4)), period=0.1, start_time=12.5,
        state_names=("a", "b", "c", "d"), input_names=("u", "v"), sequence=7, sigma=0.05,
        interpolation=Interpolation.ZERO_ORDER_HOLD, x_ref_end=rng.normal(size=4),
        certificate=Certificate(0.8, 1.3, 0.02),
    )
    back = action_from_msg(action_to_msg(action), max_length=16, now=12.6, max_age=1.0)
    for field in ("x_ref", "u_ff", "gains", "x_ref_end"):
        np.testing.assert_array_equal(getattr(back, field), getattr(action, field))
    assert back.certificate == action.certificate
    bare = action_from_msg(action_to_msg(CompositeAction(action.x_ref, action.u_ff, action.gains, 0.1, 12.5,
                                                         action.state_names, action.input_names)), max_length=16)
    assert bare.x_ref_end is None and bare.certificate is None
    assert (back.period, back.start_time, back.state_names, back.input_names, back.sequence, back.sigma,
            back.interpolation) == (0.1, 12.5, action.state_names, action.input_names, 7, 0.05,
                                    Interpolation.ZERO_ORDER_HOLD)
    with pytest.raises(StaleMessageError):
        action_from_msg(action_to_msg(action), max_length=16, now=20.0, max_age=1.0)
