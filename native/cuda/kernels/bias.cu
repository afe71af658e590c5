// Bias of the fully connected layers: broadcast add over rows and its gradient (a column sum).
#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"

namespace alexnet::cuda::kernels {

namespace {

__global__ void biasAddRowsKernel(size_t count, int out, const float* bias, float* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) y[i] += bias[i % out];
}

// One thread per column: neighbouring threads read neighbouring addresses, and each sum runs over
// the rows in order, so db is deterministic.
__global__ void biasGradRowsKernel(int n, int out, const float* dy, float* db) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= out) return;
  float sum = 0.0f;
  for (int r = 0; r < n; ++r) sum += dy[static_cast<size_t>(r) * out + j];
  db[j] = sum;
}

}  // namespace

void biasAddRows(int n, int out, const float* bias, float* y, cudaStream_t stream) {
  const size_t count = static_cast<size_t>(n) * out;
  if (count == 0) return;
  biasAddRowsKernel<<<gridFor(count), kThreads, 0, stream>>>(count, out, bias, y);
  checkLaunch("biasAddRowsKernel");
}

void biasGradRows(int n, int out, const float* dy, float* db, cudaStream_t stream) {
  if (out <= 0) return;
  biasGradRowsKernel<<<(out + kThreads - 1) / kThreads, kThreads, 0, stream>>>(n, out, dy, db);
  checkLaunch("biasGradRowsKernel");
}

}  // namespace alexnet::cuda::kernels
