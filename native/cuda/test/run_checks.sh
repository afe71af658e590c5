#!/usr/bin/env bash
# Checks of the CUDA backend without Node: the per-element kernel math against the oracle and the
# CPU backend's rules on the host, the backend's bookkeeping on the host (host_logic_check.cpp), the
# kernels' PTX for fused multiply-adds where nvcc is found, loading the built module with dlopen,
# and, where a GPU exists, every op on the GPU against the oracle (gpu_oracle_check.cpp) and the
# NCCL module's collectives and watchdog on one GPU (native/nccl/test/nccl_check.cpp);
# ALEXNET_REQUIRE_GPU=1 makes a missing GPU a failure.
# Usage, from the project root:
#   bash native/cuda/test/run_checks.sh [path/to/libalexnet_cuda.so]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
# References: the project's own (test/references), or another set in the same layout
# (ALEXNET_ORACLE: the folder holding data/manifest.json).
oracle=${ALEXNET_ORACLE:-$root/test/references}/data
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cxx="${CXX:-c++} -std=c++17 -O1 -Wall -I$root/native/include -I$root/native/cuda"

# numpy comes with Debian's python3-numpy (/usr/bin/python3) or any Python that has it.
python=python3
"$python" -c 'import numpy' 2>/dev/null || python=/usr/bin/python3
"$python" "$here/oracle_to_f32.py" "$oracle" "$work/data"
# -ffp-contract=off: the host must round like the device kernels (no fused multiply-add).
$cxx -ffp-contract=off "$here/element_math_check.cpp" -o "$work/element_math_check"
"$work/element_math_check" "$work/data"
$cxx "$here/host_logic_check.cpp" -pthread -o "$work/host_logic_check"
"$work/host_logic_check"
# The device code itself, compiled to PTX: the kernels that must give the CPU's bits never fuse.
bash "$here/fp_contract_check.sh"

module=${1:-$(find "$root/build" -name libalexnet_cuda.so 2>/dev/null | head -1)}
if [ -n "$module" ]; then
  $cxx "$here/load_check.cpp" -ldl -o "$work/load_check"
  "$work/load_check" "$module"
  $cxx -ffp-contract=off "$here/gpu_oracle_check.cpp" -ldl -o "$work/gpu_oracle_check"
  "$work/gpu_oracle_check" "$module" "$work/data"
  # The NCCL module beside it, on one GPU (native/nccl/test/nccl_check.cpp).
  nccl=$(dirname "$module")/libalexnet_nccl.so
  if [ -f "$nccl" ]; then
    $cxx "$root/native/nccl/test/nccl_check.cpp" -ldl -o "$work/nccl_check"
    # Bounded: its watchdog case ends in ncclCommAbort of a communicator still forming, which must
    # return within seconds; were it to hang, this says so instead of using up the caller's time.
    limit=${NCCL_CHECK_TIMEOUT:-60}
    if command -v timeout >/dev/null; then
      rc=0
      timeout --kill-after=5 "$limit" "$work/nccl_check" "$nccl" "$module" || rc=$?
      if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "nccl_check did not finish within ${limit}s (NCCL_CHECK_TIMEOUT): FAILED"
      fi
      [ "$rc" -eq 0 ] || exit "$rc"
    else
      "$work/nccl_check" "$nccl" "$module"
    fi
  else
    echo "libalexnet_nccl.so not built beside it: NCCL checks skipped"
  fi
else
  echo "libalexnet_cuda.so not built: load check skipped"
fi
