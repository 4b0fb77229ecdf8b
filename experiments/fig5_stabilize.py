"""Figure 5 in the paper's setting: stabilize a thrust-and-torque planar quadrotor at the origin.

    python -m experiments.fig5_stabilize --config experiments/configs/fig5_stabilize.yaml --workers 2
    python -m experiments.fig5_stabilize --config experiments/configs/fig5_stabilize_lqr.yaml --workers 2
    python -m experiments.fig5_stabilize --dry-run          # grid and CPU-time estimate

The task, expert and cost are the authors' (:mod:`hint_policy.envs.quadrotor_stabilize`,
:mod:`hint_policy.experts.stabilize_expert`). For N demonstrations, training noise sigma and
5 seeds (seed s trains on the expert demos s*N .. s*N+N-1), two policies are compared:

* "learn u_bar only" (``data.action_content: feedforward``): the chunk's inputs run open loop
  (K = 0);
* "learn (x_bar, u_bar, K)" (``primitives``): the primitive controllers u = u_bar + K (x - x_bar)
  executed at every step, gains from TVLQR along each demo (Q = I, R = I) or, in the second
  config, from a per-step infinite-horizon LQR (the authors' choice).

Each run is evaluated at its training sigma (HINT) from 50 held-out starts (env seeds 100000 ..).
Metrics per episode, averaged over the starts, then mean and standard deviation over seeds:

* ``reward_ratio`` (the paper's score): the episode's total reward sum_t exp(-cost_t) divided by
  the expert's total reward from the same start;
* ``reached_origin``: the final state is within 0.1 of the origin (full-state norm).

The expert's own figures on the test starts (its total rewards and how often it reaches the
origin) are computed once into ``results/experiments/<name>/expert_rewards.json``.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

from experiments.harness.cli import main as harness_main
from experiments.harness.plots import plot_against_demos
from experiments.harness.runner import Experiment
from experiments.harness.spec import ExperimentSpec
from hint_policy.envs.quadrotor_stabilize import QuadrotorStabilizeEnv

DEFAULT_CONFIG = "experiments/configs/fig5_stabilize.yaml"


def reference_file(spec: ExperimentSpec) -> Path:
    return spec.directory / "expert_rewards.json"


def prepare(spec: ExperimentSpec) -> None:
    """The expert's total reward from every test start not yet in expert_rewards.json."""
    from hint_policy.experts.stabilize_expert import StabilizeExpert

    path = reference_file(spec)
    values = json.loads(path.read_text()) if path.is_file() else {"total_reward": {}, "reached_origin": {}}
    missing = [s for s in spec.evaluation.seeds() if str(s) not in values["total_reward"]]
    if not missing:
        return
    print(f"expert rewards from {len(missing)} test starts -> {path}", flush=True)
    env = QuadrotorStabilizeEnv()
    expert = StabilizeExpert(env)
    for seed in missing:
        demo = expert.run_episode(seed)
        values["total_reward"][str(seed)] = demo.extra["total_reward"]
        values["reached_origin"][str(seed)] = float(demo.success)
    rewards = [values["reached_origin"][str(s)] for s in spec.evaluation.seeds()]
    values["expert_reached_origin_rate"] = sum(rewards) / len(rewards)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values, indent=1) + "\n")
    print(f"the expert reaches the origin from {values['expert_reached_origin_rate']:.0%} of the test starts")


@functools.lru_cache(maxsize=2)
def load_expert_rewards(path: str) -> dict[int, float]:
    return {int(seed): float(value) for seed, value in json.loads(Path(path).read_text())["total_reward"].items()}


class ScoredStabilizeEnv(QuadrotorStabilizeEnv):
    """The stabilization task whose episode metrics add ``reward_ratio`` against the expert."""

    def __init__(self, expert_rewards: dict[int, float]) -> None:
        super().__init__()
        self.expert_rewards = expert_rewards
        self.seed: int | None = None

    def reset(self, seed: int):
        if seed not in self.expert_rewards:
            raise KeyError(f"no expert reward for test seed {seed}")
        self.seed = seed
        return super().reset(seed)

    def episode_metrics(self) -> dict[str, float]:
        metrics = super().episode_metrics()
        metrics["reward_ratio"] = metrics["total_reward"] / self.expert_rewards[self.seed]
        return metrics


def env_factory(spec: ExperimentSpec):
    rewards = load_expert_rewards(str(reference_file(spec)))
    return lambda: ScoredStabilizeEnv(rewards)


PANELS = (("mean_reward_ratio", "reward / expert reward"), ("mean_reached_origin", "reached the origin"))


def plot(rows: list[dict], spec: ExperimentSpec, path: Path) -> None:
    plot_against_demos(rows, spec, path, PANELS, "Planar quadrotor stabilization (paper setting)",
                              ylim={"mean_reached_origin": (-0.05, 1.05)})


EXPERIMENT = Experiment(
    metrics=("mean_reward_ratio", "mean_reached_origin", "mean_final_distance"),
    env_factory=env_factory,
    plot=plot,
    prepare=prepare,
)


def main(argv: list[str] | None = None) -> int:
    return harness_main(EXPERIMENT, DEFAULT_CONFIG, argv, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
