#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine (safe to run again):
# installs Deno from the npm registry if it is missing, then the pinned npm
# dependencies from deno.lock. Nothing is downloaded at run time after this.
set -euo pipefail
cd "$(dirname "$0")/.."

DENO_VERSION=2.9.6
if ! command -v deno >/dev/null 2>&1 || ! deno --version | head -1 | grep -q "^deno 2\."; then
  echo "[setup] installing deno@${DENO_VERSION} from npm"
  npm install -g "deno@${DENO_VERSION}" >/dev/null
fi
echo "[setup] $(deno --version | head -1)"

# The lock file pins every npm package; --frozen fails instead of changing it.
# tfjs-node(-gpu) install scripts (which download libtensorflow) are not run:
# see README "Using a GPU" for enabling them.
deno install --frozen >/dev/null
echo "[setup] npm dependencies installed in node_modules/"
