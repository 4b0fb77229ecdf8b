"""Figure 6 analogue: noise at inference (HINT) against noise at training only, PushT.

    python -m experiments.fig6_pusht --config experiments/configs/fig6_pusht_recipe.yaml --workers 2
    python -m experiments.fig6_pusht --dry-run [--calibrate]     # grid and CPU-time estimate
    python -m experiments.fig6_pusht --only-plot                 # summary.csv + figure only

One policy is trained per training noise level sigma (``data.sigma``, in normalized observation
units: observations are scaled to [-1, 1] per coordinate before the noise) and seed, and each
evaluated checkpoint (``evaluation.checkpoints``: steps 6000-12000 in the shipped config) is
evaluated twice on the same held-out PushT starts (env seeds 100000 ..):

* ``hint``: noise at training and at inference (the policy adds N(0, sigma^2 I) to its
  normalized observation before sampling), HINT's replica policy;
* ``baseline``: noise at training only, the same checkpoint sampled with sigma = 0.

At sigma = 0 the two variants are the same policy and give the same numbers (a check of the
pipeline). Metric: ``mean_score`` = mean over test starts of the episode's maximum coverage
reward (gym-pusht's score, coverage / 0.95 clipped to 1), also ``success_rate`` (coverage
> 0.95). A run scores the mean of its 3 best evaluated checkpoints (``evaluation.best_of``, the
paper's protocol; per variant), then mean and standard deviation over seeds. Paper claim tested:
at small sigma HINT matches sigma = 0; at larger sigma HINT clearly beats the baseline.
Report: docs/experiments/figure6.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from experiments import common
from hint_policy.envs import make_env

DEFAULT_CONFIG = "experiments/configs/fig6_pusht_recipe.yaml"
LABELS = {"hint": "HINT: noise at training and inference",
          "baseline": "noise at training only (sigma = 0 at inference)"}
PANELS = (("mean_score", "score (max coverage / 0.95)"), ("success_rate", "success rate"))


def env_factory(spec: common.ExperimentSpec):
    name = spec.evaluation.env
    return lambda: make_env(name)


def plot(rows: list[dict], spec: common.ExperimentSpec, path: Path) -> None:
    """Score and success rate against the training sigma, one line per variant, mean +- std."""
    import matplotlib.pyplot as plt

    if any("data.sigma" not in r for r in rows):
        raise ValueError("the Figure 6 plot needs data.sigma among the grid keys")
    sigmas = sorted({r["data.sigma"] for r in rows})
    position = {sigma: index for index, sigma in enumerate(sigmas)}  # evenly spaced: sigma spans decades
    figure, axes = plt.subplots(1, len(PANELS), figsize=(11, 4.2))
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    for axis, (metric, label) in zip(axes, PANELS):
        for number, variant in enumerate(variants):
            line = sorted((r for r in rows if r["variant"] == variant), key=lambda r: r["data.sigma"])
            offset = 0.06 * (number - (len(variants) - 1) / 2)  # keep overlapping error bars apart
            axis.errorbar([position[r["data.sigma"]] + offset for r in line], [r[f"{metric}_mean"] for r in line],
                          yerr=[r[f"{metric}_std"] for r in line], capsize=3, marker="o",
                          label=LABELS.get(variant, variant))
        axis.set_xticks(range(len(sigmas)), [f"{s:g}" for s in sigmas])
        axis.set_xlabel("training sigma (normalized observation units)")
        axis.set_ylabel(label)
        axis.set_ylim(-0.05, 1.05)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    seeds = max(r["seeds"] for r in rows)
    common.save_figure(figure, path, f"PushT: HINT vs training-only noise ({spec.evaluation.episodes} test starts, "
                    f"mean +- std over up to {seeds} seeds)")


EXPERIMENT = common.Experiment(metrics=("mean_score", "success_rate"), env_factory=env_factory, plot=plot)


def main(argv: list[str] | None = None) -> int:
    return common.main(EXPERIMENT, DEFAULT_CONFIG, argv, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
