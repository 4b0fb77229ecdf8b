"""make demo's printout names the coverage and the success threshold, not a bare score."""

from hint_bringup.demo import coverage_text


def test_a_score_below_one_reads_as_the_coverage_it_means():
    assert coverage_text(0.992) == "coverage 0.942 (success at 0.95), score 0.992"
    assert coverage_text(1.0) == "coverage >= 0.95 (success at 0.95), score 1.000"
