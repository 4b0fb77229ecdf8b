"""Bring up the pusht simulator, the hint policy (or the expert, or teleop) and the high-rate controller.

    ros2 launch hint_bringup pusht_sim.launch.py [checkpoint:=...] [sigma:=...] [record:=true] [seed:=0]
        [driver:=policy|expert|teleop]

Same graph as `python -m hint_bringup.run pusht_sim` (see hint_bringup/graphs.py, config/pusht_sim.yaml).
"""

from hint_bringup.launch_description import generate


def generate_launch_description():
    return generate("pusht_sim")
