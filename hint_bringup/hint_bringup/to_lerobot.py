"""Export hint demos (.npz) or folders of recorded bags as a local LeRobotDataset.

    python -m hint_bringup.to_lerobot data/pusht_demos.npz --out data/lerobot/pusht --repo-id hint/pusht
    python -m hint_bringup.to_lerobot bags/ --out data/lerobot/pusht_teleop [--successful-only] [--repair]

Each argument is a demo file written by ``hint_policy.experts.generate`` / ``bag_to_dataset``
(``.npz``), or a bag directory, ``.mcap`` file or folder holding them (read exactly as
``hint_bringup.bag_to_dataset`` reads them: same topics, episode rules and --repair). The demos
must share their state names, input names and period. The dataset is written with the
``lerobot`` package's own API (:mod:`hint_policy.lerobot_io`: ``observation.state`` and
``action`` with hint's names, one episode per demo, fps = 1 / period, hint's episode facts in
``meta/hint_episodes.jsonl``); read it back with
``lerobot.datasets.lerobot_dataset.LeRobotDataset(repo_id, root=<out>)`` or train hint from it
with ``data.demos: [lerobot:<out>]``. The recorder does not record images, so there is no
``observation.image`` feature. An existing --out is never replaced. Exit status: 0 written,
1 nothing to export, 2 usage or input errors.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from hint_bringup.bag_to_dataset import check_consistent, convert
from hint_policy.cli import add_debug_flag, run_main
from hint_policy.demos import Demo, load_demos
from hint_policy.lerobot_io import write_lerobot_dataset

LOG = logging.getLogger("hint_bringup.to_lerobot")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m hint_bringup.to_lerobot",
                                     description="Export hint demos or bags as a local LeRobotDataset.")
    parser.add_argument("sources", nargs="+", type=Path, help=".npz demo files, bag directories, .mcap files or folders")
    parser.add_argument("--out", required=True, type=Path, help="dataset root folder to create")
    parser.add_argument("--repo-id", default=None, help="the dataset's repo id (default: hint/<out folder name>)")
    parser.add_argument("--successful-only", action="store_true", help="export only successful demos")
    parser.add_argument("--state-topic", default="state", help="bags: StateVector topic")
    parser.add_argument("--command-topic", default=None, help="bags: InputVector topic (default applied_input, else command)")
    parser.add_argument("--event-topic", default="episode_event", help="bags: EpisodeEvent topic")
    parser.add_argument("--source", default=None, help="bags: demo source (default: the bag's hint.operator, else 'bag')")
    parser.add_argument("--repair", action="store_true", help="bags: repair MCAP bags of a killed recorder first")
    add_debug_flag(parser)
    return parser.parse_args(argv)


def collect(args: argparse.Namespace) -> tuple[list[Demo], int]:
    """The demos of every source and the number of sources that failed."""
    demos: list[Demo] = []
    failed = 0
    bag_sources = []
    for source in args.sources:
        if source.suffix == ".npz":
            demos.extend(load_demos(source))
        else:
            bag_sources.append(source)
    if bag_sources:
        from_bags, failed = convert(bag_sources, args)
        demos.extend(from_bags)
    if args.successful_only:
        demos = [d for d in demos if d.success]
    return demos, failed


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    args = parse_args(argv)
    if args.out.exists():
        LOG.error("%s exists; refusing to overwrite it (pick another --out)", args.out)
        return 2
    demos, failed = collect(args)
    if not demos:
        LOG.error("nothing to export (%d source(s) failed)", failed)
        return 1
    problem = check_consistent(demos)
    if problem:
        LOG.error(problem)
        return 2
    repo_id = args.repo_id or f"hint/{args.out.name}"
    write_lerobot_dataset(demos, args.out, repo_id)
    frames = sum(d.horizon + 1 for d in demos)
    LOG.info("wrote %d episode(s), %d frames at %d fps to %s (repo id %s)", len(demos), frames,
             round(1.0 / demos[0].period), args.out, repo_id)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
