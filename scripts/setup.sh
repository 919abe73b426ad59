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

# Debian packages for the fast CPU path (lib/fast/), all optional: OpenBLAS
# for matrix products, a C compiler for the project's fused kernels
# (lib/fast/native/kernels.c). Without them the stock wasm kernels are used.
apt_install() { # package, what it is for
  local SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
  if ! command -v apt-get >/dev/null 2>&1 || { [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; }; then
    echo "[setup] $1 missing and no apt-get with root/sudo: continuing without $2"
    return
  fi
  echo "[setup] installing $1 (apt-get) for $2"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$1"; } >/dev/null \
    || echo "[setup] could not install $1; continuing without $2"
}
ls /usr/lib/*-linux-gnu/libopenblas.so.0 >/dev/null 2>&1 || apt_install libopenblas0-pthread "BLAS matrix products"
command -v cc >/dev/null 2>&1 || apt_install gcc "the native fused kernels"

# The lock file pins every npm package; --frozen fails instead of changing it.
# tfjs-node(-gpu) install scripts (which download libtensorflow) are not run:
# see README "Using a GPU" for enabling them.
deno install --frozen >/dev/null
echo "[setup] npm dependencies installed in node_modules/"

# `deno bundle` (tests/browser_test.ts bundles lib/browser.ts for a page) fetches Deno's own esbuild, of the
# version this Deno pins, into Deno's cache on first use: fetch it here rather than in a test.
BUNDLE_DIR="$(mktemp -d)"
deno bundle --quiet --platform browser -o "$BUNDLE_DIR/browser.js" lib/browser.ts >/dev/null 2>&1 \
  && echo "[setup] deno bundle ready (lib/browser.ts bundles for a browser)" \
  || echo "[setup] deno bundle failed: tests/browser_test.ts will say why"
rm -rf "$BUNDLE_DIR"

# Build the native kernels now (they are also built on first use) and say which path is active.
deno eval --quiet 'import { initBackend } from "./lib/backend.ts"; await initBackend();' 2>/dev/null | sed 's/^\[rlhf\]/[setup]/' \
  || echo "[setup] the backend check failed: run 'deno task test' to see why"
