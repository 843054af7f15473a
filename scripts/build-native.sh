#!/bin/sh
# Builds the native BLAS bridge (lib/backend/native, see lib/backend/native-blas.ts) with node-gyp,
# which npm puts on PATH for its scripts: `npm ci` runs this as tokenlab's install step, and
# `npm run build:native` reruns it. A failed build is not an install failure: tokenlab then runs its
# matrix products in its wasm kernels, and nativeBlasStatus() (and the benchmark) say so.
cd "$(dirname "$0")/../lib/backend/native" || exit 1
log=$(mktemp)
if node-gyp rebuild >"$log" 2>&1; then
  echo "tokenlab: built the native BLAS bridge (lib/backend/native/build/Release/blas_bridge.node)"
else
  tail -n 20 "$log" >&2
  echo "tokenlab: could not build the native BLAS bridge (needs a C compiler, make and python3);" >&2
  echo "          matrix products will run in the slower wasm kernels." >&2
fi
rm -f "$log"
