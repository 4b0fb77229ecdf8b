"""Figure helpers shared by the experiment modules (matplotlib, PNG)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from experiments.harness.grid import build_run_config, expand_grid
from experiments.harness.scoring import SCORINGS
from experiments.harness.spec import SEED_KEY, ExperimentSpec

#: legend names of the Figure 5 settings (grid values of data.action_content and data.synthesis)
SETTING_LABELS = {"feedforward": "learn u_bar only (K = 0)", "primitives": "learn (x_bar, u_bar, K)",
                  "tvlqr": "TVLQR gains", "per_step_lqr": "per-step LQR gains"}
#: line style and legend name of each summary scoring (experiments.harness.scoring.SCORINGS)
SCORING_STYLES = {"best3": ("-", "mean of 3 best checkpoints"), "best1": ("--", "best checkpoint")}
PALETTE = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray"]


def save_figure(figure, path: Path, title: str) -> None:
    """Title, lay out, write (PNG, 130 dpi) and close a matplotlib figure."""
    import matplotlib.pyplot as plt

    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=130)
    plt.close(figure)


def plot_against_demos(rows: list[dict], spec: ExperimentSpec, path: Path, panels: Sequence[tuple[str, str]],
                       title: str, ylim: dict[str, tuple[float, float]] | None = None) -> None:
    """One panel per (metric, axis label) against the number of demos N (log axis): one line per
    combination of the other grid values, mean +- std over seeds (Figure 5's layout)."""
    import matplotlib.pyplot as plt

    if any("data.num_demos" not in r for r in rows):
        raise ValueError("this plot needs data.num_demos among the grid keys")
    others = [k for k in spec.grid if k not in ("data.num_demos", SEED_KEY)]
    lines = list(dict.fromkeys(tuple(r.get(k) for k in others) + (r["variant"],) for r in rows))

    def style_key(line_key: tuple) -> tuple:
        """One line style per setting apart from the action content (e.g. per sigma); colour = action content."""
        return tuple(v for k, v in zip(others, line_key) if k != "data.action_content") + line_key[-1:]

    style_keys = list(dict.fromkeys(style_key(key) for key in lines))
    contents = sorted({r.get("data.action_content") for r in rows}, key=str)
    palette = dict(zip(contents, ["tab:orange", "tab:blue", "tab:green", "tab:red"]))
    styles = ["-", "--", ":", "-."]
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.4), squeeze=False)
    for axis, (metric, label) in zip(axes[0], panels):
        for number, line_key in enumerate(lines):
            dodge = 1 + 0.03 * (number - (len(lines) - 1) / 2)  # keep error bars at the same N apart
            line = sorted((r for r in rows if tuple(r.get(k) for k in others) + (r["variant"],) == line_key),
                          key=lambda r: r["data.num_demos"])
            values = dict(zip(others, line_key[:-1]))
            name = ", ".join(SETTING_LABELS.get(v, f"{k.rsplit('.', 1)[-1]}={v}") for k, v in values.items())
            if len(spec.evaluation.variants) > 1:
                name += f" [{line_key[-1]}]"
            axis.errorbar([r["data.num_demos"] * dodge for r in line], [r[f"{metric}_mean"] for r in line],
                          yerr=[r[f"{metric}_std"] for r in line], capsize=3, marker="o",
                          linestyle=styles[style_keys.index(style_key(line_key)) % len(styles)],
                          color=palette.get(values.get("data.action_content")), label=name)
        axis.set_xscale("log")
        demos = sorted({r["data.num_demos"] for r in rows})
        axis.set_xticks(demos, [str(n) for n in demos])
        axis.minorticks_off()
        axis.set_xlabel("demonstrations N")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
        if ylim and metric in ylim:
            axis.set_ylim(*ylim[metric])
    axes[0][0].legend(fontsize=7)
    seeds = max(r["seeds"] for r in rows)
    save_figure(figure, path, f"{title} ({spec.evaluation.episodes} test starts, mean +- std over up to {seeds} seeds)")


