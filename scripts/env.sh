# Source this file to use hint from a shell:  source scripts/env.sh
# It activates the project's venv (made by `make setup`), puts the PyPI ROS 2 prefix on the
# ROS paths when that route is used, and sources the built workspace (install/setup.bash).
# `source scripts/env.sh --no-workspace` skips the workspace (used by setup before building).

_hint_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_hint_venv="${HINT_VENV:-$_hint_root/.venv}"
if [ ! -x "$_hint_venv/bin/python" ]; then
    echo "hint: no venv at $_hint_venv; run 'make setup' first" >&2
    return 1 2>/dev/null || exit 1
fi
# shellcheck source=/dev/null
source "$_hint_venv/bin/activate"
if [ -d "$_hint_venv/share/ament_index" ]; then
    # ROS 2 from PyPI: the wheels install a ROS prefix into the venv itself.
    case ":${AMENT_PREFIX_PATH:-}:" in *":$_hint_venv:"*) ;; *) export AMENT_PREFIX_PATH="$_hint_venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}" ;; esac
    case ":${CMAKE_PREFIX_PATH:-}:" in *":$_hint_venv:"*) ;; *) export CMAKE_PREFIX_PATH="$_hint_venv${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}" ;; esac
    case ":${LD_LIBRARY_PATH:-}:" in *":$_hint_venv/lib:"*) ;; *) export LD_LIBRARY_PATH="$_hint_venv/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;; esac
    export ROS_DISTRO="${ROS_DISTRO:-jazzy}"
    export ROS_VERSION=2
    export ROS_PYTHON_VERSION=3
fi
export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
export ROS_LOG_DIR="${ROS_LOG_DIR:-$_hint_root/log/ros}"
export SDL_VIDEODRIVER="${SDL_VIDEODRIVER:-dummy}"
if [ "${1:-}" != "--no-workspace" ] && [ -f "$_hint_root/install/setup.bash" ]; then
    # colcon's setup scripts read unset variables; relax nounset while sourcing them.
    _hint_nounset=0; case "$-" in *u*) _hint_nounset=1; set +u ;; esac
    # shellcheck source=/dev/null
    source "$_hint_root/install/setup.bash"
    [ "$_hint_nounset" = 1 ] && set -u
fi
unset _hint_root _hint_venv _hint_nounset
