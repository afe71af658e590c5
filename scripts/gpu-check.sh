#!/usr/bin/env bash
# The one-run GPU check: on a machine with an NVIDIA GPU, CUDA, PyTorch with cuDNN and NVIDIA's
# cuDNN/cuBLAS wheels in its python3 (no Node, no npm, no network needed), run from the project's
# root with .device/ from scripts/gpu-pack.sh beside it:
#
#   OUT=/some/dir bash scripts/gpu-check.sh
#
# It unpacks Node and the built project, points the loader at the machine's cuDNN and cuBLAS, and
# runs, each step under its own time limit so that one hang cannot eat the run (GPU_CHECK_BUDGET,
# default 500 s, bounds the whole run):
#   machine  the GPU, driver, Node, PyTorch/cuDNN, glibc, and where every library resolves
#   loader   the addon loads, finds the CUDA module and sees the GPU (cudaInfo)
#   checks   native/cuda/test/run_checks.sh with ALEXNET_REQUIRE_GPU=1 (no Node)
#   test     npm run test:gpu (the whole suite on cuda)
#   bench    npm run bench:gpu (PyTorch + cuDNN side by side on the same GPU)
#   layers   the paper's step layer by layer in fp32 and bf16, the quick preset's in bf16
#   train    alexnet train --preset fashion-mnist-quick on cuda: 4 epochs of the packed 6,400
#            images (200 steps of batch 128), then the test accuracy
#   bf16     the same in mixed precision (--precision bf16: cuDNN/cuBLAS bfloat16 tensor cores)
#   fp16     the same in float16 with dynamic loss scaling (--precision fp16), if time is left
# Logs, summary.txt and the benchmark JSON go to $OUT (default /tmp/out), gathered at the end into
# one archive beside summary.txt (see the end of this file). GPU_CHECK_STEPS picks
# steps (e.g. machine,loader for a dry run on a machine without a GPU). Exit status 0 when every
# step passed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-/tmp/out}
mkdir -p "$out"
budget=${GPU_CHECK_BUDGET:-500}
steps=${GPU_CHECK_STEPS:-machine,loader,checks,test,bench,layers,train,bf16,fp16}
summary="$out/summary.txt"
: > "$summary"
started=$SECONDS
status=0

# ---- unpack --------------------------------------------------------------------------------------
[ -f .device/bundle.tar.xz ] || { echo "gpu-check: .device/bundle.tar.xz is missing: run scripts/gpu-pack.sh where the project was built" | tee -a "$summary"; exit 1; }
stage="$root/.device/stage"
rm -rf "$stage" && mkdir -p "$stage"
xz -dc .device/bundle.tar.xz | tar -C "$stage" -xf - || { echo "gpu-check: unpacking failed" | tee -a "$summary"; exit 1; }
for part in build dist node_modules; do
  rm -rf "${root:?}/$part"
  tar -C "$root" -xf "$stage/project/$part.tar"
done
if [ -d "$stage/oracle" ]; then rm -rf .device/oracle && mv "$stage/oracle" .device/oracle; fi
export PATH="$stage/bin:$root/node_modules/.bin:$PATH"

# cuDNN, cuBLAS and NCCL from the Python wheels (the module's RUNPATH names where it was built, not
# here), then the libraries packed with the addon.
wheel_libs=""
for dir in $(python3 -c 'import nvidia; print(" ".join(nvidia.__path__))' 2>/dev/null); do
  found=$(find "$dir" -maxdepth 3 \( -name 'libcudnn.so.9' -o -name 'libcublas.so.1[0-9]' -o -name 'libnccl.so.2' \) -printf '%h\n' 2>/dev/null | sort -u | paste -sd:)
  [ -n "$found" ] && wheel_libs="${wheel_libs:+$wheel_libs:}$found"
done
export LD_LIBRARY_PATH="$stage/lib${wheel_libs:+:$wheel_libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The packed libstdc++ only where the machine's is too old for Node or the addon.
if ! node -e "process.dlopen({ exports: {} }, '$root/build/Release/alexnet.node')" >/dev/null 2>&1; then
  export LD_LIBRARY_PATH="$stage/lib-fallback:$LD_LIBRARY_PATH"
  echo "note: using the packed libstdc++ (lib-fallback)" | tee -a "$summary"
fi
# The second, independent reference set where the pack carries one (the project's own are in test/references).
[ -d "$root/.device/oracle/data" ] && export ALEXNET_ORACLE="$root/.device/oracle"

# Runs an npm script of package.json as npm would (node_modules/.bin on PATH), without npm.
npm_run() {
  local script
  script=$(node -e 'const s = require("./package.json").scripts[process.argv[1]]; if (!s) process.exit(1); console.log(s)' "$1") ||
    { echo "no npm script $1"; return 1; }
  echo "> $script"
  sh -c "$script"
}