def plot_against_sigma(rows: list[dict], spec: ExperimentSpec, path: Path, panels: Sequence[tuple[str, str]],
                       variant_labels: dict[str, str], title: str) -> None:
    """Figure 6's layout: each metric of `panels` (one row of panels each) against the training sigma
    (evenly spaced ticks: sigma spans decades), one column per demo count (grid key data.num_demos,
    else the one count every run uses). In each panel one colour per variant and setting of the
    other grid keys (e.g. data.noise_law), one line style per scoring (:data:`SCORING_STYLES`),
    mean +- std over seeds. A line without a sigma-0 point starts at the sigma-0 point of the runs
    that differ from it in data.noise_law only (at sigma 0 the law changes nothing, so a grid may
    run one law there: ``exclude``)."""
    import matplotlib.pyplot as plt

    if any("data.sigma" not in r for r in rows):
        raise ValueError("this plot needs data.sigma among the grid keys")
    others = [k for k in spec.grid if k not in ("data.sigma", "data.num_demos", SEED_KEY)]
    counts = sorted({r.get("data.num_demos") for r in rows}, key=lambda n: (n is None, n))
    default_count = build_run_config(spec, expand_grid(spec)[0]).data.num_demos
    sigmas = sorted({r["data.sigma"] for r in rows})
    position = {sigma: index for index, sigma in enumerate(sigmas)}
    lines = list(dict.fromkeys((r["variant"],) + tuple(r.get(k) for k in others) for r in rows))
    figure, axes = plt.subplots(len(panels), len(counts), figsize=(max(7.0, 5.8 * len(counts)), 4.0 * len(panels)),
                                squeeze=False)
    for row_axes, (metric, label) in zip(axes, panels):
        for axis, count in zip(row_axes, counts):
            for number, line_key in enumerate(lines):
                points = sigma_line(rows, others, line_key, count)
                offset = 0.05 * (number - (len(lines) - 1) / 2)  # keep overlapping error bars apart
                values = dict(zip(others, line_key[1:]))
                name = ", ".join([variant_labels.get(line_key[0], line_key[0])]
                                 + [f"{k.rsplit('.', 1)[-1]}={v}" for k, v in values.items()])
                for scoring in SCORINGS:
                    style, scoring_name = SCORING_STYLES[scoring]
                    axis.errorbar([position[r["data.sigma"]] + offset for r in points],
                                  [r[f"{metric}_{scoring}_mean"] for r in points],
                                  yerr=[r[f"{metric}_{scoring}_std"] for r in points], capsize=2, marker="o",
                                  markersize=3, linestyle=style, color=PALETTE[number % len(PALETTE)],
                                  label=f"{name}; {scoring_name}")
            demos = count if count is not None else default_count
            axis.set_title(f"{spec.evaluation.env}, {'all' if demos is None else demos} demos", fontsize=9)
            axis.set_xticks(range(len(sigmas)), [f"{s:g}" for s in sigmas])
            axis.set_xlabel("training sigma (normalized observation units)")
            axis.set_ylabel(label)
            axis.set_ylim(-0.05, 1.05)
            axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=6)
    seeds = max(r["seeds"] for r in rows)
    save_figure(figure, path, f"{title}\n({spec.evaluation.episodes} test starts, mean +- std over up to {seeds} seeds)")


def sigma_line(rows: list[dict], others: list[str], line_key: tuple, count) -> list[dict]:
    """The summary rows of one line of :func:`plot_against_sigma` in one demo-count panel, by sigma."""
    def matches(row: dict, ignore: tuple[str, ...] = ()) -> bool:
        return (row["variant"] == line_key[0] and row.get("data.num_demos") == count
                and all(row.get(k) == v for k, v in zip(others, line_key[1:]) if k not in ignore))

    points = [r for r in rows if matches(r)]
    if points and not any(r["data.sigma"] == 0 for r in points):
        points += [r for r in rows if r["data.sigma"] == 0 and matches(r, ignore=("data.noise_law",))][:1]
    return sorted(points, key=lambda r: r["data.sigma"])
