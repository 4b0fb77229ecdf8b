#!/usr/bin/env bash
# make demo: the PushT sim graph with the shipped policy for a few episodes; prints each
# episode's coverage and the mean score, writes a video and the recorded bag under results/demo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=/dev/null
source scripts/env.sh
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
exec python -m hint_bringup.demo "$@"
