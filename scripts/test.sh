#!/usr/bin/env bash
# Run the whole test suite against the built workspace (make test calls this after setup).
# Extra arguments go to pytest, e.g. scripts/test.sh -k executor
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=/dev/null
source scripts/env.sh
# `pytest`, not `python -m pytest`: the latter puts the workspace root on sys.path, where the
# package folders (hint_msgs/, ...) would shadow the installed Python packages.
exec pytest "$@"
