"""The `make bench` harness: figures printed and written, partial runs update the file."""

import json
import sys
import types

import pytest

from benchmarks import run as bench_run


@pytest.fixture
def fake_benchmarks(monkeypatch):
    """Two benchmark modules, `bench_alpha` (reports a.x and a.y) and `bench_broken` (raises)."""

    def alpha(report):
        report("a.x", 2.0, "ms", "new x")
        report("a.y", float("nan"), "", "not measurable")

    def broken(report):
        raise RuntimeError("benchmark failed")

    for name, function in (("bench_alpha", alpha), ("bench_broken", broken)):
        monkeypatch.setitem(sys.modules, f"benchmarks.{name}", types.SimpleNamespace(run=function))
    monkeypatch.setattr(
        bench_run, "_modules", lambda only: [n for n in ("bench_alpha", "bench_broken") if not only or n.removeprefix("bench_") in only]
    )


def test_full_run_writes_only_what_it_measured_and_reports_a_raising_module(tmp_path, fake_benchmarks, capsys):
    out = tmp_path / "bench.json"
    out.write_text(json.dumps([{"name": "old", "value": 1.0, "unit": "", "note": ""}]))
    assert bench_run.main(["--out", str(out)]) == 1
    figures = json.loads(out.read_text())
    assert figures == [
        {"name": "a.x", "value": 2.0, "unit": "ms", "note": "new x"},
        {"name": "a.y", "value": None, "unit": "", "note": "not measurable"},
    ]
    captured = capsys.readouterr()
    assert "a.x" in captured.out and "bench_broken" in captured.err


def test_partial_run_replaces_its_figures_in_place_and_keeps_the_others(tmp_path, fake_benchmarks, capsys):
    out = tmp_path / "bench.json"
    previous = [
        {"name": "b.z", "value": 5.0, "unit": "us", "note": "other module"},
        {"name": "a.x", "value": 9.0, "unit": "ms", "note": "old x"},
    ]
    out.write_text(json.dumps(previous))
    assert bench_run.main(["--only", "alpha", "--out", str(out)]) == 0
    names_values = [(f["name"], f["value"]) for f in json.loads(out.read_text())]
    assert names_values == [("b.z", 5.0), ("a.x", 2.0), ("a.y", None)]
    assert "kept 1 figures" in capsys.readouterr().out


def test_partial_run_over_a_missing_or_corrupt_file_writes_its_own_figures(tmp_path, fake_benchmarks):
    out = tmp_path / "bench.json"
    assert bench_run.main(["--only", "alpha", "--out", str(out)]) == 0
    assert [f["name"] for f in json.loads(out.read_text())] == ["a.x", "a.y"]
    out.write_text("{not json")
    assert bench_run.main(["--only", "alpha", "--out", str(out)]) == 0
    assert [f["name"] for f in json.loads(out.read_text())] == ["a.x", "a.y"]
