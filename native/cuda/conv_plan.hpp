// Descriptors and ranked algorithms of one convolution geometry, cached by the backend.
#pragma once

#include <cstddef>
#include <vector>

#include "handles.hpp"

namespace alexnet::cuda {

struct AlgoCandidate {
  int algo = 0;  // the cudnnConvolution*Algo_t of its direction
  // The ranking's figure until the first run, then at least cuDNN's minimum for the algorithm under
  // mathType (conv.cpp: the search may report it under another math type than the one it runs with).
  size_t workspaceBytes = 0;
  cudnnMathType_t mathType = CUDNN_FMA_MATH;
  bool workspaceSized = false;  // (last: the ranking fills the fields above in order)
};

// One direction's algorithms, best first; the first that runs is used (algo_fallback.hpp).
struct AlgoChoice {
  bool chosen = false;
  std::vector<AlgoCandidate> candidates;
  int logged = -1;  // the algorithm last reported under ALEXNET_CUDNN_LOG (conv.cpp), or -1
  double searchMs = 0;  // how long choosing took (heuristics and the timed search), for the log
  int timed = 0;        // how many algorithms the search timed
};

struct ConvPlanData {
  TensorDesc x, y, bias;
  FilterDesc w;
  ConvDesc conv;
  AlgoChoice forward, backwardData, backwardFilter;
};

}  // namespace alexnet::cuda
