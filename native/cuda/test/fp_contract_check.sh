#!/usr/bin/env bash
# The kernels that must give the CPU backend's bits (SGD, axpy, scale, the device crop, normal
# init) contain no fused multiply-add: compiles their sources to PTX with the nvcc the build uses
# and looks inside each kernel for fma/mad on f32, or a multiply without .rn, which ptxas may
# still fuse with an add. Needs nvcc, not a GPU.
# Usage: bash native/cuda/test/fp_contract_check.sh [nvcc]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
nvcc=${1:-${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}}
if [ ! -x "$nvcc" ]; then
  echo "nvcc not found: contraction check skipped"
  exit 0
fi
# cudnn.h and cublas_v2.h (check.hpp includes them): CUDNN_ROOT / CUBLAS_ROOT, else NVIDIA's Python
# wheels, as the build finds them (cmake/cuda_backend.cmake).
includes=""
for dir in "${CUDNN_ROOT:-}" "${CUBLAS_ROOT:-}" $(python3 -c 'import nvidia; print(" ".join(nvidia.__path__))' 2>/dev/null); do
  for sub in include cudnn/include cu13/include cu12/include cublas/include; do
    [ -d "$dir/$sub" ] && includes="$includes -I$dir/$sub"
  done
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
# file: kernels in it that must round every operation on its own
for spec in "sgd.cu:sgdStepKernel" "blas1.cu:axpyKernel scaleKernel" "augment.cu:cropImagesKernel" \
            "init.cu:normalInitKernel"; do
  file=${spec%%:*}
  "$nvcc" -std=c++17 -arch=sm_90 -ptx -I"$root/native/include" -I"$root/native/cuda" $includes \
    "$root/native/cuda/kernels/$file" -o "$work/$file.ptx"
  for kernel in ${spec#*:}; do
    # The kernel's body: from its .entry line to the closing brace at the start of a line.
    body=$(awk -v k="$kernel" '/^(\.visible )?\.entry / { inside = index($0, k) > 0 } inside { print } inside && /^}/ { inside = 0 }' "$work/$file.ptx")
    if [ -z "$body" ]; then
      echo "$kernel: not found in the PTX of $file"
      status=1
      continue
    fi
    bad=$(printf '%s\n' "$body" | grep -E '^\s*(fma|mad)(\.[a-z]+)*\.f32|^\s*mul\.f32' || true)
    if [ -n "$bad" ]; then
      echo "$kernel ($file): contracted or contractible float arithmetic: FAIL"
      printf '%s\n' "$bad" | head -5
      status=1
    else
      echo "$kernel ($file): every multiply and add rounds on its own: ok"
    fi
  done
done
exit $status
