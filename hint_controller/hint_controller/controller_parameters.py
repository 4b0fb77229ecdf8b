"""The controller node's own parameters in one table: name, type, default, allowed range, description.

:data:`CONTROLLER_PARAMETERS` is what :class:`hint_controller.controller_node.ControllerNode`
declares with :func:`hint_controller.parameter_schema.declare_checked` (read-only, every value
checked at start-up: one line naming the parameter and its range, exit status 1); the
ros2_control parameters it shares with the policy node come from
:func:`hint_controller.node_main.declare_ros2_control_parameters`.
"""

from __future__ import annotations

from hint_controller.parameter_schema import (
    DOUBLE, DOUBLE_ARRAY, INTEGER, NON_NEGATIVE, POSITIVE, STRING, STRING_ARRAY, ParameterSpec, Range,
    declare_checked
)

#: the table, and the schema names it is written with
__all__ = ["CONTROLLER_PARAMETERS", "DOUBLE", "DOUBLE_ARRAY", "INTEGER", "NON_NEGATIVE", "POSITIVE", "STRING",
           "STRING_ARRAY", "ParameterSpec", "Range", "declare_checked"]


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
    ParameterSpec("command_loop", STRING, "thread", None, "Where the command loop runs: thread (a thread of the node process) or process (a process of its own, fed through shared memory: no message handling, logging or garbage collection of the node can delay a command; experimental: see the timing notes).", choices=("process", "thread")),
)

