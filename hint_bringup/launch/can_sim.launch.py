"""Bring up robomimic Can on robosuite/MuJoCo with the Franka Panda behind a ros2_control position
interface, the shipped hint policy (checkpoints/can.pt) and the high-rate controller.

    ros2 launch hint_bringup can_sim.launch.py [checkpoint:=...] [sigma:=...] [record:=true] [seed:=0]
        [command_topic:=position_controller/commands] [driver:=policy|expert] [real_time_factor:=1.0]

The simulator publishes sensor_msgs/JointState on joint_states (arm and fingers, read by the
controller and the policy) and the can's geometry_msgs/PoseStamped on object_pose (as a perception
node would; read by the policy); the controller writes std_msgs/Float64MultiArray joint and finger
position commands on command_topic, which the simulated servos follow. Same graph as
`python -m hint_bringup.run can_sim` (see
hint_bringup/graphs.py, config/can_sim.yaml).
"""

from hint_bringup.launch_description import generate


def generate_launch_description():
    return generate("can_sim")
