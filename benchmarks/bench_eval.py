"""Closed-loop scores of the shipped policies on held-out seeds (eval.pusht.*, eval.quadrotor.*,
eval.arm.*: the Panda behind its position interface, eval.can.* and eval.square.*: robomimic's
Can and Square on robosuite), the nearest-neighbour baseline on the same seeds (eval.pusht_nn.*,
eval.arm_nn.*, eval.can_nn.*, eval.square_nn.*), how fast the shipped PushT recipe learns
(train.pusht.minutes_to_score_0_8 / _0_9 / minutes_to_success_0_5, read from the training log
that ships beside the checkpoint, results/pusht_training/train_log.jsonl) beside the
Diffusion-Policy-style action trained on the same demos (its own config's budget)
(train.pusht_dp.*, results/pusht_dp_training/), and the input jump at hand-over between chunks
(handover.*).

The checkpoints in hint_bringup/checkpoints run in the ROS-free simulators through the real
chunk executor (hint_policy.evaluate), 50 episodes each from seed 100000 (demos use seeds below
that), with the policy settings the sim launch files start with (hint_bringup/config/<env>_sim.yaml
under the launch arguments' defaults: sigma, sampler, sampling steps, executed knots per chunk;
hint_bringup.graphs.Graph.launched_parameters).

Hand-over (hint_policy.evaluate's module docstring): handover.input_jump.<env>.median / .p95 is
max_j |u_new - u_old|_j / (training range of u_ff)_j at each switch to a new chunk, as the launch
files run it (time-indexed take-over, ``handover: none``) and with the real-time-chunking option
(``handover: inpaint``, INPAINT below: the new chunk's knot 0 held to the executing chunk);
handover.knot_jump.<env>.p95 is the same measure across every knot boundary, so a rule that only
moves the jump to the next knot shows there; eval.<env>.inpaint.* are that option's scores.
"""

from __future__ import annotations

from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / "hint_bringup" / "checkpoints"
PUSHT_CONFIG = ROOT / "hint_policy" / "config" / "pusht.yaml"
#: shipped checkpoint name -> (environment, sim graph whose policy settings apply, training config whose
#: demos the nearest-neighbour baseline indexes (None: no baseline figure), demos to generate if missing)
SHIPPED = {
    "pusht": ("pusht", "pusht_sim", PUSHT_CONFIG, 200),
    "quadrotor": ("quadrotor", "quadrotor_sim", None, 0),
    "arm": ("panda", "arm_sim", ROOT / "hint_policy" / "config" / "panda.yaml", 200),
    "can": ("can", "can_sim", ROOT / "hint_policy" / "config" / "can.yaml", 200),
    "square": ("square", "square_sim", ROOT / "hint_policy" / "config" / "square.yaml", 200),
}
PUSHT_TRAINING_LOG = ROOT / "results" / "pusht_training" / "train_log.jsonl"
#: the Diffusion-Policy-style action on the same demos and budget (hint_policy/config/pusht_dp.yaml)
PUSHT_DP_TRAINING_LOG = ROOT / "results" / "pusht_dp_training" / "train_log.jsonl"
EPISODES = 50
FIRST_SEED = 100_000
#: the real-time-chunking hand-over measured against the launch files' default
INPAINT = {"handover": "inpaint", "inpaint_frozen": 1, "inpaint_horizon": 1}


def _launch_settings(name: str) -> dict:
    from hint_bringup.graphs import graph

    return graph(SHIPPED[name][1]).launched_parameters("policy")


def _closed_loop(policy, name: str, settings: dict) -> dict:
    """Metrics of `policy` in `name`'s environment on the EPISODES held-out seeds, as launched."""
    from hint_policy.envs import make_env
    from hint_policy.evaluate import evaluate_policy

    seeds = list(range(FIRST_SEED, FIRST_SEED + EPISODES))
    environment = SHIPPED[name][0]
    return evaluate_policy(policy, lambda: make_env(environment), seeds, exec_knots=settings["exec_knots"]).metrics


def _evaluate(name: str, settings: dict, **handover):
    from hint_policy.inference import HintPolicy, policy_settings

    policy = HintPolicy.from_checkpoint(CHECKPOINTS / f"{name}.pt", **policy_settings(settings), seed=0, **handover)
    return _closed_loop(policy, name, settings)


def _nearest_neighbour(name: str, settings: dict) -> dict:
    """The nearest-neighbour baseline over the shipped recipe's demos (generated when missing)."""
    from hint_policy.baselines import NearestNeighbourPolicy
    from hint_policy.config import load_config
    from hint_policy.experts.generate import ensure_demo_file

    environment, _, config_path, num_demos = SHIPPED[name]
    config = load_config(config_path)
    config.data.demos = [str(ensure_demo_file(ROOT / file, environment, num_demos, workers=2, progress=False))
                         for file in config.data.demos]
    return _closed_loop(NearestNeighbourPolicy.from_config(config), name, settings)


def _report_scores(report, prefix: str, metrics: dict, note: str) -> None:
    """The `prefix`.score and `prefix`.success_rate figures of an evaluation."""
    report(f"{prefix}.score", metrics["mean_score"], "score", "mean episode score; " + note)
    report(f"{prefix}.success_rate", metrics["success_rate"], "ratio", "success rate; " + note)


