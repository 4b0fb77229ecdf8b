"""Identify an arm's servo from a recorded step command: the parameters of the position_servo /
velocity_servo models (hint_controller.dynamics.servo) for a robot behind ros2_control.

    ros2 bag record -s mcap /joint_states /position_controller/commands     # while you command one step
    python -m hint_bringup.fit_servo BAG --joint joint1 --interface position \
        --command-topic /position_controller/commands --joint-names joint1,joint2,joint3

Record, with the arm at rest, the JointState topic and the forward command controller's
``std_msgs/Float64MultiArray`` commands while one joint's command steps once (e.g. by 0.1 rad or
0.2 rad/s) and is then held. The tool finds the step (the first change of that joint's command
larger than ``--min-step``), takes the joint's JointState samples from the step on for
``--window`` seconds, and fits by least squares

* position interface: natural frequency wn [rad/s] and damping zeta of
  qdd = wn^2 (q_cmd - q) - 2 zeta wn qd;
* velocity interface: time constant tau [s] of qdd = (v_cmd - qd) / tau.

It prints the fit, its RMS residual and the parameters to put in the model. ``--joint-names``
is the commands' joint order (the controller's ``joints`` parameter); the JointState is matched
by name. Exit status: 0 fitted, 2 usage or bag errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hint_bringup.bags import CorruptBagError, open_reader, make_typestore, stamp_ns, topic_name
from hint_bringup.graphs import parse_names
from hint_controller.dynamics.servo import (
    INTERFACES, fit_position_step, fit_velocity_step, position_step_response, velocity_step_response,
)
from hint_policy.cli import add_debug_flag, run_main

JOINT_STATE_TYPE = "sensor_msgs/msg/JointState"
ARRAY_TYPE = "std_msgs/msg/Float64MultiArray"


def read_step(bag: Path, joint: str, joint_names: Sequence[str], state_topic: str, command_topic: str,
              interface: str, min_step: float, window: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(times since the step [s], the joint's response relative to its value at the step, step size)."""
    store = make_typestore()
    if joint not in joint_names:
        raise ValueError(f"--joint {joint!r} is not among --joint-names {list(joint_names)}")
    column = list(joint_names).index(joint)
    states: list[tuple[int, float]] = []
    commands: list[tuple[int, float]] = []
    with open_reader(bag) as reader:
        topics = {c.topic: c.msgtype for c in reader.connections}
        for topic, msgtype in ((state_topic, JOINT_STATE_TYPE), (command_topic, ARRAY_TYPE)):
            if topics.get(topic) != msgtype:
                raise ValueError(f"{bag}: no {msgtype} topic {topic} (the bag has {sorted(topics)})")
        wanted = [c for c in reader.connections if c.topic in (state_topic, command_topic)]
        try:
            for connection, timestamp, data in reader.messages(connections=wanted):
                message = store.deserialize_cdr(bytes(data), connection.msgtype)
                if connection.topic == command_topic:
                    if len(message.data) != len(joint_names):
                        raise ValueError(f"{bag}: a command has {len(message.data)} values for {len(joint_names)} joints")
                    commands.append((timestamp, float(message.data[column])))
                elif joint in message.name:
                    index = list(message.name).index(joint)
                    values = message.position if interface == "position" else message.velocity
                    states.append((stamp_ns(message.header.stamp) or timestamp, float(values[index])))
        except ValueError:
            raise
        except Exception as error:
            raise CorruptBagError(f"{bag}: cannot read messages: {error}") from error
    if len(commands) < 2 or len(states) < 5:
        raise ValueError(f"{bag}: {len(commands)} commands and {len(states)} states of {joint}: too few to find a step")
    values = np.array([v for _, v in commands])
    jumps = np.flatnonzero(np.abs(np.diff(values)) > min_step)
    if not len(jumps):
        raise ValueError(f"{bag}: the command of {joint} never changes by more than --min-step {min_step}")
    step_ns, step = commands[jumps[0] + 1][0], float(values[jumps[0] + 1] - values[jumps[0]])
    state_times = np.array([t for t, _ in states], dtype=np.int64)
    state_values = np.array([v for _, v in states])
    before = np.flatnonzero(state_times <= step_ns)
    if not len(before):
        raise ValueError(f"{bag}: no state of {joint} before the step")
    after = (state_times > step_ns) & (state_times <= step_ns + int(window * 1e9))
    start_value = state_values[before[-1]] if interface == "position" else 0.0
    if interface == "position":
        step = float(values[jumps[0] + 1] - start_value)
    return (state_times[after] - step_ns) * 1e-9, state_values[after] - start_value, step


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hint_bringup.fit_servo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bag", type=Path, help="bag directory or .mcap file")
    parser.add_argument("--joint", required=True, help="the joint whose command steps")
    parser.add_argument("--interface", choices=INTERFACES, default="position")
    parser.add_argument("--joint-names", required=True, help="the commands' joint order: a,b,c")
    parser.add_argument("--state-topic", default="/joint_states")
    parser.add_argument("--command-topic", required=True, help="the forward command controller's commands topic")
    parser.add_argument("--min-step", type=float, default=1e-3, help="smallest command change that counts as the step")
    parser.add_argument("--window", type=float, default=1.0, help="seconds of response after the step to fit")
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    names = parse_names(args.joint_names)
    times, response, step = read_step(args.bag, args.joint, names, topic_name(args.state_topic),
                                      topic_name(args.command_topic), args.interface, args.min_step, args.window)
    if args.interface == "position":
        wn, zeta = fit_position_step(times, response, step)
        rms = float(np.sqrt(np.mean((position_step_response(times, step, wn, zeta) - response) ** 2)))
        print(f"{args.joint}: position servo, step {step:+.4g} rad, {len(times)} samples: "
              f"natural_frequency {wn:.4g} rad/s, damping {zeta:.3f} (RMS residual {rms:.2g} rad)")
        print(f"JointServo(..., interface='position', natural_frequency={wn:.4g}, damping={zeta:.3f})")
    else:
        tau = fit_velocity_step(times, response, step)
        rms = float(np.sqrt(np.mean((velocity_step_response(times, step, tau) - response) ** 2)))
        print(f"{args.joint}: velocity servo, step {step:+.4g} rad/s, {len(times)} samples: "
              f"time_constant {tau:.4g} s (RMS residual {rms:.2g} rad/s)")
        print(f"JointServo(..., interface='velocity', time_constant={tau:.4g})")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
