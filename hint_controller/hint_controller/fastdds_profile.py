"""The controller node's Fast DDS endpoint memory: readers that free what they have delivered.

A reader's history under rmw_fastrtps's default memory policy keeps each of its slots grown to
the largest sample it ever held. The controller's composite_action reader is deep (CHUNK_QOS,
256) and open to any publisher, so one burst of oversized chunks would stay resident for the
node's life. :func:`use_node_profile` gives the node's process the shipped profile
(``fastdds_controller.xml``: DYNAMIC reader history, writers as rmw_fastrtps sets them) unless
the user configured Fast DDS, which then decides. The command loop process publishes only and
sets its own publication mode (:func:`own_publication_mode`).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

NODE_PROFILE = Path(__file__).with_name("fastdds_controller.xml")
#: environment variables through which a user configures Fast DDS with XML (2.x and 3.x names)
PROFILE_VARIABLES = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
#: rmw_fastrtps takes history memory policy and publication mode from the XML only when this is 1
QOS_FROM_XML = "RMW_FASTRTPS_USE_QOS_FROM_XML"


def use_node_profile(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Select :data:`NODE_PROFILE` for this process's participant (call before rclpy.init); False,
    changing nothing, when the user has set a profiles file or QOS_FROM_XML."""
    if any(name in environ for name in (*PROFILE_VARIABLES, QOS_FROM_XML)):
        return False
    environ[PROFILE_VARIABLES[0]] = str(NODE_PROFILE)
    environ[QOS_FROM_XML] = "1"
    return True


def own_publication_mode(environ: MutableMapping[str, str] = os.environ) -> None:
    """In the command loop process: rmw_fastrtps's publication mode from RMW_FASTRTPS_PUBLICATION_MODE
    (which the loop sets for itself), never from an XML profile."""
    environ[QOS_FROM_XML] = "0"
