"""Robustness to observation perturbation: HINT against the same policy sampled without noise, PushT.

    python -m experiments.robustness_pusht --workers 2
    python -m experiments.robustness_pusht --checkpoint hint_bringup/checkpoints/pusht.pt \
        --noise-px 0 5 10 20 40 --episodes 50 --workers 2 [--address auto]
    python -m experiments.robustness_pusht --only-plot
    python -m experiments.robustness_pusht --compare DIR [DIR ...] --out OUT   # several checkpoints, one figure

The theory behind HINT (Block et al. 2023) is about what noise at inference buys when the
observations a policy meets differ from its training data. This test perturbs what the policy
sees: at every observation, independent Gaussian noise of standard deviation ``s`` pixels is added
to the block's position and ``s / 100`` rad to its angle (the agent's own coordinates, which the
primitive controllers feed back, stay exact, as with a good joint encoder and a noisy camera).
Each level ``s`` is evaluated for two variants of one checkpoint:

* ``hint``: sampled with the checkpoint's training sigma (noise at training and at inference);
* ``baseline``: the same weights sampled with sigma = 0 (noise at training only).

Both run on the same held-out starts (env seeds 100000 ..), with the same policy seed and the same
perturbation draws (seeded by the episode's env seed). Outputs in
``results/experiments/robustness_pusht/``: results.jsonl (one line per level and variant, with
per-episode scores), summary.csv and robustness_pusht.png (score and success against s). Levels
already in results.jsonl for the same checkpoint and settings are skipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from experiments.harness.dispatch import ray_map
from experiments.harness.plots import save_figure
from experiments.harness.staleness import append_records, read_records
from experiments.harness.summaries import write_summary_csv
from hint_policy.envs.base import Env, StepInfo

DIRECTORY = Path("results/experiments/robustness_pusht")
#: rad of block-angle noise per pixel of block-position noise
ANGLE_PER_PIXEL = 0.01


class PerturbedBlockObservation(Env):
    """PushT whose returned states carry Gaussian noise on the block pose (module docstring).

    Only what the caller sees is perturbed; the simulation runs on the true state. The draws are
    seeded by the episode's env seed, so every variant meets the same perturbations."""

    def __init__(self, noise_px: float) -> None:
        from hint_policy.envs import make_env

        self.env = make_env("pusht")
        self.noise_px = float(noise_px)
        names = list(self.env.state_names)
        self._position = [names.index("block_x"), names.index("block_y")]
        self._angle = names.index("block_theta")
        self._rng = np.random.default_rng(0)

    def __getattr__(self, name: str):  # name, model, state_names, periods, max_steps, ...
        return getattr(self.__dict__["env"], name)

    def _perturb(self, state: np.ndarray) -> np.ndarray:
        seen = np.array(state, dtype=float)
        if self.noise_px > 0:
            seen[self._position] += self._rng.normal(0.0, self.noise_px, 2)
            seen[self._angle] += self._rng.normal(0.0, self.noise_px * ANGLE_PER_PIXEL)
        return seen

    def reset(self, seed: int) -> np.ndarray:
        self._rng = np.random.default_rng([int(seed), 2023])
        return self._perturb(self.env.reset(seed))

    def step(self, u: np.ndarray) -> tuple[np.ndarray, StepInfo]:
        state, info = self.env.step(u)
        return self._perturb(state), info

    def render(self) -> np.ndarray:
        return self.env.render()

    def episode_metrics(self) -> dict[str, float]:
        return self.env.episode_metrics()


@dataclasses.dataclass(frozen=True)
class Level:
    """One evaluation: a perturbation size and a variant of the checkpoint."""

    checkpoint: str
    noise_px: float
    variant: str  # "hint" or "baseline"
    episodes: int
    first_seed: int
    exec_knots: int
    policy_seed: int

    def key(self) -> str:
        digest = hashlib.sha256(Path(self.checkpoint).read_bytes()).hexdigest()[:12]
        return json.dumps({**dataclasses.asdict(self), "checkpoint": digest}, sort_keys=True)


