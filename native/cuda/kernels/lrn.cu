// Cross-channel LRN kernels: for float32 where cuDNN's LRN rejects the parameters (window wider
// than 16 channels, k < 1e-5, beta < 0.01); for bfloat16 and float16 always (float32 arithmetic on exactly
// widened values, one rounding of each output, the contract's rule for bfloat16). The per-element
// math is in lrn_element.hpp.
//
// Where CUDA's grid limits allow, the kernels run on a plane grid (launch.cuh): a thread finds its
// channel with one 32-bit remainder instead of 64-bit divisions. The backward then runs in two passes over float32
// scratch: each element's s and dy * y / s once, then each gradient from its own s and the terms
// of its window. Element by element, each gradient recomputes s for every channel of its window
// (25 loads at size 5) and divides by each; the same bits either way (lrn_element.hpp).
#include <cstdint>

#include "kernels/kernels.hpp"
#include "kernels/launch.cuh"
#include "kernels/lrn_element.hpp"

namespace alexnet::cuda::kernels {

namespace {

template <class T>
__global__ void lrnForwardKernel(size_t count, LrnShape s, const T* x, T* y) {
  for (size_t i = globalIndex(); i < count; i += globalStride())
    y[i] = storeElement<T>(lrnForwardElement(s, i, x));
}

template <class T>
__global__ void lrnBackwardKernel(size_t count, LrnShape s, const T* dy, const T* x, const T* y,
                                  T* dx) {
  for (size_t i = globalIndex(); i < count; i += globalStride())
    dx[i] = storeElement<T>(lrnBackwardElement(s, i, dy, x, y));
}

// This thread's element in the plane grid: its channel c, its pixel's channel 0 at base, and its
// flat index i; false past the plane's last pixel.
__device__ inline bool planeElement(const LrnShape& s, int& c, size_t& base, size_t& i) {
  const size_t pixel = planePixel();
  if (pixel >= s.plane) return false;
  const unsigned plane = blockIdx.x;  // image * channels + c
  c = static_cast<int>(plane % static_cast<unsigned>(s.channels));
  base = static_cast<size_t>(plane - static_cast<unsigned>(c)) * s.plane + pixel;
  i = static_cast<size_t>(plane) * s.plane + pixel;
  return true;
}

template <class T>
__global__ void lrnForwardPlaneKernel(LrnShape s, const T* x, T* y) {
  int c;
  size_t base, i;
  if (planeElement(s, c, base, i)) y[i] = storeElement<T>(lrnForwardAt(s, c, base, i, x));
}

template <class T>
__global__ void lrnBackwardTermKernel(LrnShape s, const T* dy, const T* x, const T* y, float* scale,
                                      float* term) {
  int c;
  size_t base, i;
  if (planeElement(s, c, base, i)) lrnBackwardTerm(s, c, base, i, dy, x, y, scale, term);
}

template <class T>
__global__ void lrnBackwardGatherKernel(LrnShape s, const T* dy, const T* x, const float* scale,
                                        const float* term, T* dx) {
  int c;
  size_t base, i;
  if (planeElement(s, c, base, i)) dx[i] = storeElement<T>(lrnBackwardFromTerms(s, c, base, i, dy, x, scale, term));
}

size_t elements(const LrnGeometry& g) { return static_cast<size_t>(g.n) * g.c * g.h * g.w; }

bool lrnPlaneGrid(const LrnGeometry& g, dim3& grid) {
  return planeGrid(static_cast<unsigned long long>(g.n) * g.c, static_cast<unsigned long long>(g.h) * g.w, grid);
}

template <class T>
void launchLrnForward(const LrnGeometry& g, const T* x, T* y, cudaStream_t stream) {
  const size_t count = elements(g);
  if (count == 0) return;
  dim3 grid;
  if (lrnPlaneGrid(g, grid)) {
    lrnForwardPlaneKernel<<<grid, kThreads, 0, stream>>>(lrnShapeOf(g), x, y);
    checkLaunch("lrnForwardPlaneKernel");
    return;
  }
  lrnForwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, lrnShapeOf(g), x, y);
  checkLaunch("lrnForwardKernel");
}

template <class T>
void launchLrnBackward(const LrnGeometry& g, const T* dy, const T* x, const T* y, T* dx, void* scratch,
                       cudaStream_t stream) {
  const size_t count = elements(g);
  if (count == 0) return;
  dim3 grid;
  if (scratch != nullptr && lrnPlaneGrid(g, grid)) {
    float* scale = static_cast<float*>(scratch);
    float* term = scale + count;
    lrnBackwardTermKernel<<<grid, kThreads, 0, stream>>>(lrnShapeOf(g), dy, x, y, scale, term);
    checkLaunch("lrnBackwardTermKernel");
    lrnBackwardGatherKernel<<<grid, kThreads, 0, stream>>>(lrnShapeOf(g), dy, x, scale, term, dx);
    checkLaunch("lrnBackwardGatherKernel");
    return;
  }
  lrnBackwardKernel<<<gridFor(count), kThreads, 0, stream>>>(count, lrnShapeOf(g), dy, x, y, dx);
  checkLaunch("lrnBackwardKernel");
}

}  // namespace

size_t lrnBackwardScratchBytes(const LrnGeometry& g) {
  dim3 grid;
  return lrnPlaneGrid(g, grid) ? 2 * elements(g) * sizeof(float) : 0;
}

void lrnForward(const LrnGeometry& g, const float* x, float* y, cudaStream_t stream) {
  launchLrnForward(g, x, y, stream);
}
void lrnBackward(const LrnGeometry& g, const float* dy, const float* x, const float* y, float* dx,
                 void* scratch, cudaStream_t stream) {
  launchLrnBackward(g, dy, x, y, dx, scratch, stream);
}
void lrnForward(const LrnGeometry& g, const BFloat16* x, BFloat16* y, cudaStream_t stream) {
  launchLrnForward(g, x, y, stream);
}
void lrnBackward(const LrnGeometry& g, const BFloat16* dy, const BFloat16* x, const BFloat16* y,
                 BFloat16* dx, void* scratch, cudaStream_t stream) {
  launchLrnBackward(g, dy, x, y, dx, scratch, stream);
}
void lrnForward(const LrnGeometry& g, const Float16* x, Float16* y, cudaStream_t stream) {
  launchLrnForward(g, x, y, stream);
}
void lrnBackward(const LrnGeometry& g, const Float16* dy, const Float16* x, const Float16* y,
                 Float16* dx, void* scratch, cudaStream_t stream) {
  launchLrnBackward(g, dy, x, y, dx, scratch, stream);
}

}  // namespace alexnet::cuda::kernels
