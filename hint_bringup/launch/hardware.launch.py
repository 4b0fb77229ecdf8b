"""Run a trained hint policy on an existing arm driven by ros2_control (no simulator).

    ros2 launch hint_bringup hardware.launch.py checkpoint:=/path/to/arm_policy.pt \
        joint_names:=[joint1,joint2,joint3] urdf_path:=/path/to/arm.urdf \
        [state_topic:=/joint_states] [command_topic:=/effort_controller/commands] \
        [command_interface:=effort] [controller_rate:=500.0] [realtime_priority:=50] [record:=true] \
        [respawn_policy:=true respawn_delay:=2.0]

The controller and the policy read sensor_msgs/JointState on state_topic; the controller publishes
std_msgs/Float64MultiArray on command_topic in joint_names order, and the policy observes it.
use_sim_time defaults to false. When the controller exits, the launch shuts down (a dead controller
is never silent); respawn_policy:=true restarts a policy node that exited after respawn_delay
seconds (default off: the controller holds its safe command once the chunks stop). Stop with
Ctrl-C or `timeout -s INT` (SIGTERM to ros2 launch orphans the nodes). Same graph as `python -m hint_bringup.run hardware ...`
(see hint_bringup/graphs.py, config/hardware.yaml).
"""

from hint_bringup.launch_description import generate


def generate_launch_description():
    return generate("hardware")