def evaluate_level(level: Level) -> dict:
    """Closed-loop evaluation of one level (runs in a Ray worker)."""
    import torch

    from hint_policy.evaluate import evaluate_policy
    from hint_policy.inference import HintPolicy

    torch.set_num_threads(1)
    sigma = 0.0 if level.variant == "baseline" else None  # None: the checkpoint's training sigma
    policy = HintPolicy.from_checkpoint(level.checkpoint, sigma=sigma, seed=level.policy_seed)
    seeds = list(range(level.first_seed, level.first_seed + level.episodes))
    start = time.perf_counter()
    summary = evaluate_policy(policy, lambda: PerturbedBlockObservation(level.noise_px), seeds, level.exec_knots)
    return {
        "key": level.key(), **dataclasses.asdict(level), "train_sigma": policy.training_sigma,
        "eval_sigma": policy.sigma, "mean_score": summary.metrics["mean_score"],
        "success_rate": summary.metrics["success_rate"],
        "scores": [e.score for e in summary.episodes], "successes": [bool(e.success) for e in summary.episodes],
        "seconds": round(time.perf_counter() - start, 1),
    }


def summarize(records: list[dict]) -> list[dict]:
    """Per (noise, variant): mean score and success with their standard errors over episodes."""
    rows = []
    for record in sorted(records, key=lambda r: (r["noise_px"], r["variant"])):
        scores, successes = np.array(record["scores"]), np.array(record["successes"], dtype=float)
        rows.append({"noise_px": record["noise_px"], "variant": record["variant"], "episodes": len(scores),
                     "train_sigma": record["train_sigma"], "eval_sigma": record["eval_sigma"],
                     "mean_score": float(scores.mean()), "score_sem": float(scores.std(ddof=1) / np.sqrt(len(scores))),
                     "success_rate": float(successes.mean()),
                     "success_sem": float(successes.std(ddof=1) / np.sqrt(len(successes)))})
    return rows


def plot(rows: list[dict], path: Path) -> None:
    """Score and success against the perturbation for one checkpoint's rows (of :func:`summarize`)."""
    labels = {"hint": "HINT (sigma at inference = training sigma)", "baseline": "same weights, sigma = 0 at inference"}
    sigmas = ", ".join(f"{s:g}" for s in sorted({r["train_sigma"] for r in rows}))
    _draw([{"checkpoint": "", **r} for r in rows], path, lambda sigma, variant: labels[variant],
          f"PushT, policy trained at sigma {sigmas}: robustness to observation noise")


def compare(directories: Sequence[Path], out: Path) -> list[dict]:
    """Every checkpoint evaluated in `directories` (their results.jsonl) on one figure: score and
    success against the perturbation, one colour per checkpoint, HINT solid and the baseline
    dashed; writes ``summary.csv`` (with the checkpoint and training sigma per row) and
    ``robustness_by_sigma.png`` to `out` and returns the rows."""
    by_checkpoint: dict[str, list[dict]] = {}
    for directory in directories:
        records = read_records(Path(directory) / "results.jsonl")
        if not records:
            raise ValueError(f"{directory} holds no robustness results (results.jsonl)")
        for record in records:
            by_checkpoint.setdefault(record["checkpoint"], []).append(record)
    rows = [{"checkpoint": checkpoint, **row} for checkpoint, records in by_checkpoint.items()
            for row in summarize(records)]
    rows.sort(key=lambda r: (r["train_sigma"], r["checkpoint"], r["noise_px"], r["variant"]))
    write_summary_csv(rows, out / "summary.csv")
    _draw(rows, out / "robustness_by_sigma.png", _comparison_label,
          "PushT robustness to observation noise by training sigma")
    return rows


