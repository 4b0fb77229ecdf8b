"""The experiment harness (experiments/): grids of the shipped configs, the tracking cost, and tiny
grids run end to end (train -> evaluate -> results.jsonl, summary.csv, PNG), resumed and re-checked."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from experiments import fig5_quadrotor, fig5_stabilize, fig6_pusht, replay_diagnosis, robustness_pusht
from experiments.harness.budget import estimate
from experiments.harness.demos import ensure_demos, run_demos
from experiments.harness.grid import build_run_config, expand_grid, load_spec
from experiments.harness.plots import sigma_line
from experiments.harness.runner import run_experiment
from experiments.harness.scoring import best_checkpoints, mean_metrics, scored_metrics
from experiments.harness.staleness import StaleResultsError, append_records, discard_stale, record_hash, survey
from experiments.harness.summaries import summarize

REPO_ROOT = Path(__file__).resolve().parents[1]

TINY_TRAINING = {
    "data": {"phases": 1, "noise_draws": 1},
    "model": {"denoiser": "mlp", "mlp_hidden": 32, "mlp_blocks": 1, "step_embed_dim": 16},
    "diffusion": {"train_steps": 10},
    "train": {"steps": 10, "batch_size": 16, "warmup_steps": 0, "checkpoint_every": 5},
}


def tiny_spec(tmp_path: Path, name: str, base: str, env: str, grid: dict, variants: dict, subsets: str) -> Path:
    values = {
        "name": name,
        "results_root": str(tmp_path / "results"),
        "base_config": str(REPO_ROOT / "hint_policy" / "config" / base),
        "training": TINY_TRAINING,
        "grid": grid,
        "demos": {"file": str(tmp_path / f"{env}_demos.npz"), "env": env, "generate": 2, "subsets": subsets},
        "evaluation": {"env": env, "episodes": 2, "batch": 2, "sampler_steps": 2, "variants": variants},
        "budget": {"workers": 1},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --------------------------------------------------------------------------- grids and configs


def test_fig5_config_expands_to_48_seed_major_runs(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    spec = load_spec("experiments/configs/fig5_quadrotor.yaml")
    runs = expand_grid(spec)
    assert len(runs) == 2 * 4 * 2 * 3
    assert len({r.run_id for r in runs}) == len(runs)
    assert [r.seed for r in runs] == [0] * 16 + [1] * 16 + [2] * 16
    settings = {(r.params["data.action_content"], r.params["data.num_demos"], r.params["data.sigma"]) for r in runs}
    assert settings == {(c, n, s) for c in ("feedforward", "primitives") for n in (1, 2, 5, 10) for s in (0.0, 0.1)}
    run = runs[-1]
    assert run.run_id == "action_content=primitives,num_demos=10,sigma=0.1,seed=2"
    config = build_run_config(spec, run)
    assert (config.data.action_content, config.data.num_demos, config.data.sigma) == ("primitives", 10, 0.1)
    assert config.train.seed == config.data.noise_seed == 2
    assert config.train.threads == 1 and config.eval.every_steps == 0
    assert Path(config.train.out_dir) == Path("results/experiments/fig5_quadrotor/runs") / run.run_id
    assert spec.evaluation.seeds() == list(range(100000, 100025))
    assert spec.demos.subsets == "by_seed"


def test_fig5_stabilize_configs_are_the_papers_grid(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    spec = load_spec("experiments/configs/fig5_stabilize.yaml")
    runs = expand_grid(spec)
    assert len(runs) == 2 * 4 * 3 * 5
    assert {(r.params["data.num_demos"], r.params["data.sigma"]) for r in runs} == {
        (n, s) for n in (1, 2, 5, 10) for s in (0.0, 0.05, 0.1)}
    config = build_run_config(spec, runs[-1])
    assert (config.data.dynamics, config.data.control_stride, config.data.obs_steps, config.data.chunk_length) == (
        "quadrotor_thrust_torque", 1, 2, 4)
    assert spec.evaluation.episodes == 50 and spec.evaluation.exec_knots == 4
    lqr = load_spec("experiments/configs/fig5_stabilize_lqr.yaml")
    assert {build_run_config(lqr, r).data.synthesis for r in expand_grid(lqr)} == {"per_step_lqr"}


def test_fig6_recipe_config_is_the_pusht_recipe_at_12000_steps_with_the_papers_protocol(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    spec = load_spec("experiments/configs/fig6_pusht_recipe.yaml")
    runs = expand_grid(spec)
    assert len(runs) == 7 * 4 and [r.seed for r in runs[:7]] == [0] * 7
    assert [r.params["data.sigma"] for r in runs[:7]] == [0.0, 0.01, 0.03, 0.05, 0.1, 0.2, 0.3]
    shipped = yaml.safe_load((REPO_ROOT / "hint_policy/config/pusht.yaml").read_text())
    config = build_run_config(spec, runs[0])
    assert (config.model.mlp_hidden, config.model.mlp_blocks) == (shipped["model"]["mlp_hidden"],
                                                                  shipped["model"]["mlp_blocks"])
    assert config.train.steps == 12000 and config.data.noise_draws == shipped["data"]["noise_draws"]
    assert spec.evaluation.checkpoints == [6000, 8000, 10000, 12000] and spec.evaluation.best_of == 3
    assert spec.evaluation.variants == {"hint": None, "baseline": 0.0} and spec.evaluation.episodes == 50


def test_evaluated_checkpoints_must_be_ones_training_keeps(tmp_path):
    path = tiny_spec(tmp_path, "ckpt", "quadrotor.yaml", "quadrotor", {"data.sigma": [0.1]}, {"hint": None}, "first")
    values = yaml.safe_load(path.read_text())
    values["evaluation"]["checkpoints"] = [5, 10]
    values["training"] = {**TINY_TRAINING, "train": {**TINY_TRAINING["train"], "keep_checkpoints": False}}
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    with pytest.raises(ValueError, match=r"checkpoints \[5\] are not saved"):
        load_spec(path)  # keep_checkpoints is off: only the final step is kept
    values["training"] = {**TINY_TRAINING, "train": {**TINY_TRAINING["train"], "keep_checkpoints": True}}
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    assert load_spec(path).evaluation.checkpoints == [5, 10]
    for bad, message in (({"checkpoints": [10, 5]}, "increasing"), ({"checkpoints": [7]}, "not saved"),
                         ({"checkpoints": [5, 10], "best_of": 3}, "best_of")):
        values["evaluation"] |= {"checkpoints": [5, 10], "best_of": 0} | bad
        path.write_text(yaml.safe_dump(values, sort_keys=False))
        with pytest.raises(ValueError, match=message):
            load_spec(path)


def test_best_checkpoints_rank_by_score_and_metrics_are_their_mean():
    evaluations = [{"step": s, "metrics": {"mean_score": v, "success_rate": v / 2}}
                   for s, v in ((6, 0.5), (8, 0.9), (10, 0.7), (12, 0.9))]
    best = best_checkpoints(evaluations, 3)
    assert [e["step"] for e in best] == [8, 10, 12]
    assert mean_metrics([e["metrics"] for e in best]) == pytest.approx({"mean_score": 2.5 / 3,
                                                                             "success_rate": 1.25 / 3})
    assert best_checkpoints(evaluations, 0) == evaluations


def test_low_data_fig6_configs_run_both_laws_and_the_authors_setup(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    spec = load_spec("experiments/configs/fig6_pusht_20demos.yaml")
    runs = expand_grid(spec)
    settings = [(r.params["data.noise_law"], r.params["data.sigma"]) for r in runs if r.seed == 0]
    # at sigma 0 the law changes nothing: one run (gaussian) stands for both
    assert settings == [("gaussian", s) for s in (0.0, 0.03, 0.1, 0.3, 1.0)] + [
        ("uniform", s) for s in (0.03, 0.1, 0.3, 1.0)]
    assert len(runs) == 9 * 4 and [r.seed for r in runs[::9]] == [0, 1, 2, 3]
    config = build_run_config(spec, runs[-1])
    assert (config.data.num_demos, config.data.noise_law, config.data.action_content) == (20, "uniform", "primitives")
    assert (config.train.steps, spec.demos.subsets, spec.evaluation.checkpoints) == (4000, "by_seed",
                                                                                      [1000, 2000, 3000, 4000])
    assert spec.evaluation.variants == {"hint": None, "baseline": 0.0} and spec.evaluation.episodes == 50
    authors = load_spec("experiments/configs/fig6_pusht_20demos_dp.yaml")
    authors_runs = expand_grid(authors)
    assert len(authors_runs) == 5 * 4
    config = build_run_config(authors, authors_runs[-1])
    assert (config.data.action_content, config.data.noise_law, config.data.noise_mode) == (
        "servo_targets", "uniform", "fresh")
    assert {r.params["data.sigma"] for r in authors_runs} == set(spec.grid["data.sigma"])
    assert (authors.evaluation, authors.demos, authors.grid["seed"]) == (spec.evaluation, spec.demos, spec.grid["seed"])


def test_grid_exclude_entries_must_name_grid_values(tmp_path):
    path = tiny_spec(tmp_path, "exclude", "pusht.yaml", "pusht", {"data.sigma": [0.0, 0.1], "seed": [0, 1]},
                     {"hint": None}, "first")
    values = yaml.safe_load(path.read_text())
    values["exclude"] = [{"data.sigma": 0.1, "seed": 1}]
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    assert [r.run_id for r in expand_grid(load_spec(path))] == ["sigma=0.0,seed=0", "sigma=0.1,seed=0",
                                                                "sigma=0.0,seed=1"]
    for bad in ({"data.sigma": 0.2}, {"data.noise_law": "uniform"}, {}):
        values["exclude"] = [bad]
        path.write_text(yaml.safe_dump(values, sort_keys=False))
        with pytest.raises(ValueError, match="exclude"):
            load_spec(path)


def fake_results(spec, scores: dict[tuple[str, int], list[tuple[int, float]]]) -> None:
    """Current result lines of `spec`'s runs: (run id, seed) -> [(step, mean score)] per checkpoint;
    the success rate of a checkpoint is its score / 2."""
    records = []
    for run in expand_grid(spec):
        for variant in spec.evaluation.variants:
            evaluations = [{"step": step, "metrics": {"mean_score": value, "success_rate": value / 2}}
                           for step, value in scores[(run.run_id, run.seed)]]
            best = best_checkpoints(evaluations, spec.evaluation.best_of)
            records.append({"run_id": run.run_id, "variant": variant, "params": run.params, "seed": run.seed,
                            "record_hash": record_hash(spec, run, variant),
                            "metrics": mean_metrics([e["metrics"] for e in best]), "checkpoints": evaluations})
    append_records(spec.results_file, records)


def test_summary_scores_each_run_by_its_3_best_checkpoints_and_by_its_best(tmp_path):
    path = tiny_spec(tmp_path, "scorings", "pusht.yaml", "pusht", {"data.sigma": [0.1], "seed": [0, 1]},
                     {"hint": None}, "first")  # no demo file: results are checked by their hashes alone
    values = yaml.safe_load(path.read_text())
    values["training"] = {**TINY_TRAINING, "train": {**TINY_TRAINING["train"], "steps": 20, "keep_checkpoints": True}}
    values["evaluation"] |= {"checkpoints": [5, 10, 15, 20], "best_of": 0}
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    spec = load_spec(path)
    fake_results(spec, {("sigma=0.1,seed=0", 0): [(5, 0.2), (10, 0.8), (15, 0.6), (20, 0.4)],
                        ("sigma=0.1,seed=1", 1): [(5, 0.9), (10, 0.1), (15, 0.5), (20, 0.5)]})
    (row,) = summarize(spec, ("mean_score", "success_rate"))
    best3 = [(0.8 + 0.6 + 0.4) / 3, (0.9 + 0.5 + 0.5) / 3]
    best1 = [0.8, 0.9]
    assert row["seeds"] == 2
    assert row["mean_score_mean"] == pytest.approx(np.mean([0.5, 0.5]))  # best_of 0: all four checkpoints
    assert row["mean_score_best3_mean"] == pytest.approx(np.mean(best3))
    assert row["mean_score_best3_std"] == pytest.approx(np.std(best3, ddof=1))
    assert row["mean_score_best1_mean"] == pytest.approx(np.mean(best1))
    assert row["mean_score_best1_std"] == pytest.approx(np.std(best1, ddof=1))
    # the success rate is taken from the checkpoints ranked by mean score
    assert row["success_rate_best1_mean"] == pytest.approx(np.mean(best1) / 2)
    assert row["success_rate_best3_mean"] == pytest.approx(np.mean(best3) / 2)
    # a result line evaluated at one checkpoint only scores its metrics both ways
    assert scored_metrics({"metrics": {"mean_score": 0.7}}, 3) == scored_metrics({"metrics": {"mean_score": 0.7}}, 1)


def test_figure6_draws_every_law_with_the_shared_sigma_0_point_and_both_scorings(tmp_path):
    path = tiny_spec(tmp_path, "fig6laws", "pusht.yaml", "pusht",
                     {"data.num_demos": [2], "data.noise_law": ["gaussian", "uniform"], "data.sigma": [0.0, 0.1],
                      "seed": [0, 1]}, {"hint": None, "baseline": 0.0}, "by_seed")
    values = yaml.safe_load(path.read_text())
    values["exclude"] = [{"data.noise_law": "uniform", "data.sigma": 0.0}]
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    spec = load_spec(path)
    fake_results(spec, {(r.run_id, r.seed): [(10, 0.5 + 0.1 * r.seed)] for r in expand_grid(spec)})
    rows = summarize(spec, fig6_pusht.EXPERIMENT.metrics)
    assert len(rows) == 3 * 2
    uniform = sigma_line(rows, ["data.noise_law"], ("hint", "uniform"), 2)
    assert [(r["data.sigma"], r["data.noise_law"]) for r in uniform] == [(0.0, "gaussian"), (0.1, "uniform")]
    png = tmp_path / "fig6laws.png"
    fig6_pusht.plot(rows, spec, png)
    assert png.stat().st_size > 10_000


def test_committed_results_stay_current_under_the_harness(monkeypatch):
    """The harness hashes the committed experiments' settings as their result lines record them."""
    monkeypatch.chdir(REPO_ROOT)
    for name in ("fig5_quadrotor", "fig5_stabilize", "fig5_stabilize_lqr", "fig6_pusht_recipe"):
        spec = load_spec(f"experiments/configs/{name}.yaml")
        runs = expand_grid(spec)
        progress = survey(spec, runs)
        assert not progress.stale_records, name
        assert len(progress.done) == len(runs) * len(spec.evaluation.variants), name


