#!/usr/bin/env bash
# Runs a command with the system's OpenCV data folders hidden (what a fresh machine without
# opencv-data looks like): a private mount namespace (`unshare -m`) with an empty read-only tmpfs
# over each folder that exists. Needs root (CI runs as root) or sudo. Fails when it cannot hide them,
# so CI never passes unchecked. Usage: bash scripts/hidden-system-data.sh <command> [args...]
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 <command> [args...]" >&2; exit 2; }
dirs=(/usr/share/opencv4 /usr/share/opencv /usr/local/share/opencv4 /usr/local/share/opencv)
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo --preserve-env)
command -v unshare >/dev/null || { echo "unshare (util-linux) is needed to hide the system data" >&2; exit 1; }
# shellcheck disable=SC2016
exec "${sudo_cmd[@]}" unshare -m --propagation private bash -c '
  set -euo pipefail
  for d in '"${dirs[*]}"'; do
    if [ -d "$d" ]; then mount -t tmpfs -o ro,size=1m tmpfs "$d"; echo "hidden: $d" >&2; fi
  done
  for d in '"${dirs[*]}"'; do
    if [ -n "$(ls -A "$d" 2>/dev/null)" ]; then echo "could not hide $d" >&2; exit 1; fi
  done
  exec "$@"' hidden-system-data "$@"
