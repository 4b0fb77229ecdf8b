"""When a node that publishes composite actions (policy, expert, teleop) sends its next chunk.

One rule for all of them: a chunk is due on the first observation of an episode, and then on
the first observation at least ``interval`` after the previous chunk's, less a ``tolerance``
that absorbs the jitter of the observation stream (half of its period: a stream at exactly the
interval is never skipped a beat). Times are integer nanoseconds of the observations' own clock
(sim time in simulation), so the rule is exact and the same in every node.
"""

from __future__ import annotations

import dataclasses

NS_PER_S = 1_000_000_000


@dataclasses.dataclass
class ChunkSchedule:
    interval_ns: int  # executed knots x knot period
    tolerance_ns: int  # half the period of the observations the node acts on
    last_ns: int | None = None  # time of the previous chunk's observation; None: none this episode

    @classmethod
    def every(cls, knots: int, knot_period: float, observation_period: float) -> ChunkSchedule:
        """A chunk every `knots` knots of `knot_period` s, observed every `observation_period` s."""
        if knots < 1:
            raise ValueError(f"a chunk must execute at least one knot, got {knots}")
        return cls(round(knots * knot_period * NS_PER_S), round(observation_period * NS_PER_S / 2))

    def due(self, t_ns: int) -> bool:
        return self.last_ns is None or t_ns - self.last_ns >= self.interval_ns - self.tolerance_ns

    def mark(self, t_ns: int) -> None:
        """A chunk was sent for the observation at `t_ns`."""
        self.last_ns = t_ns

    def reset(self) -> None:
        """A new episode: its first observation is due at once."""
        self.last_ns = None
