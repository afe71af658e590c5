// Labels outside [0, classes) found on the device. The kernels that index a row by its label
// (softmax cross-entropy, top-k) cannot throw, and checking labels on the host first would wait for
// the GPU, so each bad row is noted in a small record in device memory and the backend turns it
// into an INVALID_ARGUMENT at its next synchronize() or download (label_errors.cpp), worded as the
// CPU backend words it. The record keeps the first launch that found a bad label (launches on one
// stream run in order) and, within it, the lowest row: the error the CPU, which checks rows in
// order before computing, would have thrown. Callable from host code, for the host checks.
#pragma once

#include <cstdint>
#include <string>

#include "alexnet/random.hpp"  // ALEXNET_HOST_DEVICE

namespace alexnet::cuda::kernels {

// All bytes 0xFF: nothing recorded (the backend clears it with a memset).
constexpr unsigned int kNoLaunch = 0xFFFFFFFFu;
constexpr unsigned long long kNoRowLabel = ~0ull;

enum LabelOp : int { kLabelOpSoftmaxCrossEntropy = 0, kLabelOpTopkCorrect = 1 };

struct LabelErrorRecord {
  unsigned long long rowLabel;  // (row << 32) | (uint32) label: the lowest row wins atomicMin
  unsigned int launch;          // the launch that recorded it, or kNoLaunch
  int classes;
  int op;                       // LabelOp
  int unused;
};

// What a kernel needs to report: where, and its launch's number (never kNoLaunch).
struct LabelCheck {
  LabelErrorRecord* record;
  unsigned int launch;
  int op;
};

ALEXNET_HOST_DEVICE inline bool labelInRange(int32_t label, int classes) {
  return label >= 0 && label < classes;
}

ALEXNET_HOST_DEVICE inline unsigned long long packRowLabel(int row, int32_t label) {
  return (static_cast<unsigned long long>(static_cast<uint32_t>(row)) << 32) |
         static_cast<uint32_t>(label);
}

// Notes that `row` of launch `check.launch` has `label`, outside [0, classes). Threads of one launch
// may call it concurrently (device atomics); the host version is the same logic, sequential.
ALEXNET_HOST_DEVICE inline void recordBadLabel(const LabelCheck& check, int row, int32_t label,
                                               int classes) {
  LabelErrorRecord* r = check.record;
  const unsigned long long packed = packRowLabel(row, label);
#if defined(__CUDA_ARCH__)
  const unsigned int owner = atomicCAS(&r->launch, kNoLaunch, check.launch);
  if (owner != kNoLaunch && owner != check.launch) return;  // an earlier launch failed first
  atomicMin(&r->rowLabel, packed);
#else
  if (r->launch != kNoLaunch && r->launch != check.launch) return;
  r->launch = check.launch;
  if (packed < r->rowLabel) r->rowLabel = packed;
#endif
  r->classes = classes;  // the same value from every thread of the launch
  r->op = check.op;
}

inline bool hasLabelError(const LabelErrorRecord& r) { return r.launch != kNoLaunch; }

// The CPU backend's words for the same error.
inline std::string labelErrorMessage(const LabelErrorRecord& r) {
  const int row = static_cast<int>(r.rowLabel >> 32);
  const int32_t label = static_cast<int32_t>(static_cast<uint32_t>(r.rowLabel & 0xFFFFFFFFull));
  return "label " + std::to_string(label) + " of row " + std::to_string(row) +
         " is outside [0, " + std::to_string(r.classes) + ")";
}

inline const char* labelOpName(int op) {
  return op == kLabelOpTopkCorrect ? "topkCorrect" : "softmaxCrossEntropy";
}

}  // namespace alexnet::cuda::kernels
