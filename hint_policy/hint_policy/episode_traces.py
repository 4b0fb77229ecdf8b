"""Where episodes are lost: classify an evaluation's failed episodes by their reward traces.

    python -m hint_policy.evaluate --checkpoint hint_bringup/checkpoints/pusht.pt --env pusht \\
        --episodes 50 --first-seed 100000 --exec-knots 4 --out outputs/eval.json
    python -m hint_policy.episode_traces outputs/eval.json [more.json ...] [--plot results/traces.png]

``evaluate --out`` records each episode's reward at every knot (``reward_trace``). A failed
episode falls in the first of these that holds:

* ``closing_at_time_limit``: its best reward came in the last ``--closing-fraction`` of the time
  limit, so it was still improving when the episode ended;
* ``near_then_lost``: it came within ``--near`` of the success threshold (reward, i.e. PushT's
  coverage / 0.95) and never crossed it: the last, fine pushes missed or undid the placement;
* ``never_near``: it never came that close (a wrong strategy, a stall, a lost contact).

The summary prints the counts, each failure's seed, peak and final reward and the knot of its
peak, and the knots successful episodes needed; ``--plot`` draws every trace (failures in colour).
Several records (e.g. other seed blocks or policy noise seeds) give one line of counts each and
their total instead of the per-failure lines.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from hint_policy.cli import UsageError, add_debug_flag, run_main

CATEGORIES = ("closing_at_time_limit", "near_then_lost", "never_near")


@dataclasses.dataclass(frozen=True)
class FailedEpisode:
    seed: int
    category: str
    peak: float  # best reward
    final: float  # reward at the last knot
    peak_knot: int


@dataclasses.dataclass(frozen=True)
class TraceReport:
    failures: list[FailedEpisode]
    success_knots: list[int]  # knots each successful episode ran
    episodes: int

    def counts(self) -> dict[str, int]:
        return {name: sum(f.category == name for f in self.failures) for name in CATEGORIES}

    @classmethod
    def combined(cls, reports: list[TraceReport]) -> TraceReport:
        """One report of the episodes of all `reports`."""
        return cls([f for r in reports for f in r.failures], [k for r in reports for k in r.success_knots],
                   sum(r.episodes for r in reports))


def classify(trace: list[float], time_limit_knots: int, near: float = 0.05, closing_fraction: float = 0.1) -> str:
    """The category of a failed episode's reward trace (module docstring)."""
    if not trace:
        raise ValueError("an empty reward trace: evaluate the policy with a version that records reward_trace")
    rewards = np.asarray(trace, dtype=float)
    peak_knot = int(np.argmax(rewards))
    if peak_knot >= (1.0 - closing_fraction) * time_limit_knots:
        return "closing_at_time_limit"
    return "near_then_lost" if rewards[peak_knot] >= 1.0 - near else "never_near"


def analyse(evaluation: dict, near: float = 0.05, closing_fraction: float = 0.1) -> TraceReport:
    """Classify the failures of an ``evaluate --out`` record."""
    episodes = evaluation.get("episodes")
    if not episodes:
        raise ValueError("no episodes in the evaluation record (write one with evaluate --out)")
    time_limit = max(len(e.get("reward_trace", [])) for e in episodes)
    failures, success_knots = [], []
    for episode in episodes:
        trace = episode.get("reward_trace", [])
        if episode["success"]:
            success_knots.append(len(trace))
            continue
        category = classify(trace, time_limit, near, closing_fraction)
        failures.append(FailedEpisode(int(episode["seed"]), category, float(max(trace)), float(trace[-1]),
                                      int(np.argmax(trace))))
    return TraceReport(failures, success_knots, len(episodes))


def headline(report: TraceReport) -> str:
    """Episodes, successes, failures and the count of each category, on one line."""
    return (f"{report.episodes} episodes, {report.episodes - len(report.failures)} successful, "
            f"{len(report.failures)} failed: " + ", ".join(f"{name} {count}" for name, count in report.counts().items()))


def format_report(report: TraceReport) -> str:
    lines = [headline(report)]
    for failure in sorted(report.failures, key=lambda f: (CATEGORIES.index(f.category), f.seed)):
        lines.append(f"  seed {failure.seed}: {failure.category}, peak {failure.peak:.3f} at knot {failure.peak_knot}, "
                     f"final {failure.final:.3f}")
    if report.success_knots:
        knots = np.asarray(report.success_knots)
        lines.append(f"successful episodes ran {int(np.median(knots))} knots (median), "
                     f"{int(np.percentile(knots, 90))} (90th percentile), {int(knots.max())} (longest)")
    return "\n".join(lines)


def plot(evaluation: dict, report: TraceReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = dict(zip(CATEGORIES, ("tab:orange", "tab:red", "tab:purple")))
    failed = {f.seed: f.category for f in report.failures}
    figure, axes = plt.subplots(figsize=(8, 4.5))
    for episode in evaluation["episodes"]:
        category = failed.get(int(episode["seed"]))
        axes.plot(episode["reward_trace"], color=colours.get(category, "0.75"), linewidth=1.2 if category else 0.6)
    for name, colour in colours.items():
        axes.plot([], [], color=colour, label=name.replace("_", " "))
    axes.plot([], [], color="0.75", label="successful")
    axes.set(xlabel="knot", ylabel="reward", ylim=(0, 1.02), title=evaluation.get("checkpoint", ""))
    axes.legend(loc="lower right")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("evaluations", type=Path, nargs="+", help="evaluate --out JSON files")
    parser.add_argument("--near", type=float, default=0.05, help="reward margin below success that counts as near")
    parser.add_argument("--closing-fraction", type=float, default=0.1,
                        help="a peak in this last fraction of the time limit counts as still closing")
    parser.add_argument("--plot", type=Path, help="write a PNG of every reward trace")
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    for option, value in (("--near", args.near), ("--closing-fraction", args.closing_fraction)):
        if not 0.0 <= value < 1.0:
            raise UsageError(f"{option} must be in [0, 1), got {value}")
    evaluations = [json.loads(path.read_text()) for path in args.evaluations]
    reports = [analyse(evaluation, args.near, args.closing_fraction) for evaluation in evaluations]
    if len(reports) == 1:
        print(format_report(reports[0]))
    else:
        for path, report in zip(args.evaluations, reports):
            print(f"{path}: {headline(report)}")
        print(f"total: {headline(TraceReport.combined(reports))}")
    if args.plot:
        plot(evaluations[0], reports[0], args.plot)
        print(f"wrote {args.plot} (from {args.evaluations[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