# run_step NAME LIMIT COMMAND...: skipped unless named in GPU_CHECK_STEPS; its limit is cut to what
# is left of the budget; output to $out/NAME.log; one line per step in summary.txt.
run_step() {
  local name=$1 limit=$2
  shift 2
  case ",$steps," in *",$name,"*) ;; *) return 0 ;; esac
  local left=$((budget - (SECONDS - started)))
  if [ "$left" -lt 15 ]; then
    printf '%-8s skipped: the run has used its %ss\n' "$name" "$budget" | tee -a "$summary"
    status=1
    return 0
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  local t0=$SECONDS rc
  echo "== $name (limit ${limit}s)"
  # In its own bash (timeout runs programs, not functions); timeout stops the whole process group.
  timeout --kill-after=10 "$limit" bash -c '"$@"' step "$@" > "$out/$name.log" 2>&1
  rc=$?
  local verdict=ok
  [ "$rc" -eq 0 ] || verdict=FAILED
  [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && verdict="TIMED OUT"
  printf '%-8s %-9s rc=%-3s %4ss of %ss  (%s)\n' "$name" "$verdict" "$rc" "$((SECONDS - t0))" "$limit" "$name.log" | tee -a "$summary"
  [ "$rc" -eq 0 ] || status=1
  tail -n 3 "$out/$name.log" | sed 's/^/    /'
}

machine() {
  echo "commit $(cat "$stage/commit" 2>/dev/null) (packed), glibc needed $(cat "$stage/glibc-needed" 2>/dev/null)"
  echo "glibc here: $(ldd --version 2>&1 | head -1)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,compute_cap --format=csv 2>&1 || echo "nvidia-smi: not usable"
  echo "node $(node --version) at $(command -v node)"
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "gpu", torch.cuda.is_available())' 2>&1
  command -v nvcc >/dev/null && nvcc --version | tail -2
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  local missing=0
  for f in build/Release/alexnet.node build/Release/libalexnet_cuda.so build/Release/libalexnet_nccl.so; do
    [ -f "$f" ] || continue
    echo "-- $f"
    ldd "$f" | grep -v 'linux-vdso' | sed 's/^\s*/   /'
    # NCCL is optional: without it the NCCL checks say so and skip.
    [ "$f" != build/Release/libalexnet_nccl.so ] && ldd "$f" | grep -q 'not found' && missing=1
  done
  return $missing
}

loader() {
  node --input-type=module -e "
    import { cudaInfo, availableDevices } from './dist/lib/index.js';
    const info = cudaInfo();
    console.log(JSON.stringify(info, null, 2));
    console.log('devices:', availableDevices().join(', '));
    if (!(info.count > 0)) { console.log('no CUDA device usable'); process.exit(1); }"
}

# ALEXNET_CUDNN_LOG=1: the log names the cuDNN algorithm and math each convolution ran with, per
# data type (whether the 16-bit ones got tensor cores, which algorithm an out-of-bound case used).
checks() {
  ALEXNET_REQUIRE_GPU=1 ALEXNET_CUDNN_LOG=1 bash native/cuda/test/run_checks.sh build/Release/libalexnet_cuda.so
}

bench() {
  npm_run bench:gpu
  local rc=$?
  cp bench/results/*.json "$out/" 2>/dev/null
  return $rc
}

# Where a step's time goes, layer by layer (synchronised around each): the paper's network at batch
# 128 in fp32 and bf16, and the quick preset's in bf16.
layers() {
  node dist/bench/quick_preset_layers.js --preset paper --device cuda --precision fp32 --steps 10 &&
    node dist/bench/quick_preset_layers.js --preset paper --device cuda --precision bf16 --steps 10 &&
    node dist/bench/quick_preset_layers.js --device cuda --precision bf16 --steps 10
}

# train RUN_DIR [FLAGS...]; the log names each convolution's algorithm and how long choosing it took
# (where a 16-bit run's first epoch spends its seconds).
train() {
  local dir=$1
  shift
  ALEXNET_CUDNN_LOG=1 node dist/lib/cli/main.js train --preset fashion-mnist-quick --device cuda \
    --data-dir "$stage/data/fashion-mnist" --epochs 4 --progress plain \
    --out "$out/$dir" "$@"
}

bf16() {
  train train-run-bf16 --precision bf16
}

fp16() {
  train train-run-fp16 --precision fp16
}

export root out stage
export -f npm_run machine loader checks bench layers train bf16 fp16
run_step machine 30 machine
cp "$out/machine.log" "$out/machine.txt" 2>/dev/null
run_step loader 30 loader
run_step checks 75 checks
run_step test 170 npm_run test:gpu
run_step bench 150 bench
run_step layers 60 layers
run_step train 45 train train-run
run_step bf16 45 bf16
run_step fp16 45 fp16
printf 'total    %ss of %ss; %s\n' "$((SECONDS - started))" "$budget" "$([ $status -eq 0 ] && echo 'every step passed' || echo 'a step FAILED')" | tee -a "$summary"

# The remote GPU runner returns only a few files of $OUT (8, of 16 MiB at most): everything the run
# wrote goes into one archive (files over 4 MiB, such as checkpoints, stay out), and $OUT keeps
# summary.txt, the archive, and the two logs read first (checks, test). GPU_CHECK_KEEP_ALL=1 keeps
# every file as it was written.
if [ "${GPU_CHECK_KEEP_ALL:-0}" != 1 ]; then
  archive=gpu-check-logs.tar.gz
  if (cd "$out" && find . -type f ! -name summary.txt ! -name "$archive" -size -4M -print0 |
      tar --null -czf "$archive.part" -T - && mv "$archive.part" "$archive"); then
    find "$out" -mindepth 1 -maxdepth 1 ! -name summary.txt ! -name "$archive" ! -name checks.log ! -name test.log \
      -exec rm -rf {} +
    echo "logs: $out/$archive (every log, the benchmark JSON, the training runs' small files)" | tee -a "$summary"
  else
    echo "logs: packing $out into one archive failed; the files stay as written" | tee -a "$summary"
  fi
fi
exit $status
