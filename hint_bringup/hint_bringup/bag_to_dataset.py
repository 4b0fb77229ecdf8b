"""Convert rosbag2 bags of hint episodes into a demo dataset (.npz of hint_policy.demos).

    python -m hint_bringup.bag_to_dataset BAG_OR_FOLDER [...] --out data/pusht_teleop.npz
        [--state-topic state] [--command-topic applied_input|command] [--event-topic episode_event]
        [--source teleop] [--successful-only] [--repair] [--force | --append]

Each argument is a bag directory (with metadata.yaml), a bare .mcap file, or a folder searched
recursively for both. Bags from hint's recorder_node and from ``ros2 bag record -s mcap`` of the
same topics convert alike; see :mod:`hint_bringup.bags.episodes` for the episode and input rules.

Safety: an existing --out is never replaced unless --force is given; --append adds the new
episodes to it (episodes already in it, same bag name, episode index, seed and start time, are
not added twice). The file is written atomically (temporary file + rename). A bag that is
truncated, corrupt or lacks a topic is skipped with a warning naming it; the others are
converted; with --repair an MCAP bag whose recorder was killed is rewritten first
(:func:`hint_bringup.bags.repair_bag`: its complete chunks kept, the episode cut by the crash
skipped, the originals moved to ``<bag>.truncated/``). When no bag converts because they are all
missing, truncated or corrupt, the command ends like every hint command on a bad file: one line,
``error: <file>: <what is wrong>`` (the first such file; the others are warned about before it).
Exit status: 0 when at least one episode was converted (or all were already in the dataset), 1
when the bags were readable but held no episode to convert, 2 for usage errors, refused
overwrites and inputs of which no bag could be read.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from hint_bringup.bags import BagError, CorruptBagError, find_bags, read_episodes, repair_bag
from hint_policy.cli import UserFacingError, add_debug_flag, run_main
from hint_policy.demos import Demo, load_demos, save_demos

LOG = logging.getLogger("hint_bringup.bag_to_dataset")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m hint_bringup.bag_to_dataset",
        description="Convert rosbag2 bags of hint episodes into a demo dataset (.npz).",
    )
    parser.add_argument("bags", nargs="+", type=Path, help="bag directories, .mcap files or folders holding them")
    parser.add_argument("--out", required=True, type=Path, help="dataset file to write (.npz)")
    parser.add_argument("--state-topic", default="state", help="StateVector topic (default: state)")
    parser.add_argument(
        "--command-topic", default=None,
        help="InputVector topic of the applied inputs (default: applied_input if the bag has it, else command)",
    )
    parser.add_argument("--event-topic", default="episode_event", help="EpisodeEvent topic (default: episode_event)")
    parser.add_argument("--source", default=None, help="demo source (default: the bag's hint.operator, else 'bag')")
    parser.add_argument("--successful-only", action="store_true", help="keep only episodes that ended in SUCCESS")
    parser.add_argument(
        "--repair", action="store_true",
        help="rewrite MCAP bags whose recorder was killed (complete chunks kept, originals in <bag>.truncated/), then convert",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--force", action="store_true", help="replace an existing --out")
    mode.add_argument("--append", action="store_true", help="add the episodes to an existing --out")
    add_debug_flag(parser)
    return parser.parse_args(argv)


def episode_key(demo: Demo) -> tuple:
    """Identifies an episode of a bag across conversions (for --append)."""
    extra = demo.extra
    return (Path(str(extra.get("bag", ""))).name, extra.get("episode_index"), demo.seed, extra.get("start_time"))


def convert(paths: Sequence[Path], args: argparse.Namespace) -> tuple[list[Demo], list[UserFacingError]]:
    """Demos from every bag under `paths` and the failures in the order met: a path that does not
    exist or holds no bag, a bag that cannot be read."""
    demos: list[Demo] = []
    failures: list[UserFacingError] = []
    for root in paths:
        try:
            bags = find_bags(root)
        except (FileNotFoundError, BagError) as error:
            failures.append(_failure(root, error, root))
            continue
        if not bags:
            failures.append(UserFacingError(root, "no bags found (bag directories with metadata.yaml or .mcap files)"))
        for bag in bags:
            try:
                episodes = read_bag(bag.resolve(), args)
            except BagError as error:
                failures.append(_failure(bag, error, bag.resolve()))
                continue
            if args.successful_only:
                episodes = [demo for demo in episodes if demo.success]
            LOG.info("%s: %d episode(s)", bag, len(episodes))
            demos.extend(episodes)
    return demos, failures


def _failure(path: Path, error: Exception, named: Path) -> UserFacingError:
    """`error` about `path` as ``<path>: <problem>``; the errors' texts start with the path they
    were given (`named`), which is cut off the problem."""
    text = " ".join(str(error).split())
    for prefix in (f"{named}: ", f"{named} "):
        text = text.removeprefix(prefix)
    return UserFacingError(path, text or type(error).__name__)


def read_bag(bag: Path, args: argparse.Namespace) -> list[Demo]:
    """The episodes of one bag; a truncated MCAP bag is repaired first when --repair is given."""
    def read(path: Path) -> list[Demo]:
        return read_episodes(path, state_topic=args.state_topic, input_topic=args.command_topic,
                             event_topic=args.event_topic, source=args.source)

    try:
        return read(bag)
    except CorruptBagError as error:
        if not args.repair:
            raise CorruptBagError(f"{error} (a killed recorder? --repair recovers its complete chunks)") from error
        return read(repair_bag(bag))


def check_consistent(demos: Sequence[Demo]) -> str | None:
    """A message when the demos do not share state names, input names and period."""
    kinds = {(d.state_names, d.input_names, d.period) for d in demos}
    if len(kinds) <= 1:
        return None
    listing = "; ".join(f"states {list(s)}, inputs {list(i)}, period {p}" for s, i, p in sorted(kinds))
    return f"the episodes do not share one state/input layout and period ({listing}); convert them into separate datasets"


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    args = parse_args(argv)
    out: Path = args.out
    existing: list[Demo] = []
    if out.exists():
        if args.append:
            existing = load_demos(out)  # a damaged file: one-line error (run_main), exit status 2
        elif not args.force:
            LOG.error("%s exists; refusing to overwrite it (use --append to add episodes or --force to replace it)", out)
            return 2
    demos, failures = convert(args.bags, args)
    if not demos and failures:  # nothing readable: the first bad input is the error, as a bad file is for any command
        for failure in failures[1:]:
            LOG.warning("skipping %s", failure)
        more = f" ({len(failures) - 1} more input(s) failed, listed above); {out} left unchanged" if len(failures) > 1 else ""
        raise UserFacingError(failures[0].path, failures[0].problem + more)
    for failure in failures:
        LOG.warning("skipping %s", failure)
    known = {episode_key(demo) for demo in existing}
    new = [demo for demo in demos if episode_key(demo) not in known]
    if len(new) < len(demos):
        LOG.info("%d episode(s) already in %s, not added again", len(demos) - len(new), out)
    if not demos:
        LOG.error("nothing converted: the bags hold no episode to convert; %s left unchanged", out)
        return 1
    if not new:
        return 0
    problem = check_consistent(existing + new)
    if problem:
        LOG.error("%s; %s left unchanged", problem, out)
        return 2
    save_demos(out, existing + new)
    successes = sum(demo.success for demo in new)
    LOG.info(
        "wrote %s: %d episode(s) added (%d successful, %d steps), %d in total; %d input(s) skipped",
        out, len(new), successes, sum(demo.horizon for demo in new), len(existing) + len(new), len(failures),
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
