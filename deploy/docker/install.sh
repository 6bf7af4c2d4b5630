#!/bin/sh
# The image's production install, also run by test/deploy/image.test.ts so that the recipe cannot rot:
# the server, @adabatch/core and their production dependencies only, into the directory $1
# (which must not exist or be empty), from the pnpm store that `pnpm install --frozen-lockfile`
# filled (no network). Run from the repository root after `pnpm exec tsc -b packages/server`.
set -eu
out="$1"
export ONNXRUNTIME_NODE_INSTALL=skip
# `inject-workspace-packages` copies @adabatch/core into the output instead of linking to the
# workspace; pnpm 10 deploys with the workspace's lockfile only then.
pnpm --config.inject-workspace-packages=true --filter @adabatch/server deploy --prod --offline "$out"
# onnxruntime-node ships CPU binaries for every platform (about 290 MB): keep this machine's only.
platform=$(node -p process.platform)
arch=$(node -p process.arch)
for napi in "$out"/node_modules/.pnpm/onnxruntime-node@*/node_modules/onnxruntime-node/bin/napi-v*; do
  for dir in "$napi"/*; do
    [ "$(basename "$dir")" = "$platform" ] || rm -rf "$dir"
  done
  for dir in "$napi/$platform"/*; do
    [ "$(basename "$dir")" = "$arch" ] || rm -rf "$dir"
  done
done
test -f "$out/dist/bin.js"
