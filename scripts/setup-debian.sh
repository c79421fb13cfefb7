#!/usr/bin/env bash
# Installs the Debian packages the project builds against: oneDNN 2.x (libdnnl-dev) and a
# C++ toolchain for the native addon, PostgreSQL, whose binaries the store tests use to start
# throwaway clusters of their own, and tmux, the terminal the display tests run `train` in. Uses
# sudo when not root; does nothing if all present.
set -euo pipefail
packages=(libdnnl-dev g++ make python3 postgresql tmux)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "setup-debian: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
