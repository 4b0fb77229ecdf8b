"""What every hint node shares: `main()` (init, spin until Ctrl-C, ordered shutdown), the
parameters that connect a node to a ros2_control arm, and the one-job-at-a-time background worker
of the nodes that plan or sample off the executor thread."""

from __future__ import annotations

import faulthandler
import signal
import threading
from collections.abc import Callable, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from hint_controller.joint_state import COMMAND_INTERFACES
from hint_controller.parameter_schema import STRING, STRING_ARRAY, ParameterSpec, declare_checked


#: the values of state_source and command_format (the simulator's command_format too)
STATE_SOURCES = ("state_vector", "joint_state")
COMMAND_FORMATS = ("input_vector", "float64_multi_array")


def ros2_control_parameters(inputs_of: str) -> tuple[ParameterSpec, ...]:
    """state_source, command_format, command_interface and joint_names (see controller_node);
    `inputs_of` names whose inputs are ``<joint>/<interface>`` ("model", "policy")."""
    return (
        ParameterSpec("state_source", STRING, "state_vector", None, "state_vector (hint_msgs/StateVector) or joint_state (sensor_msgs/JointState: joints matched by name, any order; states '<joint>/position', '<joint>/velocity').", choices=STATE_SOURCES),
        ParameterSpec("command_format", STRING, "input_vector", None, "input_vector (hint_msgs/InputVector) or float64_multi_array (std_msgs/Float64MultiArray of a ros2_control forward command controller).", choices=COMMAND_FORMATS),
        ParameterSpec("command_interface", STRING, "effort", None, f"ros2_control command interface: the {inputs_of}'s inputs are named '<joint>/<interface>'.", choices=COMMAND_INTERFACES),
        ParameterSpec("joint_names", STRING_ARRAY, None, None, f"Joints in the forward command controller's order (float64_multi_array); empty = the {inputs_of}'s input order."),
    )


def declare_ros2_control_parameters(node: Node, inputs_of: str) -> None:
    """Declare and check :func:`ros2_control_parameters` (ValueError: one line)."""
    declare_checked(node, ros2_control_parameters(inputs_of))


class BackgroundJob:
    """One background job at a time (the policy node's sampling, the expert node's planning).

    ``reserve()`` claims the slot without waiting (False while a job runs), ``start(target, *args)``
    runs the job in a thread that frees the slot when it ends. The thread is not a daemon and :meth:`close` (from the node's destroy_node)
    refuses new jobs and joins the running one, so no job runs into the context's shutdown or the
    interpreter's teardown. The job handles its own errors."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._slot = threading.Lock()
        self._thread: threading.Thread | None = None

    def reserve(self) -> bool:
        return self._slot.acquire(blocking=False)

    def start(self, target: Callable[..., None], *args: object) -> None:
        """Run `target(*args)` in the background; call after a successful :meth:`reserve`."""
        self._thread = threading.Thread(target=self._run, args=(target, args), name=self.name)
        self._thread.start()

    def _run(self, target: Callable[..., None], args: tuple) -> None:
        try:
            target(*args)
        finally:
            self._slot.release()

    def close(self) -> None:
        """No new job from now on; wait for the running one."""
        self._slot.acquire()
        if self._thread is not None:
            self._thread.join()


def stop_on_signals() -> threading.Event:
    """An event that SIGINT and SIGTERM set, and nothing else: no exception is raised wherever the
    main thread happens to be (rclpy's default handler shuts the context down at once and Python's
    raises KeyboardInterrupt, e.g. inside take_message, while other threads still publish)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, frame: stop.set())
    return stop


def run_node(
    make_node: Callable[[], Node],
    args: Sequence[str] | None = None,
    name: str = "hint",
    *,
    done: Callable[[Node], bool] | None = None,
    before_shutdown: Callable[[Node], None] | None = None,
) -> None:
    """Create the node with `make_node` and spin it until SIGINT / SIGTERM (or `done(node)`).

    Shutdown order: spinning stops, `before_shutdown(node)` runs while the context is alive (a
    last message), ``node.destroy_node()`` stops and joins the node's own threads, and only then
    is the context shut down, so no thread publishes into a dead context.
    A configuration error raised while the node is built (missing file, bad parameter: a
    FileNotFoundError or ValueError) is printed as one line and ends the process with status 1.
    """
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    stop = stop_on_signals()
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # where it hangs, if a stop never ends (hint_bringup.run)
    node = None
    try:
        node = make_node()
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        while rclpy.ok() and not stop.is_set() and not (done is not None and done(node)):
            executor.spin_once(timeout_sec=0.1)
        executor.remove_node(node)
        if before_shutdown is not None and rclpy.ok():
            before_shutdown(node)
    except ExternalShutdownException:
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
