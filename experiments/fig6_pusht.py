"""Figure 6 analogue: noise at inference (HINT's replica policy) against noise at training only,
on PushT and, with their configs, robomimic Can and Square (the config's ``evaluation.env``).

    python -m experiments.fig6_pusht --config experiments/configs/fig6_pusht_recipe.yaml --workers 2
    python -m experiments.fig6_pusht --config experiments/configs/fig6_pusht_20demos.yaml --dry-run [--calibrate]
    python -m experiments.fig6_pusht --config experiments/configs/fig6_pusht_20demos_dp.yaml --only-plot
    python -m experiments.fig6_pusht --config experiments/configs/fig6_can_20demos.yaml --dry-run

One policy is trained per grid setting (training noise level ``data.sigma``, in normalized
observation units: observations are scaled to [-1, 1] per coordinate before the noise; the noise
law ``data.noise_law`` and the demo count ``data.num_demos`` where the grid sets them) and seed,
and each evaluated checkpoint (``evaluation.checkpoints``) is evaluated twice on the same held-out
starts (env seeds 100000 ..):

* ``hint`` ("replica"): noise at training and at inference (the policy adds the noise of its
  training law and sigma to its normalized observation before sampling);
* ``baseline`` ("deconv"): noise at training only, the same checkpoint sampled with sigma = 0.

At sigma = 0 the two variants are the same policy and give the same numbers (a check of the
pipeline). Metric: ``mean_score`` = mean over test starts of the episode's maximum coverage
reward (PushT: gym-pusht's score, coverage / 0.95 clipped to 1; Can and Square reward 1 on
success only, so there it is the success rate), also ``success_rate`` (PushT: coverage > 0.95).
Each run is scored two ways from its evaluated checkpoints, ranked by mean score: the mean of
its 3 best (the paper's text) and its single best (the authors' notebook); then mean and
standard deviation over seeds (:mod:`experiments.harness.scoring`, :mod:`experiments.harness.summaries`).
Paper claim tested: at small sigma HINT matches sigma = 0; at larger sigma HINT clearly beats the
baseline. Report: docs/experiments/figure6.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from experiments.harness.cli import main as harness_main
from experiments.harness.plots import plot_against_sigma
from experiments.harness.runner import Experiment
from experiments.harness.spec import ExperimentSpec
from hint_policy.envs import make_env

DEFAULT_CONFIG = "experiments/configs/fig6_pusht_recipe.yaml"
LABELS = {"hint": "replica (HINT)", "baseline": "deconv (training noise only)"}
PANELS = (("mean_score", "score (PushT: max coverage / 0.95; Can, Square: success)"), ("success_rate", "success rate"))
TASK_NAMES = {"pusht": "PushT", "can": "robomimic Can", "square": "robomimic Square"}


def env_factory(spec: ExperimentSpec):
    name = spec.evaluation.env
    return lambda: make_env(name)


def plot(rows: list[dict], spec: ExperimentSpec, path: Path) -> None:
    """Score and success rate against the training sigma: replica and deconv lines per noise law,
    one column per demo count, solid = mean of the 3 best checkpoints, dashed = the best one."""
    task = TASK_NAMES.get(spec.evaluation.env, spec.evaluation.env)
    plot_against_sigma(rows, spec, path, PANELS, LABELS, f"{task}: HINT (replica) vs training-only noise (deconv)")


EXPERIMENT = Experiment(metrics=("mean_score", "success_rate"), env_factory=env_factory, plot=plot)


def main(argv: list[str] | None = None) -> int:
    return harness_main(EXPERIMENT, DEFAULT_CONFIG, argv, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
