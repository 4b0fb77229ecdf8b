"""The controller node's own parameters in one table: name, type, default, allowed range, description.

:data:`CONTROLLER_PARAMETERS` is what :class:`hint_controller.controller_node.ControllerNode`
declares (the ros2_control parameters it shares with the policy node come from
:func:`hint_controller.node_main.declare_ros2_control_parameters`). :func:`declare_checked`
declares them and checks every value against its range at start-up: a value of the wrong type or
outside its range (NaN and infinities included) raises ValueError with one line,
``<name> must be <range>, got <value>``, which :func:`hint_controller.node_main.run_node` prints
before exiting with status 1. An integer given for a floating-point parameter (``rate_hz:=500``)
is taken as that number.

The node reads its parameters once, at start-up, so they are declared read-only: a change at run
time (``ros2 param set``) is refused rather than accepted and ignored.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

#: parameter kinds: the Python type of the value (arrays: of each element)
DOUBLE, INTEGER, STRING, DOUBLE_ARRAY, STRING_ARRAY = "double", "integer", "string", "double_array", "string_array"


@dataclasses.dataclass(frozen=True)
class Range:
    """Allowed values of a numeric parameter: finite, from `lower` to `upper` (each inclusive
    unless its `*_open` flag is set; infinite = unbounded on that side). `text` replaces the
    generated description where the numbers alone do not explain the values."""

    lower: float = -math.inf
    upper: float = math.inf
    lower_open: bool = False
    upper_open: bool = False
    text: str = ""

    def contains(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        above = value > self.lower if self.lower_open else value >= self.lower
        below = value < self.upper if self.upper_open else value <= self.upper
        return above and below

    def describe(self, integer: bool) -> str:
        if self.text:
            return self.text
        kind = "an integer" if integer else "a finite number"
        if math.isinf(self.upper):
            return f"{kind} {'>' if self.lower_open else '>='} {_number(self.lower)}"
        return (f"{kind} in {'(' if self.lower_open else '['}{_number(self.lower)}, {_number(self.upper)}"
                f"{')' if self.upper_open else ']'}")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


#: finite and > 0 (periods, timeouts, limits)
POSITIVE = Range(0.0, lower_open=True)
#: finite and >= 0
NON_NEGATIVE = Range(0.0)


@dataclasses.dataclass(frozen=True)
class ParameterSpec:
    """One parameter: `kind` is DOUBLE, INTEGER, STRING, DOUBLE_ARRAY or STRING_ARRAY; `default`
    None declares it without a value (arrays left empty); `range` bounds numbers (of arrays: each
    element), None for strings."""

    name: str
    kind: str
    default: object
    range: Range | None
    description: str

    @property
    def allowed(self) -> str:
        """The allowed values in words, as the error line and ``ros2 param describe`` give them."""
        if self.range is None:
            return "a list of strings" if self.kind == STRING_ARRAY else "a string"
        if self.kind == DOUBLE_ARRAY:
            return f"a list of numbers, each {self.range.describe(integer=False)}"
        return self.range.describe(integer=self.kind == INTEGER)

    def check(self, value: object) -> str | None:
        """None if `value` is allowed, else the one-line error naming the parameter and its range."""
        if value is None or self._fits(value):
            return None
        shown = list(value) if _is_sequence(value) else value
        return f"{self.name} must be {self.allowed}, got {shown!r}"

    def _fits(self, value: object) -> bool:
        if self.kind == STRING:
            return isinstance(value, str)
        if self.kind == STRING_ARRAY:
            return _is_sequence(value) and all(isinstance(v, str) for v in value)
        if self.kind == INTEGER:
            return _is_integer(value) and self.range.contains(value)
        if self.kind == DOUBLE:
            return _is_number(value) and self.range.contains(float(value))
        return _is_sequence(value) and all(_is_number(v) and self.range.contains(float(v)) for v in value)


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_sequence(value: object) -> bool:
    return isinstance(value, (list, tuple)) or type(value).__name__ == "array"  # rclpy gives array('d', ...)


CONTROLLER_PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("model", STRING, "planar_quadrotor", None, "Dynamics model: planar_quadrotor, quadrotor_thrust_torque, pusht_agent, manipulator (effort interface), position_servo or velocity_servo (an arm behind a position or velocity interface; joints and limits from urdf_path), or module:callable. Empty = the arm model of command_interface (effort: manipulator, position: position_servo, velocity: velocity_servo)."),
    ParameterSpec("model_period", DOUBLE, 0.01, POSITIVE, "Discretization period of the model [s] (must match the policy's)."),
    ParameterSpec("urdf_path", STRING, "", None, "URDF of the manipulator and servo models: a file or a known robot (arm3, panda); empty = arm3, the shipped test arm."),
    ParameterSpec("model_joints", STRING_ARRAY, None, None, "Joints of the manipulator and servo models, in the policy's state order; the URDF's other joints are frozen. Empty = the known robot's arm joints, else every movable joint."),
    ParameterSpec("servo_natural_frequency", DOUBLE_ARRAY, None, POSITIVE, "position_servo: natural frequency [rad/s] of each joint's servo (one value = all joints), from python -m hint_bringup.fit_servo; empty = 20."),
    ParameterSpec("servo_damping", DOUBLE_ARRAY, None, NON_NEGATIVE, "position_servo: damping ratio of each joint's servo (one value = all); empty = 1."),
    ParameterSpec("servo_time_constant", DOUBLE_ARRAY, None, POSITIVE, "velocity_servo: time constant [s] of each joint's servo (one value = all); empty = 0.05."),
    ParameterSpec("rate_hz", DOUBLE, 500.0, Range(1.0, 5000.0), "Command rate [Hz]; sustains 1000."),
    # the status timer's period is 1 / status_rate_hz: a tiny rate overflows it, a huge one starves the executor
    ParameterSpec("status_rate_hz", DOUBLE, 10.0, Range(0.01, 1000.0), "Rate of controller_status [Hz]."),
    ParameterSpec("grace_period", DOUBLE, 0.2, NON_NEGATIVE, "After the last knot, hold the final primitive controller this long [s], then go safe."),
    ParameterSpec("safe_mode", STRING, "", None, "Safe command: zero, hover, brake or gravity_compensation; empty = the model's default."),
    ParameterSpec("state_timeout", DOUBLE, 0.05, POSITIVE, "State older than this [s] switches to the safe command (stale-state watchdog)."),
    ParameterSpec("resume_after_states", INTEGER, 10, Range(1.0), "After the state went stale (state_timeout), tracking resumes only once this many consecutive states have arrived, each within state_timeout of the previous one; until then the safe command. 1 = resume at the first state after the gap."),
    ParameterSpec("max_chunk_age", DOUBLE, 0.5, POSITIVE, "Reject a composite action whose last knot ended more than this long ago [s]."),
    ParameterSpec("max_knots", INTEGER, 1024, Range(1.0, 1_000_000.0), "Reject composite actions with more knots than this."),
    ParameterSpec("min_knot_period", DOUBLE, 0.0, NON_NEGATIVE, "Reject a knot_period below this [s]; 0 = model_period / 10."),
    ParameterSpec("max_knot_period", DOUBLE, 10.0, POSITIVE, "Reject a knot_period above this [s]."),
    ParameterSpec("max_chunk_duration", DOUBLE, 30.0, POSITIVE, "Reject a composite action lasting longer than this, length * knot_period [s]."),
    ParameterSpec("max_future", DOUBLE, 1.0, POSITIVE, "Reject a composite action whose header.stamp is further than this ahead of now [s]."),
    ParameterSpec("max_gain_norm", DOUBLE, 1e4, POSITIVE, "Reject a composite action with a gain of larger operator norm (largest singular value)."),
    ParameterSpec("max_contraction", DOUBLE, 0.0, NON_NEGATIVE, "Reject a composite action whose certificate's contraction is not below this, or that has no certificate (hint_controller.stability); 0 = off."),
    ParameterSpec("bound_margin", DOUBLE, 0.5, NON_NEGATIVE, "x_ref / u_ff must lie within the model's state / input bounds widened by this fraction of their range."),
    ParameterSpec("max_pending_chunks", INTEGER, 8, Range(1.0, 1024.0), "Most composite actions waiting for their start; beyond it the oldest is dropped."),
    ParameterSpec("realtime_priority", INTEGER, 0, Range(0.0, 99.0, text="0 (off) or a SCHED_FIFO priority 1-99"), "SCHED_FIFO priority 1-99 of the command thread (0 = default scheduler). Needs CAP_SYS_NICE or an rtprio limit; if refused, a warning is logged and the default scheduler is kept."),
)


def declare_checked(node, specs: Sequence[ParameterSpec] = CONTROLLER_PARAMETERS) -> None:
    """Declare `specs` on `node` (read-only, the allowed range in the descriptor's
    additional_constraints) and check every value: ValueError with the first bad one's line.

    rclpy refuses an override whose type differs from the declared one with its own exception; an
    integer for a DOUBLE (array) is converted to float in the node's overrides first (rclpy has
    no public view of them: ``node._parameter_overrides``), any other mismatch is reported with the
    spec's line.
    """
    from rcl_interfaces.msg import ParameterDescriptor
    from rclpy.exceptions import ParameterException
    from rclpy.parameter import Parameter

    types = {DOUBLE: Parameter.Type.DOUBLE, INTEGER: Parameter.Type.INTEGER, STRING: Parameter.Type.STRING,
             DOUBLE_ARRAY: Parameter.Type.DOUBLE_ARRAY, STRING_ARRAY: Parameter.Type.STRING_ARRAY}
    overrides = node._parameter_overrides
    for spec in specs:
        given = overrides.get(spec.name)
        if given is not None:
            value = given.value
            if spec.kind == DOUBLE and _is_integer(value):
                overrides[spec.name] = Parameter(spec.name, value=float(value))
            elif spec.kind == DOUBLE_ARRAY and _is_sequence(value) and all(_is_integer(v) for v in value):
                overrides[spec.name] = Parameter(spec.name, value=[float(v) for v in value])
            error = spec.check(overrides[spec.name].value)
            if error:
                raise ValueError(error)
        descriptor = ParameterDescriptor(description=spec.description, read_only=True,
                                         additional_constraints=spec.allowed)
        default = types[spec.kind] if spec.default is None else spec.default
        try:
            node.declare_parameter(spec.name, default, descriptor)
        except ParameterException as error:  # a type the check above let through (an empty array)
            raise ValueError(f"{spec.name} must be {spec.allowed}: {error}") from None
        error = spec.check(node.get_parameter_or(spec.name).value)
        if error:
            raise ValueError(error)
