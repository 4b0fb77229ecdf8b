"""Figure 5 analogue: does learning the gains pay off? Quadrotor with obstacle, few demonstrations.

    python -m experiments.fig5_quadrotor --config experiments/configs/fig5_quadrotor.yaml --workers 2
    python -m experiments.fig5_quadrotor --dry-run [--calibrate]     # grid and CPU-time estimate
    python -m experiments.fig5_quadrotor --only-plot                 # summary.csv + figure only

Two policies are compared for N demonstrations (``data.num_demos``) and several training noise
levels sigma, each trained with several seeds (seed s trains on the expert demos s*N .. s*N+N-1):

* "learn u_bar only" (``data.action_content: feedforward``): the policy outputs feed-forward
  thrusts only; the chunk executor runs them open loop (K = 0);
* "learn (x_bar, u_bar, K)" (``data.action_content: primitives``): the policy outputs the
  primitive controllers (reference state, feed-forward input, TVLQR gain), executed at the
  physics rate as u = u_bar + K (x - x_bar).

Both are evaluated at their training sigma (noise at training and at inference, HINT) on held-out
start states (env seeds 100000 ..). Paper claim tested: with gains, one demonstration beats ten
without.

Metrics per episode, averaged over the test starts, then mean and standard deviation over seeds:

* ``success_rate``: the vehicle reached the goal box slowly (the env's success);
* ``mean_tracking_cost`` [m^2]: how far the flown (x, z) path is from an expert's path from the
  same start. The expert reference is the trajectory optimizer of
  :mod:`hint_policy.experts.quadrotor_expert` (``QuadrotorExpert.plan``) from the episode's start
  state to the centre of the goal box, solved once per homotopy class (above and below the
  obstacle), sampled at the physics period and followed by its 1.5 s hover. With p(t) the
  policy's position and r(t) the reference's at physics step t, both held at their last value
  beyond their ends and H the longer of the two lengths,

      cost = min over the two classes of  (1 / H) * sum_{t < H} ||p(t) - r(t)||^2 .

  Why this and not the executor's own error ||x - x_bar||: the feed-forward policy has no x_bar
  (its executor runs with x_bar = 0, K = 0), so that error is undefined for one of the two arms of
  the comparison; distance to the expert's path measures both alike and is what imitation should
  make small. Why the minimum over the two classes: the expert picks above or below at random,
  both are correct, and a policy should not be charged for flying the other correct way. Why
  hold the ends: an episode ends at success, collision or timeout; holding a crashed vehicle at
  its crash point keeps a crash from looking like a short, cheap episode.

The expert references are computed once per experiment (Drake direct collocation, about 0.1 s
each) into ``results/experiments/<name>/expert_paths.npz``.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np

from experiments.harness.cli import main as harness_main
from experiments.harness.plots import plot_against_demos
from experiments.harness.runner import Experiment
from experiments.harness.spec import ExperimentSpec
from hint_policy.envs.quadrotor import PlanarQuadrotorObstacleEnv

DEFAULT_CONFIG = "experiments/configs/fig5_quadrotor.yaml"
#: homotopy classes of the expert references: passing above ("left") or below ("right")
CLASSES = ("left", "right")


# --------------------------------------------------------------------------- tracking cost


def hold_to_length(path: np.ndarray, length: int) -> np.ndarray:
    """`path` (T, d) extended to `length` rows by repeating its last row."""
    path = np.asarray(path, dtype=float)
    if len(path) == 0:
        raise ValueError("an empty path has no last position to hold")
    if len(path) >= length:
        return path[:length]
    return np.vstack([path, np.repeat(path[-1:], length - len(path), axis=0)])


def tracking_cost(path: np.ndarray, references: list[np.ndarray]) -> float:
    """min over `references` of the time-aligned mean squared distance to `path` (module docstring)."""
    if not references:
        raise ValueError("tracking_cost needs at least one reference path")
    costs = []
    for reference in references:
        horizon = max(len(path), len(reference))
        difference = hold_to_length(path, horizon) - hold_to_length(reference, horizon)
        costs.append(float(np.mean(np.sum(difference**2, axis=1))))
    return min(costs)


# --------------------------------------------------------------------------- expert references


def reference_file(spec: ExperimentSpec) -> Path:
    return spec.directory / "expert_paths.npz"


def compute_references(seeds: list[int]) -> dict[str, np.ndarray]:
    """Expert (x, z) paths per seed and class, as npz arrays named ``<seed>/<class>``."""
    from hint_policy.experts.quadrotor_expert import QuadrotorExpert

    env = PlanarQuadrotorObstacleEnv()
    expert = QuadrotorExpert(env)
    goal = np.asarray(env.config.goal_center)
    arrays = {}
    for seed in seeds:
        start = env.initial_state(seed)
        for name in CLASSES:
            plan = expert.plan(start, goal, left=name == "left")
            if plan.success:
                arrays[f"{seed}/{name}"] = plan.states[:, :2]
        if not any(f"{seed}/{name}" in arrays for name in CLASSES):
            raise RuntimeError(f"the quadrotor expert found no path from the start of seed {seed}")
    return arrays


def prepare(spec: ExperimentSpec) -> None:
    """Write the expert references of the evaluation seeds missing from expert_paths.npz."""
    path = reference_file(spec)
    arrays = dict(np.load(path)) if path.is_file() else {}
    missing = [s for s in spec.evaluation.seeds() if not any(f"{s}/{c}" in arrays for c in CLASSES)]
    if missing:
        print(f"expert reference paths for {len(missing)} test starts -> {path}", flush=True)
        arrays.update(compute_references(missing))
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.stem + ".tmp.npz")
        np.savez(temporary, **arrays)
        temporary.replace(path)


@functools.lru_cache(maxsize=2)
def load_references(path: str) -> dict[int, list[np.ndarray]]:
    arrays = np.load(path)
    references: dict[int, list[np.ndarray]] = {}
    for key in arrays.files:
        seed, _ = key.split("/")
        references.setdefault(int(seed), []).append(arrays[key])
    return references


class TrackedQuadrotorEnv(PlanarQuadrotorObstacleEnv):
    """The obstacle task whose episode metrics add ``tracking_cost`` against the expert references."""

    def __init__(self, references: dict[int, list[np.ndarray]]) -> None:
        super().__init__()
        self.references = references
        self.seed: int | None = None

    def reset(self, seed: int) -> np.ndarray:
        if seed not in self.references:
            raise KeyError(f"no expert reference path for test seed {seed}")
        self.seed = seed
        return super().reset(seed)

    def episode_metrics(self) -> dict[str, float]:
        metrics = super().episode_metrics()
        metrics["tracking_cost"] = tracking_cost(np.array(self.trace), self.references[self.seed])
        return metrics


def env_factory(spec: ExperimentSpec):
    references = load_references(str(reference_file(spec)))
    return lambda: TrackedQuadrotorEnv(references)


# --------------------------------------------------------------------------- figure

PANELS = (("success_rate", "success rate"), ("mean_tracking_cost", "tracking cost [m^2]"))


def plot(rows: list[dict], spec: ExperimentSpec, path: Path) -> None:
    """Success rate and tracking cost against N; one line per (action content, sigma), mean +- std."""
    plot_against_demos(rows, spec, path, PANELS, "Quadrotor with obstacle: gains vs feed-forward only",
                              ylim={"success_rate": (-0.05, 1.05)})


EXPERIMENT = Experiment(
    metrics=("success_rate", "mean_tracking_cost", "mean_passed_obstacle", "collision_rate"),
    env_factory=env_factory,
    plot=plot,
    prepare=prepare,
)


def main(argv: list[str] | None = None) -> int:
    return harness_main(EXPERIMENT, DEFAULT_CONFIG, argv, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
