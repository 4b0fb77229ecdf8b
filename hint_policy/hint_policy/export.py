"""Slim a training checkpoint down to what inference needs (EMA weights, config, normalizers).

    python -m hint_policy.export outputs/pusht/checkpoints/latest.pt hint_bringup/checkpoints/pusht.pt

The result loads with :meth:`hint_policy.inference.HintPolicy.from_checkpoint` like the original
but drops the raw weights, optimizer and RNG state (about a third of the size); it cannot resume
training.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hint_policy.checkpoint import load_checkpoint, save_checkpoint

INFERENCE_KEYS = ("format", "version", "config", "layout", "normalizers", "ema", "step", "metrics")


def export_policy(checkpoint: str | Path, out: str | Path) -> Path:
    payload = load_checkpoint(checkpoint)
    return save_checkpoint(out, {key: payload[key] for key in INFERENCE_KEYS if key in payload})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    try:
        path = export_policy(args.checkpoint, args.out)
    except (FileNotFoundError, ValueError) as error:
        print(f"export: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