def test_bad_grid_keys_and_unknown_settings_are_refused(tmp_path):
    path = tiny_spec(tmp_path, "bad", "quadrotor.yaml", "quadrotor", {"data.no_such_key": [1]}, {"hint": None}, "first")
    with pytest.raises(ValueError, match="no_such_key"):
        load_spec(path)
    values = yaml.safe_load(path.read_text())
    values["grid"] = {"data.sigma": [0.1]}
    values["evaluation"]["episode"] = 3
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    with pytest.raises(KeyError, match="episode"):
        load_spec(path)


# --------------------------------------------------------------------------- tracking cost


def test_tracking_cost_holds_ends_and_takes_the_nearest_class():
    reference = np.column_stack([np.linspace(0, 1, 11), np.zeros(11)])
    assert fig5_quadrotor.tracking_cost(reference + [0.0, 0.1], [reference]) == pytest.approx(0.01)
    # a path that stops after 3 steps is held there for the remaining 8 steps of the reference
    short = reference[:3]
    expected = np.mean(np.sum((fig5_quadrotor.hold_to_length(short, 11) - reference) ** 2, axis=1))
    assert fig5_quadrotor.tracking_cost(short, [reference]) == pytest.approx(expected)
    assert expected > 0.1
    other = reference + [0.0, 2.0]
    assert fig5_quadrotor.tracking_cost(reference, [other, reference]) == 0.0


