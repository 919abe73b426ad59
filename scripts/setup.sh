#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine (safe to run again):
# installs Deno from the npm registry if it is missing, OpenBLAS from Debian
# (fast matrix products; optional, the code falls back without it), then the
# pinned npm dependencies from deno.lock. Nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

DENO_VERSION=2.9.6
if ! command -v deno >/dev/null 2>&1 || ! deno --version | head -1 | grep -q "^deno 2\."; then
  echo "[setup] installing deno@${DENO_VERSION} from npm"
  npm install -g "deno@${DENO_VERSION}" >/dev/null
fi
echo "[setup] $(deno --version | head -1)"

# OpenBLAS: the wasm backend's matrix products go through it (lib/fast/).
if ! ls /usr/lib/*-linux-gnu/libopenblas.so.0 >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
  if [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; then
    echo "[setup] installing libopenblas0-pthread (apt-get)"
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libopenblas0-pthread; } >/dev/null \
      || echo "[setup] could not install OpenBLAS; continuing with the stock wasm kernels"
  else
    echo "[setup] OpenBLAS missing and no root/sudo: continuing with the stock wasm kernels (install libopenblas0-pthread for ~3x speed)"
  fi
fi

# The lock file pins every npm package; --frozen fails instead of changing it.
# tfjs-node(-gpu) install scripts (which download libtensorflow) are not run:
# see README "Using a GPU" for enabling them.
deno install --frozen >/dev/null
echo "[setup] npm dependencies installed in node_modules/"
