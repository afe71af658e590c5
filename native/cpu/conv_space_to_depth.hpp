// Space to depth for strided convolutions on few input channels (conv_space_to_depth.cpp says
// why and how). Weights and activations in bfloat16, NCHW / OIHW as the op contract lays them out.
#pragma once

#include "alexnet/backend.hpp"
#include "alexnet/bfloat16.hpp"

namespace alexnet {
namespace cpu {

// Whether `g` runs packed: one group, equal strides s >= 2, c s^2 = 16, kernel wider than s.
bool spaceToDepthFits(const ConvGeometry& g);
// The stride-1 convolution it becomes: c s^2 channels, kernel ceil(k / s), no padding, the same
// output size.
ConvGeometry spaceToDepthGeometry(const ConvGeometry& g);

// The packed input channels last (nChw16c, since c s^2 = 16); the rest NCHW / OIHW.
void packInput(const ConvGeometry& g, const BFloat16* x, BFloat16* packed);
void packWeights(const ConvGeometry& g, const BFloat16* w, BFloat16* packed);
void unpackWeightGrad(const ConvGeometry& g, const float* packed, float* dw);
void unpackInputGrad(const ConvGeometry& g, const BFloat16* packed, BFloat16* dx);

}  // namespace cpu
}  // namespace alexnet
