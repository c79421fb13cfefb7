#!/usr/bin/env bash
# Installs the Debian packages the project needs. Always: oneDNN 2.x (libdnnl-dev) and a C++
# toolchain for the native addon. With --tests, also what the tests drive: PostgreSQL, whose
# binaries the store tests use to start throwaway clusters of their own; tmux, the terminal the
# display tests run `train` in; chromium, the browser the dashboard test drives (headless, through
# playwright-core); and python3-torch (PyTorch 1.13 for /usr/bin/python3), with which the
# tests make torch.save fixtures and load our .pt files back (required under CI=true); and
# python3-scipy, against which the tests check the statistics over seeds. Uses sudo
# when not root; does nothing if all are present.
set -euo pipefail
packages=(libdnnl-dev g++ make python3)
case "${1:-}" in
  --tests) packages+=(postgresql tmux chromium python3-torch python3-scipy) ;;
  "") ;;
  *) echo "setup-debian: unknown option '$1'; use --tests to add the tests' packages, or nothing" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "setup-debian: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