def minutes_to(log_path: Path, threshold: float, metric: str = "mean_score") -> float:
    """Wall minutes from the start of a training log to its first evaluation whose `metric`
    (mean_score, success_rate) is `threshold` or above (NaN when none reached it)."""
    from hint_policy.train import read_training_log

    for record in read_training_log(log_path):
        if record.get("event") == "eval" and record.get(metric, 0.0) >= threshold:
            return record["time"] / 60
    return float("nan")


def plot_learning_speed(logs: dict[str, Path], path: Path) -> Path:
    """Evaluation score and success rate against wall minutes of each training log in `logs`
    (label -> train_log.jsonl), one panel each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hint_policy.train import read_training_log

    figure, (score_axis, success_axis) = plt.subplots(1, 2, figsize=(10, 4))
    for label, log in logs.items():
        evals = [r for r in read_training_log(log) if r.get("event") == "eval"]
        minutes = [r["time"] / 60 for r in evals]
        score_axis.plot(minutes, [r["mean_score"] for r in evals], "o-", label=label)
        success_axis.plot(minutes, [r["success_rate"] for r in evals], "o-", label=label)
    score_axis.set(xlabel="wall minutes of training", ylabel="mean score (50 held-out seeds)", ylim=(0, 1.02))
    success_axis.set(xlabel="wall minutes of training", ylabel="success rate (50 held-out seeds)", ylim=(0, 1.02))
    score_axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _evaluation_schedule(log: Path) -> str:
    """How the run of `log` evaluated itself, from the config.yaml saved beside it."""
    import yaml

    evaluation = yaml.safe_load((log.parent / "config.yaml").read_text())["eval"]
    return (f"{evaluation['episodes']} held-out seeds per evaluation every {evaluation['every_steps']} steps, "
            f"{evaluation['exec_knots']} executed knots")


def _report_learning_speed(report) -> None:
    """Minutes to score 0.8 and 0.9 and to 50 % success of the shipped PushT recipe and of the
    Diffusion-Policy-style action trained on the same demos, each with its config's budget."""
    logs = {label: log for label, log in (("pusht", PUSHT_TRAINING_LOG), ("pusht_dp", PUSHT_DP_TRAINING_LOG))
            if log.is_file()}
    if len(logs) == 2:
        plot_learning_speed({"HINT (pusht.yaml)": PUSHT_TRAINING_LOG,
                             "Diffusion-Policy-style action (pusht_dp.yaml)": PUSHT_DP_TRAINING_LOG},
                            PUSHT_DP_TRAINING_LOG.parent / "learning_speed.png")
    for label, log in logs.items():
        where = f"{log.relative_to(ROOT)}, {_evaluation_schedule(log)}"
        for metric, threshold, name in (("mean_score", 0.8, "score_0_8"), ("mean_score", 0.9, "score_0_9"),
                                        ("success_rate", 0.5, "success_0_5")):
            report(f"train.{label}.minutes_to_{name}", minutes_to(log, threshold, metric), "min",
                   f"wall minutes of the training run to its first evaluation with {metric} >= {threshold} ({where})")


def run(report) -> None:
    from hint_policy.inference import policy_settings

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name in SHIPPED:
            if not (CHECKPOINTS / f"{name}.pt").is_file():
                raise FileNotFoundError(f"no shipped checkpoint {CHECKPOINTS / name}.pt")
            settings = _launch_settings(name)
            metrics = _evaluate(name, settings)
            sigma = "the training sigma" if settings["sigma"] < 0 else f"sigma {settings['sigma']}"
            candidates = policy_settings(settings)["candidates"]
            note = (f"shipped checkpoints/{name}.pt, {EPISODES} held-out seeds from {FIRST_SEED}, "
                    f"{settings['sampler']}-{settings['sampler_steps']}, medoid of {candidates} candidate(s), "
                    f"{settings['exec_knots']} knots per chunk, {sigma} at inference")
            _report_scores(report, f"eval.{name}", metrics, note)
            inpainted = _evaluate(name, settings, **INPAINT)
            _report_scores(report, f"eval.{name}.inpaint", inpainted, f"{INPAINT}; " + note)
            for label, values in (("", metrics), (".inpaint", inpainted)):
                rule = INPAINT if label else "time-indexed take-over (handover none)"
                for stat in ("median", "p95"):
                    report(f"handover.input_jump.{name}{label}.{stat}", values[f"handover_jump_{stat}"], "ratio",
                           f"{stat} over hand-overs of max_j |u_new - u_old|_j / u_ff training range, {rule}; " + note)
                report(f"handover.knot_jump.{name}{label}.p95", values["knot_jump_p95"], "ratio",
                       f"p95 over knot boundaries of max_j |u - u one step before|_j / u_ff training range, {rule}; " + note)
        for name in (name for name, (_, _, config, _) in SHIPPED.items() if config):  # eval.<name>_nn
            settings = _launch_settings(name)
            metrics = _nearest_neighbour(name, settings)
            note = (f"nearest-neighbour chunk lookup over {SHIPPED[name][2].name}'s demos and features, same "
                    f"{EPISODES} seeds from {FIRST_SEED}, {settings['exec_knots']} knots per chunk")
            _report_scores(report, f"eval.{name}_nn", metrics, note)
        _report_learning_speed(report)
    finally:
        torch.set_num_threads(threads)
