"""QoS profiles shared by hint's nodes (one place, so publishers and subscribers always match).

* ``STREAM_QOS``: high-rate streams where only the newest sample matters (state, command):
  keep-last 1, best effort, so a late sample is dropped instead of retransmitted behind newer
  ones. Simulators and ros2_control's joint_state_broadcaster publish compatibly.
* ``CHUNK_QOS``: composite actions are rare and each one matters: reliable, keep-last 256. The
  depth absorbs a flood of junk from another publisher while the controller rejects it (its
  pre-check on the serialized header costs 13-26 us of CPU a chunk, a chunk that passes it and is
  converted ~250 us): at depth 4 a flood pushed
  8-10 % of the valid chunks out of the reader's history; at 256, under 10,000 junk chunks at
  1000 msg/s (bench ``controller.valid_chunks_lost_under_flood``), 0 of 200 were lost when the
  machine was otherwise quiet and 22 of 199 when other jobs held the CPUs (the controller then
  managed 0.74 of its 500 Hz). A flood faster than the controller can reject still pushes valid
  chunks out (figure ``*.unpaced``).
  Memory: at most 256 samples of the largest chunk sent.
  Transport: 800 KB junk chunks overflow Fast DDS's default 208 KB UDP receive buffer and 512 KB
  shared-memory segments; valid chunks' lost fragments then wait for the writer's next heartbeat
  (3 s) and arrive stale. Large buffers and segments (test/fastdds_localhost.xml) remove that.
* ``STATUS_QOS``: controller status for people and monitors that join late: reliable, latched.
* ``EVENT_QOS``: episode events; a node that starts late still gets the recent ones (latched).

The simulator's side (hint_bringup.sim_node):

* ``SIM_STATE_QOS``: what the simulator publishes per physics step (state, applied input,
  coverage, joint states): reliable keep-last 100, so a reliable reader (the recorder) misses
  nothing at 100-1000 Hz while best-effort readers (STREAM_QOS) still match.
* ``COMMAND_QOS``: the command the simulator applies: only the newest counts (best effort, 1).
* ``IMAGE_QOS``: renders for viewers: reliable, 2 deep.
* ``CLOCK_QOS``: ``/clock`` as ROS expects it: reliable, 1 deep.
"""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

STREAM_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
CHUNK_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=256, reliability=ReliabilityPolicy.RELIABLE)
STATUS_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)
EVENT_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=20, reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)
SIM_STATE_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100, reliability=ReliabilityPolicy.RELIABLE)
COMMAND_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
IMAGE_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=2, reliability=ReliabilityPolicy.RELIABLE)
CLOCK_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE)
