#!/usr/bin/env bash
# Installs the Debian packages the project builds against: oneDNN 2.x (libdnnl-dev) and a
# C++ toolchain for the native addon, and PostgreSQL, whose binaries the store tests use to start
# throwaway clusters of their own, and python3-torch (PyTorch 1.13 for /usr/bin/python3), with which the
# tests make torch.save fixtures and load our .pt files back (test/torch-io.test.ts; required under CI=true).
# Uses sudo when not root; does nothing if all present.
set -euo pipefail
packages=(libdnnl-dev g++ make python3 postgresql python3-torch)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "setup-debian: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
