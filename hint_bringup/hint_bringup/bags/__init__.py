"""rosbag2 bags of hint episodes, written and read in pure Python (no ROS).

A hint bag is an ordinary rosbag2 bag (MCAP storage by default, sqlite3 possible) that
`ros2 bag info/play`, rosbags, `mcap` and Foxglove read. It holds some of these topics:

    /state           hint_msgs/StateVector    full env state, stamped with sim time, every physics step
    /applied_input   hint_msgs/InputVector    the input the simulator actually applied during the step
                                              that starts at its stamp (exact; published by sim_node)
    /command         hint_msgs/InputVector    the commands sent to the simulator (controller output)
    /composite_action hint_msgs/CompositeAction  the policy's chunks (kept for analysis, not converted)
    /episode_event   hint_msgs/EpisodeEvent   START ... SUCCESS | COLLISION | TIMEOUT | STOP

Metadata goes into the bag's own ``custom_data`` (metadata.yaml, rosbag2 >= Iron):

    hint.operator         who acted: "expert", "teleop", "policy" (the Demo's `source`)
    hint.environment      environment name of the recorded simulator
    hint.physics_period   seconds between consecutive states
    hint.episodes         JSON list of {episode_index, seed, event, score} per finished episode
    hint.recorder         what wrote the bag

Modules: :mod:`~hint_bringup.bags.types` (hint_msgs in a rosbags type store, message builders),
:mod:`~hint_bringup.bags.storage` (MCAP and sqlite3 files), :mod:`~hint_bringup.bags.writer`
(:class:`BagWriter`), :mod:`~hint_bringup.bags.reader` (finding and opening bags),
:mod:`~hint_bringup.bags.episodes` (demos to a bag and a bag cut into episodes, with the
conversion rules), :mod:`~hint_bringup.bags.repair` (a bag whose writer died).
"""

from hint_bringup.bags.episodes import read_episodes, write_demo_bag
from hint_bringup.bags.errors import BagError, CorruptBagError, MissingTopicError
from hint_bringup.bags.reader import bag_custom_data, find_bags, open_reader
from hint_bringup.bags.repair import repair_bag
from hint_bringup.bags.storage import DEFAULT_CHUNK_SIZE, STORAGES
from hint_bringup.bags.types import (
    COMPOSITE_ACTION_TYPE, DEFAULT_TOPICS, EVENT_TYPE, INPUT_TYPE, STATE_TYPE, event_message, header_message,
    hint_msgs_dir, input_message, make_typestore, stamp_ns, state_message, topic_name,
)
from hint_bringup.bags.writer import BagWriter

__all__ = [
    "COMPOSITE_ACTION_TYPE",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_TOPICS",
    "EVENT_TYPE",
    "INPUT_TYPE",
    "STATE_TYPE",
    "STORAGES",
    "BagError",
    "BagWriter",
    "CorruptBagError",
    "MissingTopicError",
    "bag_custom_data",
    "event_message",
    "find_bags",
    "header_message",
    "hint_msgs_dir",
    "input_message",
    "make_typestore",
    "open_reader",
    "read_episodes",
    "repair_bag",
    "stamp_ns",
    "state_message",
    "topic_name",
    "write_demo_bag",
]
