// ReLU per element (relu.cu), over the element type (element.hpp), callable from host code so that
// it can be checked without a GPU. Neither direction does arithmetic: each passes its input's own
// bits or writes +0, so every element type gives the float32 rule's bits, the CPU backend's:
// forward x < 0 ? +0 : x (NaN and -0 pass: neither compares below 0); backward y > 0 ? dy : +0
// (the contract decides by the output y, not x).
#pragma once

#include "alexnet/random.hpp"  // ALEXNET_HOST_DEVICE
#include "kernels/element.hpp"

namespace alexnet::cuda::kernels {

template <class T>
ALEXNET_HOST_DEVICE inline T reluForwardElement(T x) {
  return loadElement(x) < 0.0f ? zeroElement<T>() : x;
}

template <class T>
ALEXNET_HOST_DEVICE inline T reluBackwardElement(T dy, T y) {
  return loadElement(y) > 0.0f ? dy : zeroElement<T>();
}

}  // namespace alexnet::cuda::kernels
