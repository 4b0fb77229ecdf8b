#!/usr/bin/env bash
# Optional part of hint's environment: the lerobot package for LeRobot dataset interop
# (hint_policy.lerobot_io, python -m hint_bringup.to_lerobot, data.demos: [lerobot:...]).
# Run after scripts/setup.sh (make setup); idempotent.
#
# lerobot's dataset code imports torchvision. PyPI's torchvision 0.28.0 is built against PyPI's
# torch 2.13.0 (the build with CUDA libraries), so where the venv has a CPU-only build of torch
# 2.13.0 (e.g. from a local wheel), this script replaces it by PyPI's build of the same version,
# which also runs on machines without a GPU. Size: about 5 GB in the venv (mostly the CUDA
# libraries); HINT_PYPI_INDEX (default https://pypi.org/simple) is where that build comes from.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${HINT_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
INDEX="${HINT_PYPI_INDEX:-https://pypi.org/simple}"
say() { printf '\033[1m[setup-lerobot]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup-lerobot] error:\033[0m %s\n' "$*" >&2; exit 1; }

[ -x "$PY" ] || die "no venv at $VENV; run 'make setup' first"
if "$PY" -c 'import lerobot.datasets.lerobot_dataset' >/dev/null 2>&1; then
    say "lerobot already installed: $("$PY" -c 'import importlib.metadata as m; print(m.version("lerobot"))')"
    exit 0
fi
start=$SECONDS
torch_version="$("$PY" -c 'import torch; print(torch.__version__)')"
case "$torch_version" in
    *+cpu)
        say "torch $torch_version is a CPU-only build; installing PyPI's torch ${torch_version%+cpu} (with CUDA libraries) for torchvision"
        "$PY" -m pip install --isolated --index-url "$INDEX" --force-reinstall --no-deps "torch==${torch_version%+cpu}"
        "$PY" -m pip install --isolated --index-url "$INDEX" -c "$ROOT/requirements/python.txt" "torch==${torch_version%+cpu}" ;;
esac
say "installing lerobot (without its pins) and the packages its dataset code imports"
"$PY" -m pip install --no-deps "$(grep '^lerobot==' "$ROOT/requirements/lerobot.txt")"
grep -v '^lerobot==' "$ROOT/requirements/lerobot.txt" > "$VENV/.lerobot-requirements.txt"
"$PY" -m pip install -c "$ROOT/requirements/python.txt" -r "$VENV/.lerobot-requirements.txt"
"$PY" -c 'import lerobot.datasets.lerobot_dataset, torchvision.ops' || die "lerobot does not import; see the errors above"
say "done in $((SECONDS - start)) s; venv size $(du -sh "$VENV" | cut -f1)"
