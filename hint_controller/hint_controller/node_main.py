"""The `main()` every hint node shares: init, spin until Ctrl-C, clean shutdown."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node


def run_node(make_node: Callable[[], Node], args: Sequence[str] | None = None, name: str = "hint") -> None:
    """Create the node with `make_node` and spin it.

    A configuration error raised while the node is built (missing file, bad parameter: a
    FileNotFoundError or ValueError) is printed as one line and ends the process with status 1.
    """
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (FileNotFoundError, ValueError) as error:
        if node is not None:
            raise
        print(f"{name}: {error}", flush=True)
        raise SystemExit(1) from None
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
