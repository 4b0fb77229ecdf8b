"""QoS profiles shared by hint's nodes (one place, so publishers and subscribers always match).

* ``STREAM_QOS``: high-rate streams where only the newest sample matters (state, command):
  keep-last 1, best effort, so a late sample is dropped instead of retransmitted behind newer
  ones. Simulators and ros2_control's joint_state_broadcaster publish compatibly.
* ``CHUNK_QOS``: composite actions are rare and each one matters: reliable, a few deep.
* ``STATUS_QOS``: controller status for people and monitors that join late: reliable, latched.
* ``EVENT_QOS``: episode events; a node that starts late still gets the recent ones (latched).
"""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

STREAM_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
CHUNK_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=4, reliability=ReliabilityPolicy.RELIABLE)
STATUS_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)
EVENT_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=20, reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)
