"""The command line every experiment module shares (``python -m experiments.<name> --help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.harness.budget import calibrate, print_dry_run
from experiments.harness.demos import ensure_demos
from experiments.harness.grid import expand_grid, load_spec
from experiments.harness.runner import Experiment, run_experiment
from experiments.harness.staleness import StaleResultsError
from experiments.harness.summaries import write_outputs


def main(experiment: Experiment, default_config: str, argv: list[str] | None = None, doc: str = "") -> int:
    parser = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path(default_config), help="experiment config (YAML)")
    parser.add_argument("--workers", type=int, default=None, help="runs trained at once, as Ray tasks on a local "
                        "Ray instance (one CPU and torch thread each); default: budget.workers of the config")
    parser.add_argument("--address", default=None, help="run the sweep's tasks on the Ray cluster at this address "
                        "(HOST:PORT or auto) instead of a local instance")
    parser.add_argument("--dry-run", action="store_true", help="print the grid and the estimated CPU time")
    parser.add_argument("--calibrate", action="store_true",
                        help="with --dry-run: time a short training instead of using the config's speed figures")
    parser.add_argument("--only-plot", action="store_true", help="only rewrite summary.csv and the figure")
    parser.add_argument("--restart-stale", action="store_true",
                        help="discard results and run folders made with other settings than the config's")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    experiment = experiment.importable()
    spec = load_spec(args.config)
    args.workers = spec.budget.workers if args.workers is None else args.workers
    if args.workers < 1:
        parser.error("--workers must be >= 1")
    if args.calibrate and not args.dry_run:
        parser.error("--calibrate goes with --dry-run")
    if args.dry_run:
        if args.calibrate:
            ensure_demos(spec, expand_grid(spec), args.workers)
        print_dry_run(spec, args.workers, calibrate(spec) if args.calibrate else None)
        return 0
    failed: list[str] = []
    if not args.only_plot:
        try:
            failed = run_experiment(spec, experiment, args.workers, args.restart_stale, not args.no_progress,
                                    args.address)
        except StaleResultsError as error:
            print(error, file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("\ninterrupted; run the same command again to resume", file=sys.stderr)
            write_outputs(spec, experiment)
            return 130
    csv_path, png = write_outputs(spec, experiment)
    print(f"summary: {csv_path}" + (f", figure: {png}" if png else " (no results yet)"))
    if failed:
        print(f"{len(failed)} run(s) failed: {', '.join(failed)}; run again to retry them", file=sys.stderr)
        return 1
    return 0
