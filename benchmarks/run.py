"""Run hint's benchmarks, print every figure and write results/bench.json.

Each module ``benchmarks/bench_<area>.py`` defines ``run(report)``; it measures and calls
``report(name, value, unit, note)`` once per figure, with ``name`` a stable dotted identifier
and ``note`` saying what was measured and against what. Benchmarks report; they never fail
because a machine is slow. A benchmark module that raises is reported and the others still run.

    python -m benchmarks.run                   # all
    python -m benchmarks.run --only synth sim  # modules whose area starts with these words

With ``--only``, figures of an existing output file that this run did not measure are kept, so
a partial run updates results/bench.json instead of truncating it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import pkgutil
import sys
import time
import traceback
from pathlib import Path

import benchmarks


def _modules(only: list[str]) -> list[str]:
    names = sorted(
        info.name for info in pkgutil.iter_modules(benchmarks.__path__) if info.name.startswith("bench_")
    )
    if only:
        names = [n for n in names if any(n.removeprefix("bench_").startswith(o) for o in only)]
    return names


def _update(path: Path, figures: list[dict]) -> tuple[list[dict], int]:
    """An earlier results file's figures with `figures` put in: same names replaced in place, new
    ones appended. Returns the list and how many earlier figures were kept unchanged."""
    try:
        previous = [f for f in json.loads(path.read_text()) if isinstance(f, dict) and "name" in f]
    except (OSError, ValueError, TypeError):
        previous = []
    measured = {figure["name"]: figure for figure in figures}
    earlier_names = {f["name"] for f in previous}
    updated = [measured.get(f["name"], f) for f in previous] + [f for f in figures if f["name"] not in earlier_names]
    kept = sum(f["name"] not in measured for f in previous)
    return updated, kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=[], help="areas to run (prefixes of bench_<area>)")
    parser.add_argument("--out", type=Path, default=Path("results/bench.json"))
    args = parser.parse_args(argv)

    figures: list[dict] = []
    failed: list[str] = []

    def report(name: str, value: float, unit: str, note: str) -> None:
        value = float(value)
        figure = {"name": name, "value": value if math.isfinite(value) else None, "unit": unit, "note": note}
        figures.append(figure)
        print(f"  {name:<48} {value:>12.4g} {unit:<8} {note}", flush=True)

    for module_name in _modules(args.only):
        print(f"[bench] {module_name}", flush=True)
        start = time.perf_counter()
        try:
            importlib.import_module(f"benchmarks.{module_name}").run(report)
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            failed.append(module_name)
        print(f"[bench] {module_name} took {time.perf_counter() - start:.1f} s", flush=True)

    written = figures
    if args.only:
        written, kept = _update(args.out, figures)
        if kept:
            print(f"[bench] kept {kept} figures of the previous {args.out} that this run did not measure")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(written, indent=2) + "\n")
    print(f"[bench] {len(figures)} figures measured, {len(written)} written to {args.out}")
    if failed:
        print(f"[bench] modules that raised: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
