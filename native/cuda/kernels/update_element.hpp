// The SGD update and the level-1 ops per element (sgd.cu, blas1.cu), callable from host code.
// Each multiply and add rounds on its own, as the CPU backend computes them (built with
// -ffp-contract=off): nvcc would otherwise contract a * b + c into one fused multiply-add, which
// rounds once, so that the backends' weights drift apart bit by bit over a training run. On the
// device the _rn intrinsics are never contracted, whatever --fmad says; the host keeps the plain
// operators and must be compiled with -ffp-contract=off (the checks are).
#pragma once

#include "alexnet/random.hpp"  // ALEXNET_HOST_DEVICE

namespace alexnet::cuda::kernels {

ALEXNET_HOST_DEVICE inline float mulRounded(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

ALEXNET_HOST_DEVICE inline float addRounded(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

ALEXNET_HOST_DEVICE inline float subRounded(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}

// The paper's rule: v <- momentum * v - decayLr * w - lr * g; w <- w + v (decayLr = weightDecay *
// lr, rounded once on the host as the CPU rounds it), left to right as the contract writes it.
ALEXNET_HOST_DEVICE inline void sgdElement(float lr, float momentum, float decayLr, float& w,
                                           float& v, float g) {
  const float vi = subRounded(subRounded(mulRounded(momentum, v), mulRounded(decayLr, w)),
                              mulRounded(lr, g));
  v = vi;
  w = addRounded(w, vi);
}

// y + alpha * x
ALEXNET_HOST_DEVICE inline float axpyElement(float alpha, float x, float y) {
  return addRounded(y, mulRounded(alpha, x));
}

// alpha * x
ALEXNET_HOST_DEVICE inline float scaleElement(float alpha, float x) { return mulRounded(alpha, x); }

}  // namespace alexnet::cuda::kernels
