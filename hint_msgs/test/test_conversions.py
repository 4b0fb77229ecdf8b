"""Unit tests of hint_msgs.conversions: round trips and one test per rejection."""

import math

import numpy as np
import pytest

pytestmark = pytest.mark.ros

conversions = pytest.importorskip("hint_msgs.conversions")
from hint_msgs.msg import CompositeAction, InputVector, StateVector  # noqa: E402

STATE_NAMES = [f"joint{i}_position" for i in range(7)] + [f"joint{i}_velocity" for i in range(7)]
INPUT_NAMES = [f"joint{i}_effort" for i in range(7)]


def arm_chunk(length: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(length, 14)), rng.normal(size=(length, 7)), rng.normal(size=(length, 7, 14))


def arm_msg(**overrides) -> CompositeAction:
    x_ref, u_ff, gains = arm_chunk()
    kwargs = dict(knot_period=0.1, stamp=12.25, state_names=STATE_NAMES, input_names=INPUT_NAMES, sequence=3, sigma=0.05)
    kwargs.update(overrides)
    return conversions.composite_action_to_msg(x_ref, u_ff, gains, **kwargs)


def test_seven_dof_chunk_of_sixteen_knots_round_trips_exactly():
    x_ref, u_ff, gains = arm_chunk()
    msg = arm_msg()
    assert (msg.length, msg.state_dim, msg.input_dim) == (16, 14, 7)
    chunk = conversions.composite_action_from_msg(msg, state_names=STATE_NAMES, input_names=INPUT_NAMES)
    np.testing.assert_array_equal(chunk.x_ref, x_ref)
    np.testing.assert_array_equal(chunk.u_ff, u_ff)
    np.testing.assert_array_equal(chunk.gains, gains)
    assert chunk.start_time == pytest.approx(12.25)
    assert (chunk.sequence, chunk.sigma, chunk.knot_period) == (3, 0.05, 0.1)
    assert chunk.interpolation == CompositeAction.INTERPOLATION_LINEAR


def test_gains_are_row_major_input_by_state():
    x_ref, u_ff, gains = arm_chunk(length=2)
    msg = conversions.composite_action_to_msg(
        x_ref, u_ff, gains, knot_period=0.1, stamp=0.0, state_names=STATE_NAMES, input_names=INPUT_NAMES
    )
    # element [k, i, j] sits at k*m*n + i*n + j
    assert msg.gains[1 * 7 * 14 + 2 * 14 + 5] == gains[1, 2, 5]


@pytest.mark.parametrize(
    "mutate, error, text",
    [
        (lambda m: setattr(m, "length", 15), conversions.DimensionError, "x_ref has"),
        (lambda m: setattr(m, "length", 0), conversions.DimensionError, ">= 1"),
        (lambda m: setattr(m, "gains", list(m.gains)[:-1]), conversions.DimensionError, "gains has"),
        (lambda m: setattr(m, "state_names", STATE_NAMES[:-1]), conversions.DimensionError, "state names"),
        (lambda m: setattr(m, "input_names", INPUT_NAMES[:-1] + [INPUT_NAMES[0]]), conversions.NameMismatchError, "not unique"),
        (lambda m: setattr(m, "knot_period", 0.0), conversions.DimensionError, "knot_period"),
        (lambda m: setattr(m, "knot_period", math.nan), conversions.DimensionError, "knot_period"),
        (lambda m: setattr(m, "sigma", -1.0), conversions.NonFiniteError, "sigma"),
        (lambda m: setattr(m, "interpolation", 7), conversions.MessageValidationError, "interpolation"),
        (lambda m: setattr(m, "x_ref_end", [0.0] * 3), conversions.DimensionError, "x_ref_end"),
        (lambda m: setattr(m, "x_ref_end", [math.nan] * len(m.state_names)), conversions.NonFiniteError, "x_ref_end"),
        (lambda m: setattr(m, "input_gain", math.inf), conversions.NonFiniteError, "certificate"),
    ],
)
def test_malformed_composite_action_is_rejected(mutate, error, text):
    msg = arm_msg()
    mutate(msg)
    with pytest.raises(error, match=text):
        conversions.composite_action_from_msg(msg)


def test_x_ref_end_and_certificate_default_to_absent_and_round_trip():
    msg = arm_msg()
    arrays = conversions.composite_action_from_msg(msg)
    assert arrays.x_ref_end is None and arrays.certificate == (-1.0, -1.0, -1.0)
    msg.x_ref_end = [float(i) for i in range(len(msg.state_names))]
    msg.contraction, msg.transient_gain, msg.input_gain = 0.5, 1.5, 2.5
    arrays = conversions.composite_action_from_msg(msg)
    np.testing.assert_array_equal(arrays.x_ref_end, np.arange(len(msg.state_names)))
    assert arrays.certificate == (0.5, 1.5, 2.5)


