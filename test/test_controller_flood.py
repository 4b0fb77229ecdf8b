"""A real DDS flood of malformed composite actions: valid chunks from a second publisher
are all kept, no junk is accepted (benchmarks.bench_controller.measure_flood, shortened)."""

import pytest

pytestmark = pytest.mark.ros


def test_a_flood_of_junk_chunks_does_not_push_out_valid_ones():
    from benchmarks.bench_controller import measure_flood

    # 1000 junk chunks at 250 msg/s for 4 s, valid chunks at 20 Hz (the benchmark: 10,000 at 1000 msg/s)
    result = measure_flood(junk_count=1000, valid_hz=20.0, junk_hz=250.0, settle_s=3.0)
    assert result["valid_sent"] >= 60
    assert result["junk_accepted"] == 0, result
    assert result["lost"] <= 0.01, result
    assert result["junk_rejected"] >= 0.9 * result["junk_sent"], result
