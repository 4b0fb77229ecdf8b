"""Known robots (hint_controller.robots): the Panda from example-robot-data, frozen joints, and the
arm models built from them (make_model options)."""

import numpy as np
import pytest

from hint_controller.dynamics import make_model
from hint_controller.robots import ROBOTS, frozen_urdf_text, load_plant, resolve_urdf


def test_the_panda_installs_with_its_published_limits():
    path, robot = resolve_urdf("panda")
    assert path.is_file() and robot is ROBOTS["panda"]
    plant = load_plant(path, robot.base_link, robot.joints)
    assert plant.num_positions() == 7  # the fingers are frozen
    joint4 = plant.GetJointByName("panda_joint4")  # franka_ros's limits, as published
    assert joint4.position_lower_limits()[0] == pytest.approx(-3.0718)
    assert joint4.position_upper_limits()[0] == pytest.approx(-0.0698)
    assert joint4.velocity_upper_limits()[0] == pytest.approx(2.175)


def test_uncommanded_joints_are_frozen_and_unknown_ones_refused():
    path, robot = resolve_urdf("panda")
    text = frozen_urdf_text(path, robot.joints)
    assert 'name="panda_finger_joint1" type="fixed"' in text and "<mimic" not in text
    assert load_plant(path, robot.base_link).num_positions() == 9  # unfrozen: the fingers move
    with pytest.raises(ValueError, match="no movable joints \\['wrist'\\]"):
        frozen_urdf_text(path, ["panda_joint1", "wrist"])
    with pytest.raises(FileNotFoundError, match="neither a file nor a known robot"):
        resolve_urdf("/no/such/arm.urdf")


def test_servo_models_of_the_panda_take_the_identified_response_and_the_joint_order():
    servo = make_model("position_servo", 0.002, "panda", natural_frequency=[18.0] * 7, damping=0.8)
    assert servo.state_names[:2] == ("panda_joint1/position", "panda_joint2/position")
    assert servo.input_names[-1] == "panda_joint7/position"
    np.testing.assert_allclose(servo.natural_frequency, 18.0)
    np.testing.assert_allclose(servo.damping, 0.8)
    np.testing.assert_allclose(servo.input_upper[3], -0.0698)  # commands stay within the position limits
    reordered = make_model("velocity_servo", 0.01, "panda", joints=["panda_joint2", "panda_joint1"], time_constant=0.03)
    assert reordered.input_names == ("panda_joint2/velocity", "panda_joint1/velocity")
    np.testing.assert_allclose(reordered.input_upper, [2.175, 2.175])  # velocity limits bound the commands
    arm3 = make_model("position_servo", 0.01)  # default: the shipped arm
    assert arm3.input_names == ("joint1/position", "joint2/position", "joint3/position")


def test_options_a_model_does_not_take_are_refused():
    with pytest.raises(ValueError, match="takes no options \\['joints'\\]"):
        make_model("pusht_agent", 0.1, joints=["a"])
    with pytest.raises(ValueError, match="takes no options \\['time_constant'\\]"):
        make_model("position_servo", 0.01, time_constant=0.1)
    with pytest.raises(ValueError, match="fully actuated"):
        make_model("manipulator", 0.01, "panda")  # no transmissions: not an effort model
