"""python -m hint_bringup.fit_servo: a bag of a step command on a simulated servoed arm gives back
the servo's parameters."""

from __future__ import annotations

import numpy as np
import pytest

from hint_bringup.bags import BagWriter, _header
from hint_bringup.fit_servo import main
from hint_controller.dynamics.servo import JointServo

JOINTS = ("joint1", "joint2", "joint3")


def write_step_bag(path, interface: str, servo: JointServo, step_joint: int, step: float):
    """JointState at 500 Hz (extra joint, shuffled order) and 100 Hz commands; the step at 0.2 s."""
    rng = np.random.default_rng(0)
    x = np.r_[0.3, -0.2, 0.1, 0.0, 0.0, 0.0]
    hold = x[:3].copy() if interface == "position" else np.zeros(3)
    with BagWriter(path) as bag:
        bag.add_topic("/joint_states", "sensor_msgs/msg/JointState")
        bag.add_topic("/arm_controller/commands", "std_msgs/msg/Float64MultiArray")
        types = bag.store.types
        for k in range(500):  # 1 s at 2 ms
            t_ns = 1_000_000_000 + k * 2_000_000
            command = hold.copy()
            if k * 0.002 >= 0.2:
                command[step_joint] += step
            if k % 5 == 0:
                bag.write("/arm_controller/commands", t_ns, types["std_msgs/msg/Float64MultiArray"](
                    layout=types["std_msgs/msg/MultiArrayLayout"](dim=[], data_offset=0), data=command))
            order = [2, 0, 1]
            bag.write("/joint_states", t_ns, types["sensor_msgs/msg/JointState"](
                header=_header(bag.store, t_ns), name=["gripper"] + [JOINTS[i] for i in order],
                position=np.r_[0.0, x[order] + rng.normal(0, 1e-5, 3)],
                velocity=np.r_[0.0, x[3:][order] + rng.normal(0, 1e-4, 3)], effort=np.zeros(4)))
            x = servo.step(x, command)


@pytest.mark.parametrize("interface", ["position", "velocity"])
def test_the_step_response_in_a_bag_gives_the_servo_parameters(tmp_path, capsys, interface):
    servo = JointServo(JOINTS, interface, period=0.002, natural_frequency=30.0, damping=0.5, time_constant=0.08)
    write_step_bag(tmp_path / "step", interface, servo, step_joint=1, step=0.15)
    assert main([str(tmp_path / "step"), "--joint", "joint2", "--interface", interface,
                 "--joint-names", "joint1,joint2,joint3", "--command-topic", "arm_controller/commands"]) == 0
    out = capsys.readouterr().out
    if interface == "position":
        wn = float(out.split("natural_frequency ")[1].split()[0])
        zeta = float(out.split("damping ")[1].split()[0])
        assert wn == pytest.approx(30.0, rel=0.03) and zeta == pytest.approx(0.5, rel=0.05)
    else:
        assert float(out.split("time_constant ")[1].split()[0]) == pytest.approx(0.08, rel=0.05)


def test_a_bag_without_a_step_is_refused_with_a_reason(tmp_path):
    servo = JointServo(JOINTS, "position", period=0.002)
    write_step_bag(tmp_path / "flat", "position", servo, step_joint=0, step=0.0)
    with pytest.raises(ValueError, match="never changes"):
        main([str(tmp_path / "flat"), "--joint", "joint1", "--joint-names", "joint1,joint2,joint3",
              "--command-topic", "/arm_controller/commands"])
    with pytest.raises(ValueError, match="no std_msgs/msg/Float64MultiArray topic /other"):
        main([str(tmp_path / "flat"), "--joint", "joint1", "--joint-names", "joint1,joint2,joint3",
              "--command-topic", "/other"])
