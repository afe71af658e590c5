// Descriptors and chosen algorithms of one convolution geometry, cached by the backend.
#pragma once

#include <cstddef>

#include "handles.hpp"

namespace alexnet::cuda {

struct AlgoChoice {
  bool chosen = false;
  int algo = 0;              // the cudnnConvolution*Algo_t of its direction
  size_t workspaceBytes = 0;
  cudnnMathType_t mathType = CUDNN_FMA_MATH;
};

struct ConvPlanData {
  TensorDesc x, y, bias;
  FilterDesc w;
  ConvDesc conv;
  AlgoChoice forward, backwardData, backwardFilter;
};

}  // namespace alexnet::cuda