def _draw(rows: list[dict], path: Path, label: Callable[[float, str], str], title: str) -> None:
    """Score and success panels: one colour per checkpoint, HINT solid and the baseline dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    checkpoints = list(dict.fromkeys(r["checkpoint"] for r in rows))
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(checkpoints)))
    for axis, (metric, error, axis_label) in zip(axes, (("mean_score", "score_sem", "score (max coverage / 0.95)"),
                                                   ("success_rate", "success_sem", "success rate"))):
        for checkpoint, colour in zip(checkpoints, colours):
            for variant, style in (("hint", "-"), ("baseline", "--")):
                line = [r for r in rows if r["checkpoint"] == checkpoint and r["variant"] == variant]
                if not line or (variant == "baseline" and line[0]["train_sigma"] == 0):
                    continue  # trained at sigma 0 both variants are one policy: drawn once
                axis.errorbar([r["noise_px"] for r in line], [r[metric] for r in line],
                              yerr=[r[error] for r in line], capsize=2, marker="o", markersize=3, color=colour,
                              linestyle=style, label=label(line[0]["train_sigma"], variant))
        axis.set_xlabel("observation noise on the block: std [px] (and std/100 rad on its angle)")
        axis.set_ylabel(axis_label)
        axis.set_ylim(-0.05, 1.05)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    episodes = max(r["episodes"] for r in rows)
    save_figure(figure, path, f"{title} ({episodes} test starts, error bars: standard error)")


def _comparison_label(train_sigma: float, variant: str) -> str:
    if train_sigma == 0:
        return "trained at sigma 0 (Diffusion Policy)"
    return f"trained at sigma {train_sigma:g}, " + ("HINT" if variant == "hint" else "sigma 0 at inference")


def _row_line(row: dict) -> str:
    return (f"noise {row['noise_px']:5.1f} px  {row['variant']:8s}  score {row['mean_score']:.3f} "
            f"+- {row['score_sem']:.3f}  success {row['success_rate']:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="hint_bringup/checkpoints/pusht.pt")
    parser.add_argument("--noise-px", type=float, nargs="+", default=[0.0, 5.0, 10.0, 20.0, 40.0])
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--first-seed", type=int, default=100000)
    parser.add_argument("--exec-knots", type=int, default=4)
    parser.add_argument("--policy-seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="evaluations at once (local Ray CPUs)")
    parser.add_argument("--address", default=None, help="a Ray cluster's address instead of a local instance")
    parser.add_argument("--out", type=Path, default=DIRECTORY)
    parser.add_argument("--only-plot", action="store_true")
    parser.add_argument("--compare", type=Path, nargs="+", metavar="DIR",
                        help="draw the results of these output folders on one figure in --out (evaluates nothing)")
    args = parser.parse_args(argv)
    if args.compare:
        try:
            rows = compare(args.compare, args.out)
        except ValueError as error:
            parser.error(str(error))
        for row in rows:
            print(f"sigma {row['train_sigma']:g}  {_row_line(row)}")
        return 0
    if any(s < 0 for s in args.noise_px) or args.episodes < 2:
        parser.error("--noise-px values must be >= 0 and --episodes >= 2")
    results = args.out / "results.jsonl"
    levels = [Level(args.checkpoint, s, v, args.episodes, args.first_seed, args.exec_knots, args.policy_seed)
              for s in args.noise_px for v in ("hint", "baseline")]
    wanted = {level.key(): level for level in levels}
    done = {r["key"]: r for r in read_records(results) if r["key"] in wanted}
    todo = [level for key, level in wanted.items() if key not in done]
    failed = 0
    if todo and not args.only_plot:
        from tqdm.auto import tqdm

        print(f"{len(todo)} of {len(levels)} evaluations to run ({args.episodes} episodes each)", flush=True)
        with tqdm(total=len(todo), unit="eval", dynamic_ncols=True) as bar:
            for level, record in ray_map(evaluate_level, todo, args.workers, args.address):
                if isinstance(record, BaseException):
                    failed += 1
                    print(f"noise {level.noise_px} px, {level.variant}: failed: {record}", file=sys.stderr)
                else:
                    append_records(results, [record])
                    done[record["key"]] = record
                    bar.set_postfix_str(f"{level.noise_px:g} px {level.variant}: score {record['mean_score']:.3f}")
                bar.update()
    rows = summarize(list(done.values()))
    if rows:
        write_summary_csv(rows, args.out / "summary.csv")
        plot(rows, args.out / "robustness_pusht.png")
        for row in rows:
            print(_row_line(row))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
