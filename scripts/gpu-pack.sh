#!/usr/bin/env bash
# Packs what the one-run GPU check (scripts/gpu-check.sh) needs on a GPU machine that has CUDA,
# PyTorch and NVIDIA's cuDNN/cuBLAS wheels in its python3, but no Node, no npm, no oneDNN and no
# network: Node itself, the built addon and CUDA module, dist/, the node_modules the tests and
# benchmarks load, the shared libraries the addon needs beyond glibc, the oracle, and a slice of
# Fashion-MNIST for the training run. Everything goes to .device/ (ignored by git); send it with
# the project (tracked files) and run `bash scripts/gpu-check.sh` there.
#
# Run from the project's root after `npm run build` built the CUDA backend (the build says
# "alexnet: CUDA backend built"; `pip install nvidia-cudnn-cu13 nvidia-cublas` gives it cuDNN and
# cuBLAS). Environment: ALEXNET_ORACLE (an optional second reference set; default ../shared/oracle where present), FASHION_MNIST_DIR (default
# /usr/share/datasets/fashion-mnist), TRAIN_IMAGES and TEST_IMAGES (how many of each split are
# packed, default 6400 and 2000: the run trains 4 epochs of 50 steps of batch 128).
#
# The remote GPU runner this check is made for takes the project's tracked files and the pack
# together up to 64 MiB: the end says how much of that the two use, and warns when they are over.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
addon=build/Release/alexnet.node
module=build/Release/libalexnet_cuda.so
# The NCCL module where it was built (NCCL itself stays behind, like cuDNN: PyTorch's wheels bring it).
nccl_module=build/Release/libalexnet_nccl.so
[ -f "$nccl_module" ] || nccl_module=""
for f in "$addon" "$module" dist/lib/index.js dist/test; do
  [ -e "$f" ] || { echo "gpu-pack: $f is missing: run npm run build (with the CUDA backend) first" >&2; exit 1; }
done
oracle=${ALEXNET_ORACLE:-$root/../shared/oracle}  # optional: the project's own references always travel
fashion=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
train_images=${TRAIN_IMAGES:-6400}
test_images=${TEST_IMAGES:-2000}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$stage/lib-fallback" "$stage/project" "$stage/data"

# Node (x86-64 Linux). The official binaries need glibc >= 2.28 and a libstdc++ of gcc 10 or newer.
# Stripped of its debug information and static symbol table (about 2 MB less in the pack; addons
# bind to its dynamic symbols, which stay).
cp "$(readlink -f "$(command -v node)")" "$stage/bin/node"
if command -v strip >/dev/null; then strip "$stage/bin/node" || echo "gpu-pack: strip failed: node packed as it is" >&2; fi

