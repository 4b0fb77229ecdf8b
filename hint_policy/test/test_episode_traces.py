import json

import pytest

from hint_policy.episode_traces import analyse, classify, main


def _episode(seed, trace, success=False):
    return {"seed": seed, "success": success, "score": max(trace), "reward_trace": trace}


def test_each_failure_falls_in_the_first_category_that_holds():
    limit = 100
    closing = [0.1] * 95 + [0.5, 0.6, 0.7, 0.8, 0.9]  # best at the very end
    near_then_lost = [0.2] * 40 + [0.97] + [0.4] * 59
    never_near = [0.2] * 40 + [0.9] + [0.5] * 59  # 0.9 < 1 - 0.05
    assert classify(closing, limit) == "closing_at_time_limit"
    assert classify(near_then_lost, limit) == "near_then_lost"
    assert classify(never_near, limit) == "never_near"
    assert classify(never_near, limit, near=0.15) == "near_then_lost"
    with pytest.raises(ValueError, match="empty reward trace"):
        classify([], limit)


def test_the_report_counts_failures_and_the_knots_successes_needed(tmp_path, capsys):
    evaluation = {"checkpoint": "policy.pt", "episodes": [
        _episode(1, [0.5] * 30 + [1.0], success=True),
        _episode(2, [0.2] * 50 + [0.98] + [0.3] * 49),
        _episode(3, [0.1] * 100),
        _episode(4, [0.1] * 92 + [0.6] * 8),
    ]}
    report = analyse(evaluation)
    assert report.counts() == {"closing_at_time_limit": 1, "near_then_lost": 1, "never_near": 1}
    assert report.success_knots == [31]
    path = tmp_path / "eval.json"
    path.write_text(json.dumps(evaluation))
    assert main([str(path), "--plot", str(tmp_path / "traces.png")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("4 episodes, 1 successful, 3 failed: closing_at_time_limit 1, near_then_lost 1, never_near 1")
    assert "seed 2: near_then_lost, peak 0.980 at knot 50, final 0.300" in out
    assert (tmp_path / "traces.png").stat().st_size > 0


def test_several_records_give_a_line_each_and_their_total(tmp_path, capsys):
    paths = []
    for index, failed in enumerate((1, 2)):
        episodes = [_episode(10 * index + k, [0.1] * 100) for k in range(failed)] + [_episode(99, [0.5, 1.0], success=True)]
        paths.append(tmp_path / f"eval{index}.json")
        paths[-1].write_text(json.dumps({"episodes": episodes}))
    assert main([str(path) for path in paths]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{paths[0]}: 2 episodes, 1 successful, 1 failed")
    assert lines[1].startswith(f"{paths[1]}: 3 episodes, 1 successful, 2 failed")
    assert lines[2] == "total: 5 episodes, 2 successful, 3 failed: closing_at_time_limit 0, near_then_lost 0, never_near 3"
