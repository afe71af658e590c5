// Softmax, mean softmax cross-entropy and top-k accuracy: one block per row of logits. Per-row
// results go to a scratch vector that a single block then sums in a fixed order, so the scalar
// outputs are deterministic (no atomics).
#include <cmath>

#include "kernels/kernels.hpp"
#include "kernels/label_check.hpp"
#include "kernels/launch.cuh"

namespace alexnet::cuda::kernels {

namespace {

// Subtracting the row maximum keeps exp() finite for huge logits.
__device__ inline void rowMaxAndSum(int classes, const float* row, float& rowMax, float& sum) {
  __shared__ float shared[kThreads / 32];
  float m = -INFINITY;
  for (int j = threadIdx.x; j < classes; j += blockDim.x) m = fmaxf(m, row[j]);
  rowMax = blockReduce(m, MaxOp(), shared);
  float s = 0.0f;
  for (int j = threadIdx.x; j < classes; j += blockDim.x) s += expf(row[j] - rowMax);
  sum = blockReduce(s, SumOp(), shared);
}

__global__ void softmaxCrossEntropyKernel(int n, int classes, const float* logits,
                                          const int32_t* labels, float* rowLoss,
                                          float* dlogits, LabelCheck labelCheck) {
  const size_t r = blockIdx.x;
  const float* row = logits + r * classes;
  const int label = labels[r];
  if (!labelInRange(label, classes)) {
    // Reported at the backend's next synchronize(); the row reads nothing outside and is NaN.
    // (The same for every thread of the block, so none is left waiting in a reduction.)
    if (threadIdx.x == 0) {
      recordBadLabel(labelCheck, static_cast<int>(r), label, classes);
      rowLoss[r] = __int_as_float(0x7fc00000);
    }
    if (dlogits != nullptr)
      for (int j = threadIdx.x; j < classes; j += blockDim.x)
        dlogits[r * classes + j] = __int_as_float(0x7fc00000);
    return;
  }
  float rowMax, sum;
  rowMaxAndSum(classes, row, rowMax, sum);
  // -log softmax[label] = log(sum exp(l - max)) - (l[label] - max)
  if (threadIdx.x == 0) rowLoss[r] = logf(sum) - (row[label] - rowMax);
  if (dlogits == nullptr) return;
  float* d = dlogits + r * classes;
  const float rows = static_cast<float>(n);
  for (int j = threadIdx.x; j < classes; j += blockDim.x) {
    const float p = expf(row[j] - rowMax) / sum;
    d[j] = (p - (j == label ? 1.0f : 0.0f)) / rows;
  }
}

__global__ void softmaxKernel(int classes, const float* logits, float* probs) {
  const size_t r = blockIdx.x;
  const float* row = logits + r * classes;
  float rowMax, sum;
  rowMaxAndSum(classes, row, rowMax, sum);
  for (int j = threadIdx.x; j < classes; j += blockDim.x)
    probs[r * classes + j] = expf(row[j] - rowMax) / sum;
}

// A row counts as correct when its label's logit is not NaN and fewer than k other logits are
// >= it or NaN (the contract's rule: ties and NaN count against the label).
__global__ void topkRowKernel(int classes, int k, const float* logits, const int32_t* labels,
                              float* rowHit) {
  __shared__ int shared[kThreads / 32];
  const size_t r = blockIdx.x;
  const float* row = logits + r * classes;
  const int label = labels[r];
  const float target = row[label];
  int above = 0;
  for (int j = threadIdx.x; j < classes; j += blockDim.x) {
    const float v = row[j];
    above += (j != label && !(v < target)) ? 1 : 0;  // >= target, or NaN
  }
  above = blockReduce(above, SumOp(), shared);
  if (threadIdx.x == 0) rowHit[r] = (!isnan(target) && above < k) ? 1.0f : 0.0f;
}

// out[0] = scale * sum(values), accumulated in double in a fixed order.
__global__ void sumToScalarKernel(int count, const float* values, double scale, float* out) {
  __shared__ double shared[kThreads / 32];
  double sum = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) sum += values[i];
  sum = blockReduce(sum, SumOp(), shared);
  if (threadIdx.x == 0) out[0] = static_cast<float>(sum * scale);
}

}  // namespace

void softmaxCrossEntropy(int n, int classes, const float* logits, const int32_t* labels,
                         float* loss, float* dlogits, float* rowScratch, LabelCheck labelCheck,
                         cudaStream_t stream) {
  if (n <= 0 || classes <= 0) return;
  softmaxCrossEntropyKernel<<<n, kThreads, 0, stream>>>(n, classes, logits, labels, rowScratch,
                                                        dlogits, labelCheck);
  checkLaunch("softmaxCrossEntropyKernel");
  sumToScalarKernel<<<1, kThreads, 0, stream>>>(n, rowScratch, 1.0 / n, loss);
  checkLaunch("sumToScalarKernel");
}

void softmax(int n, int classes, const float* logits, float* probs, cudaStream_t stream) {
  if (n <= 0 || classes <= 0) return;
  softmaxKernel<<<n, kThreads, 0, stream>>>(classes, logits, probs);
  checkLaunch("softmaxKernel");
}

void topkCorrect(int n, int classes, int k, const float* logits, const int32_t* labels,
                 float* correct, float* rowScratch, cudaStream_t stream) {
  if (n <= 0 || classes <= 0) return;
  topkRowKernel<<<n, kThreads, 0, stream>>>(classes, k, logits, labels, rowScratch);
  checkLaunch("topkRowKernel");
  sumToScalarKernel<<<1, kThreads, 0, stream>>>(n, rowScratch, 1.0, correct);
  checkLaunch("sumToScalarKernel");
}

}  // namespace alexnet::cuda::kernels