# Libraries resolved outside glibc and the driver: the addon's (oneDNN, libjpeg-turbo, libpng, ...)
# and their own. cuDNN, cuBLAS and NCCL stay behind: the GPU machine has them in its Python wheels.
# libstdc++ and libgcc_s go to lib-fallback/, used only where the machine's own are too old (so
# that python3 and PyTorch keep theirs).
skip='^(libc|libm|libdl|libpthread|librt|ld-linux-x86-64|libcuda|libcudnn.*|libcublas.*|libcublasLt|libnccl)\.so'
copy_deps() {
  ldd "$1" | awk '/=> \//{print $3}' | while read -r lib; do
    name=$(basename "$lib")
    [[ $name =~ $skip ]] && continue
    case "$name" in
      libstdc++.so*|libgcc_s.so*) dest="$stage/lib-fallback" ;;
      *) dest="$stage/lib" ;;
    esac
    [ -e "$dest/$name" ] || cp -L "$lib" "$dest/$name"
  done
}
copy_deps "$addon"
copy_deps "$module"
[ -n "$nccl_module" ] && copy_deps "$nccl_module"
copy_deps "$stage/bin/node"
for lib in "$stage"/lib/*; do copy_deps "$lib"; done

# The project as built here (tracked files travel by themselves), and of node_modules only what
# the tests and benchmarks load: mocha, chai, pngjs and what they depend on.
# The built libraries stripped of their static symbol tables (their dynamic symbols stay): copies,
# so the build here keeps its own.
for f in "$addon" "$module" $nccl_module; do
  mkdir -p "$stage/built/$(dirname "$f")" && cp "$root/$f" "$stage/built/$f"
  if command -v strip >/dev/null; then strip --strip-unneeded "$stage/built/$f" || echo "gpu-pack: strip failed: $f packed as it is" >&2; fi
done
tar -C "$stage/built" -cf "$stage/project/build.tar" "$addon" "$module" $nccl_module
rm -rf "$stage/built"
tar -C "$root" -cf "$stage/project/dist.tar" dist
node -e '
  const fs = require("fs"), path = require("path");
  const seen = new Set(), todo = ["mocha", "chai", "pngjs"];
  while (todo.length) {
    const name = todo.pop();
    if (seen.has(name)) continue;
    const manifest = path.join("node_modules", name, "package.json");
    if (!fs.existsSync(manifest)) continue;  // optional, or nested inside its user (packed with it)
    seen.add(name);
    const pkg = JSON.parse(fs.readFileSync(manifest, "utf8"));
    todo.push(...Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }));
  }
  for (const name of [...seen].sort()) console.log(path.join("node_modules", name));
' > "$stage/modules.txt"
# node_modules/.bin: the links to the packed packages only (mocha, _mocha), kept as links.
echo node_modules/.bin/mocha node_modules/.bin/_mocha | tr ' ' '\n' >> "$stage/modules.txt"
# (node_modules may be a link to another checkout's: pack from where it really is.)
modules_parent=$(dirname "$(readlink -f node_modules)")
tar -C "$modules_parent" -cf "$stage/project/node_modules.tar" --no-recursion node_modules node_modules/.bin
# Without source maps and the browser bundles (mocha.js, pngjs's browser.js): Node loads neither.
tar -C "$modules_parent" -rf "$stage/project/node_modules.tar" --exclude='*.map' \
  --exclude='node_modules/mocha/mocha.js' --exclude='node_modules/pngjs/browser.js' -T "$stage/modules.txt"
rm "$stage/modules.txt"

# The oracle (test/helpers/references.ts finds it at .device/oracle; run_checks.sh via ALEXNET_ORACLE).
if [ -d "$oracle/data" ]; then
  cp -r "$oracle" "$stage/oracle"
else
  echo "gpu-pack: no oracle at $oracle: the GPU run checks against test/references only" >&2
fi

# Fashion-MNIST: the first images of each split, as IDX files.
python3 - "$fashion" "$stage/data/fashion-mnist" "$train_images" "$test_images" <<'PY'
import gzip, os, struct, sys
src, dst, train, test = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.makedirs(dst, exist_ok=True)
for split, limit in (("train", train), ("t10k", test)):
    for kind, record in (("images-idx3", 28 * 28), ("labels-idx1", 1)):
        name = f"{split}-{kind}-ubyte.gz"
        with gzip.open(os.path.join(src, name), "rb") as f:
            data = f.read()
        dims = data[3]
        count = struct.unpack(">I", data[4:8])[0]
        n = min(limit, count)
        header = data[:4] + struct.pack(">I", n) + data[8:4 + 4 * dims]
        body = data[4 + 4 * dims:4 + 4 * dims + n * record]
        with gzip.open(os.path.join(dst, name), "wb", compresslevel=6) as f:
            f.write(header + body)
PY

# What the binaries need of the machine's glibc (the GPU machine must have at least this).
need=$(for f in "$stage/bin/node" "$addon" "$module" "$stage"/lib/*; do objdump -T "$f" 2>/dev/null; done |
  grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
echo "${need:-GLIBC_?}" > "$stage/glibc-needed"
git -C "$root" rev-parse HEAD > "$stage/commit"

rm -rf .device && mkdir -p .device
# -9e: about 0.5 MB less than -6 for a minute and a half more here; the 64 MiB leaves little room.
tar -C "$stage" -cf - . | xz -T2 -9e > .device/bundle.tar.xz
echo "gpu-pack: .device/bundle.tar.xz $(du -h .device/bundle.tar.xz | cut -f1) (needs ${need:-?} on the GPU machine)"
# What the GPU runner would carry: the tracked files and the pack (its limit: 64 MiB together).
tracked=$(git -C "$root" ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
bundle=$(stat -c %s .device/bundle.tar.xz)
total_mib=$(( (tracked + bundle) / 1048576 ))
echo "gpu-pack: tracked files $((tracked / 1048576)) MiB + pack $((bundle / 1048576)) MiB = ${total_mib} MiB of the 64 MiB the GPU runner carries"
if [ $((tracked + bundle)) -gt $((64 * 1048576)) ]; then
  echo "gpu-pack: WARNING: over 64 MiB: pack fewer images (TRAIN_IMAGES, TEST_IMAGES) or leave the oracle out (ALEXNET_ORACLE=/nonexistent)" >&2
fi
echo "gpu-pack: send .device/ with the project and run there: bash scripts/gpu-check.sh"
