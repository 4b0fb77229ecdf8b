"""The expert node: a scripted expert in the policy's place, acting through the same controller.

    python -m hint_bringup.expert_node --ros-args -p environment:=pusht [-p exec_knots:=8]

Subscribes
  ``state``          hint_msgs/StateVector, the full measured state (matched by name)
  ``episode_event``  hint_msgs/EpisodeEvent; START (re)starts the expert with the episode's seed
Publishes
  ``composite_action``  hint_msgs/CompositeAction, one chunk every ``exec_knots`` knots

The expert of the environment (:data:`hint_bringup.expert_chunks.EXPERTS`: the PushT push
planner, the quadrotor's trajectory optimization + TVLQR, the arm's minimum-jerk reach + TVLQR)
is rolled forward from the measured
state on a private copy of the environment for one chunk, and the chunk's primitive controllers
are its predicted states and inputs at the knots with TVLQR gains along the prediction (see
:mod:`hint_bringup.expert_chunks`). The controller node executes them exactly as it executes the
learned policy's, so a graph with ``driver:=expert record:=true`` records expert demonstrations
made through ROS (the recorder marks them ``operator: expert``).

Chunks are due on the state stream's own stamps (sim time in simulation): the first one as soon
as an episode's first state arrives, then one whenever the state is ``exec_knots`` knot periods
newer than the previous chunk's. Planning runs in a worker thread; a chunk still being planned
when a new episode starts is dropped. The node acts from the first START on (the simulator's
episode events are latched, so an expert started late joins the running episode; the experts
draw their choices, e.g. PushT's rotation direction, from the episode's seed). On an episode's
first state the node at once publishes a chunk that holds that state (:meth:`ExpertChunker.hold`),
so the controller stops tracking the previous episode's last chunk while the expert plans (the
quadrotor's takes a few hundred ms).
The node plans one chunk while it starts (imports, solver set-up), so the first real one is fast.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import numpy as np
from hint_msgs.conversions import NS, MessageValidationError, stamp_to_ns, vector_from_msg
from hint_msgs.msg import CompositeAction as CompositeActionMsg
from hint_msgs.msg import EpisodeEvent, StateVector
from rclpy.node import Node

from hint_bringup.expert_chunks import EXPERTS, ChunkerConfig, ExpertChunker
from hint_controller.action_messages import action_to_msg
from hint_controller.chunk_schedule import ChunkSchedule
from hint_controller.composite_action import CompositeAction
from hint_controller.node_main import BackgroundJob, run_node
from hint_controller.parameter_schema import AT_LEAST_ONE, INTEGER, NON_NEGATIVE, STRING, ParameterSpec, declare_checked
from hint_controller.qos import CHUNK_QOS, EVENT_QOS, STREAM_QOS

PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("environment", STRING, "pusht", None, "Environment whose expert acts (hint_bringup.expert_chunks.EXPERTS).", choices=tuple(EXPERTS)),
    ParameterSpec("chunk_length", INTEGER, 16, AT_LEAST_ONE, "Knots per composite action."),
    ParameterSpec("exec_knots", INTEGER, 8, AT_LEAST_ONE, "Knots of each chunk executed before the next one is planned, at most chunk_length."),
    ParameterSpec("control_stride", INTEGER, 0, NON_NEGATIVE, "Physics steps per knot; 0 = the environment's control stride."),
)


@dataclasses.dataclass(frozen=True)
class Episode:
    seed: int
    index: int
    start_ns: int  # sim time of the episode's first state


class ExpertNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("expert", **kwargs)
        p = declare_checked(self, PARAMETERS)
        if p["exec_knots"] > p["chunk_length"]:
            raise ValueError(f"exec_knots must be an integer in [1, {p['chunk_length']}] (chunk_length), "
                             f"got {p['exec_knots']}")
        self.environment = p["environment"]
        self.chunker = ExpertChunker(
            self.environment, ChunkerConfig(chunk_length=p["chunk_length"], control_stride=p["control_stride"])
        )
        self.exec_knots = p["exec_knots"]
        env = self.chunker.env
        self.state_names = env.state_names
        self._schedule = ChunkSchedule.every(self.exec_knots, self.chunker.knot_period, env.physics_period)

        self._lock = threading.Lock()
        self._planner = BackgroundJob("hint_expert_planner")
        self._episode: Episode | None = None
        self._generation = 0  # bumped by every START; work for an older generation is dropped
        self._started = False  # whether the chunker started the current episode
        self._latest: tuple[np.ndarray, int] | None = None
        self.plan_latencies: list[float] = []
        self.chunker.warm_up()

        # publisher first: a simulator that waits for this node's state subscription (record:=true)
        # then starts when the chunks' way to the controller has had time to be discovered
        self._publisher = self.create_publisher(CompositeActionMsg, "composite_action", CHUNK_QOS)
        self.create_subscription(StateVector, "state", self._on_state, STREAM_QOS)
        self.create_subscription(EpisodeEvent, "episode_event", self._on_event, EVENT_QOS)
        self.get_logger().info(
            f"{self.environment} expert: chunks of {self.chunker.config.chunk_length} knots every "
            f"{self.chunker.knot_period:g} s, replanned every {self.exec_knots} knots"
        )

    # ------------------------------------------------------------------ inputs
    def _on_event(self, msg: EpisodeEvent) -> None:
        if msg.event != EpisodeEvent.EVENT_START:
            return
        if msg.environment and msg.environment != self.environment:
            self.get_logger().error(
                f"episode of environment {msg.environment!r} but this is the {self.environment!r} expert",
                throttle_duration_sec=5.0,
            )
            return
        # latched STARTs arrive oldest first, so the last one received is the running episode
        with self._lock:
            self._episode = Episode(int(msg.seed), int(msg.episode_index), stamp_to_ns(msg.header.stamp))
            self._generation += 1
            self._started = False
            self._latest = None
            self._schedule.reset()

    def _on_state(self, msg: StateVector) -> None:
        try:
            state = vector_from_msg(msg, self.state_names)
        except MessageValidationError as error:
            self.get_logger().error(f"state does not match {list(self.state_names)}: {error}", throttle_duration_sec=2.0)
            return
        t_ns = stamp_to_ns(msg.header.stamp)
        with self._lock:
            if self._episode is None or t_ns < self._episode.start_ns:
                return  # no episode yet, or a late state of the previous one
            self._latest = (state, t_ns)
            if not self._schedule.due(t_ns) or not self._planner.reserve():
                return
            first_of_episode = self._schedule.last_ns is None and not self._started
            self._schedule.mark(t_ns)
            generation = self._generation
        if first_of_episode:  # hold still at once; the expert's first chunk replaces it
            self._publish(self.chunker.hold(state, t_ns / NS))
        self._planner.start(self._plan, generation)  # planning (pymunk, Drake) off the executor thread

    # ------------------------------------------------------------------ planning
    def _plan(self, generation: int) -> None:
        try:
            begin = time.perf_counter()
            with self._lock:
                if generation != self._generation or self._latest is None:
                    return
                state, t_ns = self._latest
                episode, started = self._episode, self._started
            if not started:
                self.chunker.start(state, episode.seed)
                with self._lock:  # planning may have taken a while: start from the newest state
                    if generation != self._generation:
                        return
                    self._started = True
                    state, t_ns = self._latest
                    self._schedule.mark(t_ns)
                self.get_logger().info(
                    f"expert started episode {episode.index} (seed {episode.seed}) in {time.perf_counter() - begin:.2f} s"
                )
            chunk = self.chunker.chunk(state, t_ns / NS)
            with self._lock:
                if generation != self._generation:
                    return
            self._publish(chunk.action)
            self.plan_latencies.append(time.perf_counter() - begin)
        except Exception as error:  # noqa: BLE001 - one failed plan must not kill the node
            self.get_logger().error(f"expert chunk failed: {error}")

    def _publish(self, action: CompositeAction) -> None:
        self._publisher.publish(action_to_msg(action))

    def destroy_node(self) -> None:
        """Wait for a running plan (it may still publish: the context is alive) before the node goes."""
        self._planner.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run_node(ExpertNode, args, name="expert")


if __name__ == "__main__":
    main()