# --------------------------------------------------------------------------- end to end


def test_fig5_tiny_grid_runs_end_to_end_and_resumes(tmp_path, capsys):
    config = tiny_spec(tmp_path, "tiny5", "quadrotor.yaml", "quadrotor",
                       {"data.action_content": ["feedforward", "primitives"], "data.num_demos": [1], "seed": [0]},
                       {"hint": None}, "by_seed")
    spec = load_spec(config)
    runs = expand_grid(spec)
    # a half-trained run: checkpoint at step 5 of 10 (demo file made by the harness's own generator)
    ensure_demos(spec, runs)
    from hint_policy.train import train

    partial = build_run_config(spec, runs[0])
    partial.train.steps = 5
    train(partial, demos=run_demos(spec, runs[0], partial))

    # workers=2: the runs go to a local Ray instance as tasks (experiments.harness.dispatch.ray_map)
    assert run_experiment(spec, fig5_quadrotor.EXPERIMENT, workers=2, progress_bar=False) == []
    import ray

    assert not ray.is_initialized()  # the instance the sweep started is shut down
    records = lines(spec.results_file)
    assert sorted(r["run_id"] for r in records) == sorted(r.run_id for r in runs)
    for record in records:
        assert record["train"]["step"] == 10 and record["variant"] == "hint"
        assert record["train_sigma"] == record["eval_sigma"] == 0.05
        assert [e["seed"] for e in record["episodes"]] == [100000, 100001]
        assert all(math.isfinite(e["tracking_cost"]) and e["tracking_cost"] >= 0 for e in record["episodes"])
        assert record["metrics"]["mean_tracking_cost"] == pytest.approx(
            np.mean([e["tracking_cost"] for e in record["episodes"]]))
    resumed_log = lines(spec.run_directory(runs[0]) / "train_log.jsonl")
    assert [e["step"] for e in resumed_log if e.get("event") == "start"] == [0, 5]

    assert fig5_quadrotor.main(["--config", str(config), "--only-plot"]) == 0
    summary = (spec.directory / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("data.action_content,data.num_demos,variant,seeds,success_rate_mean")
    assert len(summary) == 3
    assert (spec.directory / "tiny5.png").stat().st_size > 10_000

    # second invocation: nothing to do, nothing retrained
    checkpoints = [spec.run_directory(r) / "checkpoints" / "latest.pt" for r in runs]
    stamps = [c.stat().st_mtime_ns for c in checkpoints]
    assert run_experiment(spec, fig5_quadrotor.EXPERIMENT, workers=1, progress_bar=False) == []
    assert len(lines(spec.results_file)) == 2
    # a lost result line is re-evaluated without retraining
    spec.results_file.write_text(json.dumps(records[0]) + "\n")
    assert run_experiment(spec, fig5_quadrotor.EXPERIMENT, workers=1, progress_bar=False) == []
    assert sorted(r["run_id"] for r in lines(spec.results_file)) == sorted(r.run_id for r in runs)
    assert [c.stat().st_mtime_ns for c in checkpoints] == stamps
    capsys.readouterr()
    assert fig5_quadrotor.main(["--config", str(config), "--dry-run"]) == 0
    assert "0 unfinished" in capsys.readouterr().out

    # the demo file rewritten with other demos for the same seeds (another expert): every run that
    # trained on demo 0 (both: seed 0) is stale, results and run folders; the old file: current again
    from hint_policy.demos import load_demos, save_demos

    demo_file = Path(spec.demos.file)
    original = load_demos(demo_file)
    changed_demo = dataclasses.replace(original[0], inputs=original[0].inputs + 1e-3)
    save_demos(demo_file, [changed_demo, *original[1:]])
    progress = survey(spec, runs)
    assert len(progress.stale_records) == 2 and sorted(progress.stale_runs) == sorted(r.run_id for r in runs)
    assert summarize(spec, fig5_quadrotor.EXPERIMENT.metrics) == []
    save_demos(demo_file, original)
    progress = survey(spec, runs)
    assert not progress.stale_records and not progress.stale_runs and len(progress.done) == 2
    assert all(len(r["demo_digest"]) == 16 for r in lines(spec.results_file))

    # changed training settings: the old runs are stale and the harness says so
    values = yaml.safe_load(config.read_text())
    values["training"]["train"]["steps"] = 20
    config.write_text(yaml.safe_dump(values, sort_keys=False))
    changed = load_spec(config)
    with pytest.raises(StaleResultsError, match="restart-stale"):
        run_experiment(changed, fig5_quadrotor.EXPERIMENT, progress_bar=False)
    progress = survey(changed, expand_grid(changed))
    assert len(progress.stale_records) == 2 and len(progress.stale_runs) == 2
    assert [e.status for e in estimate(changed)] == ["stale: to redo"] * 2
    discard_stale(changed, progress)
    assert lines(changed.results_file) == [] and len(lines(changed.directory / "results.stale.jsonl")) == 2
    assert not any(spec.run_directory(r).exists() for r in runs)


def test_fig6_tiny_grid_evaluates_hint_and_baseline_from_one_checkpoint(tmp_path):
    config = tiny_spec(tmp_path, "tiny6", "pusht.yaml", "pusht", {"data.sigma": [0.0, 0.1], "seed": [0]},
                       {"hint": None, "baseline": 0.0}, "first")
    assert fig6_pusht.main(["--config", str(config), "--workers", "1", "--no-progress"]) == 0
    spec = load_spec(config)
    records = {(r["params"]["data.sigma"], r["variant"]): r for r in lines(spec.results_file)}
    assert set(records) == {(s, v) for s in (0.0, 0.1) for v in ("hint", "baseline")}
    assert records[(0.1, "hint")]["eval_sigma"] == 0.1 and records[(0.1, "baseline")]["eval_sigma"] == 0.0
    # at sigma = 0 both variants are the same policy with the same seeds: identical episodes
    assert records[(0.0, "hint")]["episodes"] == records[(0.0, "baseline")]["episodes"]
    rows = summarize(spec, fig6_pusht.EXPERIMENT.metrics)
    assert [(r["data.sigma"], r["variant"]) for r in rows] == [(0.0, "hint"), (0.0, "baseline"),
                                                               (0.1, "hint"), (0.1, "baseline")]
    assert (spec.directory / "tiny6.png").is_file()


def test_tiny_grid_scores_each_run_by_its_best_checkpoints(tmp_path):
    config = tiny_spec(tmp_path, "tinybest", "quadrotor_stabilize.yaml", "quadrotor_stabilize",
                       {"data.sigma": [0.1], "data.num_demos": [2], "seed": [0]}, {"hint": None, "baseline": 0.0}, "first")
    values = yaml.safe_load(config.read_text())
    values["training"] = {**TINY_TRAINING, "train": {**TINY_TRAINING["train"], "keep_checkpoints": True}}
    values["evaluation"] |= {"exec_knots": 4, "checkpoints": [5, 10], "best_of": 1}
    config.write_text(yaml.safe_dump(values, sort_keys=False))
    assert fig6_pusht.main(["--config", str(config), "--workers", "1", "--no-progress"]) == 0
    spec = load_spec(config)
    records = lines(spec.results_file)
    assert sorted(r["variant"] for r in records) == ["baseline", "hint"]
    for record in records:
        evaluated = {c["step"]: c["metrics"] for c in record["checkpoints"]}
        assert sorted(evaluated) == [5, 10]
        best = max(evaluated, key=lambda step: (evaluated[step]["mean_score"], step))
        assert record["best_steps"] == [best]
        assert record["metrics"]["mean_score"] == evaluated[best]["mean_score"]
        assert record["metrics"]["success_rate"] == evaluated[best]["success_rate"]
        assert [e["seed"] for e in record["episodes"]] == [100000, 100001]
    rows = {r["variant"]: r for r in summarize(spec, fig6_pusht.EXPERIMENT.metrics)}
    for record in records:  # best_of 1: the record's metrics are its best checkpoint's
        row = rows[record["variant"]]
        assert row["mean_score_best1_mean"] == row["mean_score_mean"] == record["metrics"]["mean_score"]
        assert row["mean_score_best3_mean"] == pytest.approx(np.mean([c["metrics"]["mean_score"]
                                                                      for c in record["checkpoints"]]))
    # the two checkpoints are different policies: the step-5 file is not the final one
    folder = spec.run_directory(expand_grid(spec)[0]) / "checkpoints"
    assert (folder / "step_00000005.pt").read_bytes() != (folder / "step_00000010.pt").read_bytes()


def test_fig5_stabilize_tiny_grid_through_ray_from_the_command_line(tmp_path):
    """``python -m experiments.fig5_stabilize --workers 2``: the figure module is ``__main__``, and its
    functions still reach Ray's workers (experiments.harness.dispatch.importable); every record carries the paper's ratio."""
    import subprocess
    import sys

    config = tiny_spec(tmp_path, "tiny5s", "quadrotor_stabilize.yaml", "quadrotor_stabilize",
                       {"data.action_content": ["feedforward", "primitives"], "data.num_demos": [1], "seed": [0]},
                       {"hint": None}, "by_seed")
    values = yaml.safe_load(config.read_text())
    values["evaluation"]["exec_knots"] = 4  # the task's chunks hold 4 knots
    config.write_text(yaml.safe_dump(values, sort_keys=False))
    completed = subprocess.run([sys.executable, "-m", "experiments.fig5_stabilize", "--config", str(config),
                                "--workers", "2", "--no-progress"], cwd=REPO_ROOT, capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    spec = load_spec(config)
    expert = json.loads(fig5_stabilize.reference_file(spec).read_text())
    records = lines(spec.results_file)
    assert sorted(r["params"]["data.action_content"] for r in records) == ["feedforward", "primitives"]
    for record in records:
        for episode in record["episodes"]:
            assert episode["reward_ratio"] == pytest.approx(episode["total_reward"] / expert["total_reward"][str(episode["seed"])])
        assert record["metrics"]["mean_reward_ratio"] >= 0
    assert (spec.directory / "tiny5s.png").stat().st_size > 10_000


def test_robustness_perturbs_only_what_the_policy_sees_and_the_same_way_for_every_variant():
    first, second = robustness_pusht.PerturbedBlockObservation(10.0), robustness_pusht.PerturbedBlockObservation(10.0)
    seen = first.reset(100000)
    true = first.env.state
    names = list(first.state_names)
    changed = [names[i] for i in np.flatnonzero(seen != true)]
    assert changed == ["block_x", "block_y", "block_theta"]
    np.testing.assert_array_equal(second.reset(100000), seen)  # same draws for the other variant
    u = np.array([true[0] + 5.0, true[1]])
    seen_next, _ = first.step(u)
    second.step(u)
    np.testing.assert_array_equal(first.env.state, second.env.state)  # the simulation ran on the truth
    assert np.all(np.abs(seen_next - first.env.state)[[names.index("agent_x"), names.index("agent_y")]] == 0)
    clean = robustness_pusht.PerturbedBlockObservation(0.0)
    np.testing.assert_array_equal(clean.reset(100000), clean.env.state)


def test_robustness_comparison_draws_every_checkpoint_of_several_folders(tmp_path):
    def record(checkpoint: str, sigma: float, noise: float, variant: str, scores: list[float]) -> dict:
        return {"checkpoint": checkpoint, "train_sigma": sigma, "eval_sigma": 0.0 if variant == "baseline" else sigma,
                "noise_px": noise, "variant": variant, "scores": scores, "successes": [s > 0.9 for s in scores]}

    append_records(tmp_path / "a" / "results.jsonl",
                          [record("b.pt", 0.1, n, v, [0.5, 0.7]) for n in (0.0, 10.0) for v in ("hint", "baseline")])
    append_records(tmp_path / "b" / "results.jsonl",
                          [record("a.pt", 0.0, n, v, [0.9, 1.0]) for n in (0.0, 10.0) for v in ("hint", "baseline")])
    rows = robustness_pusht.compare([tmp_path / "a", tmp_path / "b"], tmp_path / "out")
    assert [(r["train_sigma"], r["noise_px"], r["variant"]) for r in rows[:2]] == [(0.0, 0.0, "baseline"),
                                                                                  (0.0, 0.0, "hint")]
    assert len(rows) == 8 and rows[-1]["checkpoint"] == "b.pt"
    assert rows[0]["mean_score"] == pytest.approx(0.95) and rows[0]["success_rate"] == 0.5
    assert len((tmp_path / "out" / "summary.csv").read_text().splitlines()) == 9
    assert (tmp_path / "out" / "robustness_by_sigma.png").stat().st_size > 10_000
    with pytest.raises(SystemExit):
        robustness_pusht.main(["--compare", str(tmp_path / "empty"), "--out", str(tmp_path / "out")])


def test_replayed_demo_chunks_track_with_gains_and_drift_without(tmp_path, capsys):
    out = tmp_path / "replay.csv"
    assert replay_diagnosis.main(["--env", "quadrotor_stabilize", "--demos", "2", "--trials", "2",
                                  "--perturbation", "0", "0.3", "--out", str(out)]) == 0
    import csv

    rows = {(float(r["delta"]), r["execution"]): r for r in csv.DictReader(out.open())}
    # an exact replay from the demo's own start reproduces the demo with or without gains
    for execution in ("gains", "no gains"):
        assert float(rows[(0.0, execution)]["final_distance"]) < 0.1
    # from perturbed starts the gains pull the vehicle back to the demo's end; open loop does not
    assert float(rows[(0.3, "gains")]["final_distance"]) < 0.1 < float(rows[(0.3, "no gains")]["final_distance"])
