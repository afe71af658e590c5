#!/usr/bin/env bash
# The prebuilt binaries as a user meets them: from the build in this checkout (npm run build),
# `npm run build:prebuilt` and `npm pack`, then in a fresh Debian 12 root that has only Node and npm
# (.ci/fresh-root.sh: no compiler, no CMake, none of the -dev or run-time library packages),
# `npm install` of the tarball in an empty project, timed, and one short epoch of `alexnet train`.
# The only package installed there is Debian's dataset-fashion-mnist: data, for the training run.
#
#   bash scripts/prebuilt-check.sh            (as root, after npm run build; commit first: the root
#                                               gets a clean clone of HEAD)
#   bash scripts/prebuilt-check.sh --inside TGZ   (what runs inside the fresh root)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

# The run-time packages whose libraries the prebuild carries: none of them may be needed.
carried_packages="libdnnl2 ocl-icd-libopencl1 libgomp1 libturbojpeg0 libjpeg62-turbo libpng16-16"

inside() {
  local tgz=$1
  for tool in cc gcc g++ c++ cmake make; do
    if command -v "$tool" >/dev/null; then echo "this root has $tool: not a machine without a compiler"; exit 1; fi
  done
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends dataset-fashion-mnist; } \
    >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }
  for p in $carried_packages; do
    if dpkg -s "$p" >/dev/null 2>&1; then echo "$p is installed here: the check would prove nothing"; exit 1; fi
  done

  mkdir /root/app && cd /root/app
  npm init -y >/dev/null
  local start=$SECONDS
  npm install --no-audit --no-fund --foreground-scripts "$tgz" >install.log 2>&1 || { tail -40 install.log; exit 1; }
  echo "npm install of $(basename "$tgz") in an empty project: $((SECONDS - start))s"
  grep 'alexnet-cudnn:' install.log
  grep -q 'alexnet-cudnn: using the prebuilt binaries' install.log || { echo "the prebuilt binaries were not used"; exit 1; }
  for p in $carried_packages; do
    if dpkg -s "$p" >/dev/null 2>&1; then echo "the install brought in $p"; exit 1; fi
  done
  echo "no compiler, no CMake, and none of: $carried_packages"
  npx alexnet info
  npx alexnet train --preset fashion-mnist-quick --epochs 1 --limit 2048 --progress none --out /tmp/prebuilt-run | tail -1
}

if [ "${1:-}" = --inside ]; then
  inside "$2"
  exit 0
fi

cd "$here"
[ -f build/Release/alexnet.node ] || { echo "build first: npm run build"; exit 1; }
work=$(mktemp -d /tmp/alexnet-prebuilt-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
npm run --silent build:prebuilt
tgz=$(npm pack --pack-destination "$work" 2>/dev/null | tail -1)
echo "packed $tgz ($(du -h "$work/$tgz" | cut -f1))"
tar -tzf "$work/$tgz" >"$work/contents.txt"
for f in prebuilds/linux-x64/alexnet.node prebuilds/linux-x64/prebuild.json prebuilds/linux-x64/libdnnl.so.2 \
         scripts/install.mjs dist/lib/index.js; do
  grep -qx "package/$f" "$work/contents.txt" || { echo "the tarball has no $f"; exit 1; }
done
if grep -E 'package/prebuilds/.*/lib(cudnn|cublas)' "$work/contents.txt"; then echo "the tarball carries cuDNN/cuBLAS"; exit 1; fi
ALEXNET_FRESH_COPY="$work/$tgz" bash .ci/fresh-root.sh "bash scripts/prebuilt-check.sh --inside /root/$tgz"
