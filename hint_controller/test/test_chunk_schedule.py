import pytest

from hint_controller.chunk_schedule import ChunkSchedule


def test_first_observation_then_every_interval_despite_jitter():
    schedule = ChunkSchedule.every(knots=4, knot_period=0.1, observation_period=0.01)
    assert schedule.interval_ns == 400_000_000 and schedule.tolerance_ns == 5_000_000
    sent = []
    for step in range(200):  # 100 Hz observations with +-2 ms jitter
        t = step * 10_000_000 + (2_000_000 if step % 3 == 0 else -2_000_000 if step % 3 == 1 else 0)
        if schedule.due(t):
            schedule.mark(t)
            sent.append(step)
    assert sent == list(range(0, 200, 40))
    schedule.reset()  # a new episode: its first observation is due whatever its time
    assert schedule.last_ns is None and schedule.due(0)


def test_one_knot_at_the_observation_rate_is_every_observation():
    schedule = ChunkSchedule.every(knots=1, knot_period=0.1, observation_period=0.1)
    for step in range(5):
        assert schedule.due(step * 100_000_000)
        schedule.mark(step * 100_000_000)
    with pytest.raises(ValueError):
        ChunkSchedule.every(knots=0, knot_period=0.1, observation_period=0.1)
