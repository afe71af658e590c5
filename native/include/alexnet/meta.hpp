// Meta functions: each op's shape and option checks and its output geometry, computed once from
// shapes alone (no tensors, no device). The core calls them before queuing any backend call
// (ops.cpp), so backends receive geometry that is known to be valid and do not check it again;
// the addon exports them (conv2dShape, maxPool2dShape, ...) so that TypeScript asks the core for
// output shapes instead of restating the rules. Failures throw INVALID_ARGUMENT naming the
// parameter (x, w, groups, padding, kernel, ...).
#pragma once

#include "alexnet/backend.hpp"
#include "alexnet/ops.hpp"
#include "alexnet/tensor.hpp"

namespace alexnet::meta {

// x [N, C, H, W], w [O, C / groups, KH, KW]: output floor((H + 2p - k) / s) + 1 per direction.
ConvGeometry conv2d(const Shape& x, const Shape& w, const ops::Conv2dOptions& options);
// x [N, C, H, W]; the output has x's shape.
LrnGeometry localResponseNorm(const Shape& x, const ops::LrnOptions& options);
// x [N, C, H, W], no padding: output floor((H - k) / s) + 1 per direction.
PoolGeometry maxPool2d(const Shape& x, const ops::PoolOptions& options);
// A fully connected layer's sizes: n rows of `in` features to `out`.
struct LinearGeometry {
  int n, in, out;
};
// x [N, in] (or [N, ...], flattened; in at most kMaxDimension), w [out, in]: output [N, out].
LinearGeometry linear(const Shape& x, const Shape& w);
inline Shape outputShape(const LinearGeometry& g) { return {g.n, g.out}; }

// The losses' sizes: n rows of `classes` logits.
struct LossGeometry {
  int n, classes;
};
// logits [N, classes] with classes >= 1; labels [N] when given (softmax has none), and then N >= 1.
LossGeometry logits(const Shape& logits, const Shape* labels = nullptr);
// As logits, and k in [1, classes].
LossGeometry topkCorrect(const Shape& logits, const Shape& labels, const ops::TopkOptions& options);

// x of any shape; the mask and output have x's shape: p in [0, 1).
void dropout(const Shape& x, const ops::DropoutOptions& options);
// velocity and grad must have param's shape (the options are the caller's to choose).
void sgdStep(const Shape& param, const Shape& velocity, const Shape& grad, const ops::SgdOptions& options);

// y += alpha x: x and y must have as many elements (their shapes may differ).
void axpy(const Shape& x, const Shape& y, const ops::ScaleOptions& options);

// Fills a tensor of shape t in place: std >= 0, and offset + the element count within the
// generator's counter range (2^53, what a JS number holds exactly).
void normal(const Shape& t, const ops::NormalOptions& options);

inline Shape outputShape(const ConvGeometry& g) { return {g.n, g.o, g.outH, g.outW}; }
inline Shape outputShape(const PoolGeometry& g) { return {g.n, g.c, g.outH, g.outW}; }

// Throws INVALID_ARGUMENT unless `shape` has `rank` dimensions ("x must have rank 4, got ...").
void requireRank(const Shape& shape, const char* name, int rank);

}  // namespace alexnet::meta
