#!/usr/bin/env bash
# The package as a user consumes it: `npm pack` here, then in an empty project `npm install` of the
# tarball (which builds the native addon from source, or uses the prebuilt binaries where
# `npm run build:prebuilt` made them before the pack), an ES-module and a CommonJS consumer that
# run ops, strict TypeScript consumers of both kinds type-checked against the shipped declarations,
# and the `alexnet` command training one short epoch. Needs what `npm install` in a clone needs
# (scripts/install-deps.sh) and the dev dependencies installed here (npm pack runs `prepare`).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/alexnet-package-check.XXXXXX)
trap 'rm -rf "$work"' EXIT

cd "$here"
tgz=$(npm pack --pack-destination "$work" 2>/dev/null | tail -1)
echo "packed $tgz ($(du -h "$work/$tgz" | cut -f1))"
tar -tzf "$work/$tgz" >"$work/contents.txt"
grep -q '^package/dist/lib/index.d.ts$' "$work/contents.txt" || { echo "the tarball has no dist/lib"; exit 1; }

mkdir "$work/consumer" && cd "$work/consumer"
npm init -y >/dev/null
cp "$here"/scripts/package-check/consumer.* "$here"/scripts/package-check/rejected.mts "$here"/scripts/package-check/tsconfig.json .
npm install --no-audit --no-fund "../$tgz" >install.log 2>&1 || { tail -40 install.log; exit 1; }
echo "installed into an empty project"
node consumer.mjs
node --no-warnings consumer.cjs
npm install --no-audit --no-fund --silent typescript@~5.9.3 @types/node@^20.19.0 >/dev/null
npx tsc -p tsconfig.json && echo "strict TypeScript consumers (ESM and CommonJS) type-check; wrong device names and error codes do not"
npx alexnet --help >/dev/null
npx alexnet train --preset fashion-mnist-quick --epochs 1 --limit 2048 --progress none --out "$work/run" | tail -1