@pytest.mark.parametrize("field", ["x_ref", "u_ff", "gains"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_rejected(field, bad):
    msg = arm_msg()
    values = list(getattr(msg, field))
    values[3] = bad
    setattr(msg, field, values)
    with pytest.raises(conversions.NonFiniteError, match=field):
        conversions.composite_action_from_msg(msg)


def test_names_differing_from_the_expected_robot_are_rejected():
    msg = arm_msg()
    swapped = STATE_NAMES[1:2] + STATE_NAMES[:1] + STATE_NAMES[2:]
    with pytest.raises(conversions.NameMismatchError, match="differ from the expected"):
        conversions.composite_action_from_msg(msg, state_names=swapped)
    with pytest.raises(conversions.NameMismatchError, match="differ from the expected"):
        conversions.composite_action_from_msg(msg, input_names=["a"] * 7)


def test_oversize_chunk_is_rejected():
    with pytest.raises(conversions.SizeLimitError, match="knots"):
        conversions.composite_action_from_msg(arm_msg(), max_length=8)
    with pytest.raises(conversions.SizeLimitError, match="elements"):
        conversions.composite_action_from_msg(arm_msg(), max_elements=1000)


def test_stale_chunk_is_rejected_but_a_current_one_is_not():
    msg = arm_msg(stamp=10.0)  # 16 knots x 0.1 s: ends at 11.6 s
    conversions.composite_action_from_msg(msg, now=11.0, max_age=0.5)
    with pytest.raises(conversions.StaleMessageError, match="ended"):
        conversions.composite_action_from_msg(msg, now=12.2, max_age=0.5)


def test_to_msg_rejects_inconsistent_arrays():
    x_ref, u_ff, gains = arm_chunk()
    with pytest.raises(conversions.DimensionError, match="u_ff"):
        conversions.composite_action_to_msg(
            x_ref, u_ff[:, :6], gains, knot_period=0.1, stamp=0.0, state_names=STATE_NAMES, input_names=INPUT_NAMES
        )
    with pytest.raises(conversions.DimensionError, match="gains"):
        conversions.composite_action_to_msg(
            x_ref, u_ff, gains.transpose(0, 2, 1), knot_period=0.1, stamp=0.0, state_names=STATE_NAMES, input_names=INPUT_NAMES
        )
    with pytest.raises(ValueError, match="stamp"):
        conversions.composite_action_to_msg(
            x_ref, u_ff, gains, knot_period=0.1, stamp=-1.0, state_names=STATE_NAMES, input_names=INPUT_NAMES
        )


def test_vectors_round_trip_and_select_by_name():
    msg = conversions.vector_to_msg(StateVector, ["a", "b", "c"], np.array([1.0, 2.0, 3.0]), stamp=2.5)
    np.testing.assert_array_equal(conversions.vector_from_msg(msg), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(conversions.vector_from_msg(msg, ["c", "a"]), [3.0, 1.0])
    assert conversions.stamp_to_seconds(msg.header.stamp) == 2.5
    command = conversions.vector_to_msg(InputVector, ["u"], np.array([0.5]), stamp=0.0)
    assert isinstance(command, InputVector)


@pytest.mark.parametrize(
    "names, values, error",
    [
        (["a", "b"], [1.0], conversions.DimensionError),
        (["a", "a"], [1.0, 2.0], conversions.NameMismatchError),
        (["a", "b"], [1.0, math.nan], conversions.NonFiniteError),
    ],
)
def test_malformed_vector_is_rejected(names, values, error):
    msg = StateVector(names=names, values=values)
    with pytest.raises(error):
        conversions.vector_from_msg(msg)


def test_vector_missing_a_wanted_name_is_rejected():
    msg = StateVector(names=["a", "b"], values=[1.0, 2.0])
    with pytest.raises(conversions.NameMismatchError, match=r"lacks \['z'\]"):
        conversions.vector_from_msg(msg, ["a", "z"])
    with pytest.raises(conversions.NonFiniteError):
        conversions.vector_to_msg(StateVector, ["a"], np.array([math.inf]), stamp=0.0)


@pytest.mark.parametrize("frame_id", ["", "w", "map", "odom", "base_link_13", "x" * 64])
def test_header_read_from_the_serialized_chunk_equals_the_deserialized_one(frame_id):
    from rclpy.serialization import serialize_message

    msg = arm_msg(knot_period=0.0371, stamp=1_700_000_123.456789, sequence=2**40 + 7)
    msg.header.frame_id = frame_id  # its length moves the fields after it (CDR alignment)
    msg.length = 513  # read as sent, not derived from the arrays
    header = conversions.composite_action_header(serialize_message(msg))
    assert header == (conversions.stamp_to_seconds(msg.header.stamp), msg.sequence, msg.knot_period, 513)


@pytest.mark.parametrize("data", [b"", b"\x00\x01\x00\x00" + b"\x00" * 10, b"\x00\x07\x00\x00" + b"\x00" * 64])
def test_truncated_or_non_cdr_serialized_chunk_is_rejected(data):
    with pytest.raises(conversions.MessageValidationError):
        conversions.composite_action_header(data)
