// Label range checks for kernels that take labels as they are (top-k): bad rows are recorded
// (label_check.hpp) and replaced by class 0, so nothing reads outside a row of logits.
#include "kernels/kernels.hpp"
#include "kernels/label_check.hpp"
#include "kernels/launch.cuh"

namespace alexnet::cuda::kernels {

namespace {

__global__ void checkLabelsKernel(int n, int classes, const int32_t* labels, int32_t* safeLabels,
                                  LabelCheck labelCheck) {
  for (size_t r = globalIndex(); r < static_cast<size_t>(n); r += globalStride()) {
    const int32_t label = labels[r];
    const bool ok = labelInRange(label, classes);
    if (!ok) recordBadLabel(labelCheck, static_cast<int>(r), label, classes);
    safeLabels[r] = ok ? label : 0;
  }
}

}  // namespace

void checkLabels(int n, int classes, const int32_t* labels, int32_t* safeLabels,
                 LabelCheck labelCheck, cudaStream_t stream) {
  if (n <= 0) return;
  checkLabelsKernel<<<gridFor(static_cast<size_t>(n)), kThreads, 0, stream>>>(
      n, classes, labels, safeLabels, labelCheck);
  checkLaunch("checkLabelsKernel");
}

}  // namespace alexnet::cuda::kernels
