#!/usr/bin/env bash
# Makes sure the programs the tests call directly are here before any test runs (`npm test`'s
# pretest step, and .ci/run): /usr/bin/python3 with PyTorch, numpy and the Jupyter clients, and
# /usr/bin/chromium. Installs what is missing where it can (root with apt-get, as on CI); otherwise
# stops at once with the exact command to run, instead of a wall of ENOENT / ImportError failures.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t packages < <(grep -v '^\s*#' .ci/apt-packages | grep -v '^\s*$')

if ! command -v dpkg >/dev/null 2>&1; then
  # Not Debian: check what the tests import and run, and name the conda environment that has it.
  if /usr/bin/python3 -c "import torch, numpy, yaml, jupyter_client, nbclient, jupyter_kernel_test" 2>/dev/null \
    && [ -x /usr/bin/chromium ]; then
    exit 0
  fi
  echo "npm test needs /usr/bin/python3 with torch, numpy, yaml (PyYAML), jupyter_client, nbclient, jupyter_kernel_test" >&2
  echo "and /usr/bin/chromium. On Debian: apt-get install ${packages[*]}" >&2
  echo "'npm run test:fast' runs the tests that need none of them." >&2
  exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing the Debian packages the tests need: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  exit 0
fi
echo "npm test needs these Debian packages, which are not installed: ${missing[*]}" >&2
echo "Install them with:  sudo apt-get install --no-install-recommends ${missing[*]}" >&2
echo "('npm run test:fast' runs the tests that need none of them.)" >&2
exit 1
