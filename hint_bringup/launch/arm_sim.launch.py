"""Bring up the simulated three-link arm behind ros2_control-style topics, the hint policy and the
high-rate controller.

    ros2 launch hint_bringup arm_sim.launch.py [checkpoint:=...] [sigma:=...] [record:=true] [seed:=0]
        [command_topic:=effort_controller/commands]

The simulator publishes sensor_msgs/JointState on joint_states (read by the controller) and the
full StateVector with the goal point on state (read by the policy); the controller writes
std_msgs/Float64MultiArray efforts on command_topic, which the simulator applies. Same graph as
`python -m hint_bringup.run arm_sim` (see hint_bringup/graphs.py, config/arm_sim.yaml).
"""

from hint_bringup.launch_description import generate


def generate_launch_description():
    return generate("arm_sim")
