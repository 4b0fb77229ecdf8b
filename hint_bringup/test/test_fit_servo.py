"""python -m hint_bringup.fit_servo: a bag of a step command on a simulated servoed arm gives back
the servo's parameters."""

from __future__ import annotations

import numpy as np
import pytest

from hint_bringup.bags import BagWriter, header_message
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
                header=header_message(bag.store, t_ns), name=["gripper"] + [JOINTS[i] for i in order],
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


@pytest.mark.ros
def test_the_can_arms_servo_is_identified_from_a_step_recorded_through_ros(ros, spawn, tmp_path, capsys):
    """As on a real arm: the simulator behind ros2_control-style topics, the recorder taking
    joint_states and the forward position commands, one joint's command stepping by 0.1 rad; the
    fit matches the servo the Can and Square configs and launch files use."""
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray

    from hint_policy.envs.robosuite_tasks import ARM_JOINTS, DAMPING, FINGER_JOINT, NATURAL_FREQUENCY

    joints = [*ARM_JOINTS, FINGER_JOINT]
    commands_topic = "/position_controller/commands"
    spawn("-m", "hint_bringup.sim_node", "--ros-args", "-p", "environment:=can", "-p", "image_rate_hz:=0.0",
          "-p", "state_format:=joint_state", "-p", "command_format:=float64_multi_array",
          "-p", "command_interface:=position", "-p", f"joint_names:=[{','.join(joints)}]",
          "-p", "auto_reset:=false", "-p", "command_timeout:=100.0", "-r", f"command:={commands_topic}")
    recorder = spawn("-m", "hint_bringup.recorder_node", "--ros-args", "-p", f"output_dir:={tmp_path}",
                     "-p", "bag_name:=step", "-p", f"topics:=[/joint_states, {commands_topic}]",
                     "-p", "environment:=can", "-p", "use_sim_time:=true")  # the JointState's clock
    node = ros.node("servo_step")
    states = []
    node.create_subscription(JointState, "/joint_states", states.append, 100)
    publisher = node.create_publisher(Float64MultiArray, commands_topic, 10)
    assert ros.spin_until(lambda: len(states) > 10 and publisher.get_subscription_count() >= 2, 60)
    hold = [dict(zip(states[-1].name, states[-1].position, strict=True))[joint] for joint in joints]
    stepped = list(hold)
    stepped[1] += 0.1  # panda_joint2
    for command, seconds in ((hold, 1.0), (stepped, 1.5)):
        timer = node.create_timer(0.01, lambda c=command: publisher.publish(Float64MultiArray(data=c)))
        ros.spin_for(seconds)
        node.destroy_timer(timer)
    recorder.send_signal(2)
    assert recorder.wait(timeout=20) == 0
    assert main([str(tmp_path / "step"), "--joint", "panda_joint2", "--interface", "position",
                 "--joint-names", ",".join(joints), "--command-topic", commands_topic, "--min-step", "0.05"]) == 0
    out = capsys.readouterr().out
    assert float(out.split("natural_frequency ")[1].split()[0]) == pytest.approx(NATURAL_FREQUENCY[1], rel=0.1), out
    assert float(out.split("damping ")[1].split()[0]) == pytest.approx(DAMPING[1], rel=0.1), out
