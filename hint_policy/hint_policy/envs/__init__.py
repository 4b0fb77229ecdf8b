"""ROS-free simulators: PushT (gym-pusht physics) and the planar quadrotor obstacle task."""
