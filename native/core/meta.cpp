// The meta functions (alexnet/meta.hpp): the one place where each op's geometry is checked and
// its output size computed.
#include "alexnet/meta.hpp"

#include <string>

#include "alexnet/error.hpp"

namespace alexnet::meta {
namespace {

void requirePositive(int v, const char* name) {
  if (v <= 0) invalidArgument(std::string(name) + " must be a positive integer, got " + std::to_string(v));
}

void requireShape(const Shape& shape, const char* name, const Shape& expected) {
  if (shape != expected)
    invalidArgument(std::string(name) + " must have shape " + shapeString(expected) + ", got " + shapeString(shape));
}

std::string pairString(int64_t a, int64_t b) { return std::to_string(a) + "x" + std::to_string(b); }

}  // namespace

void requireRank(const Shape& shape, const char* name, int rank) {
  if (int(shape.size()) != rank)
    invalidArgument(std::string(name) + " must have rank " + std::to_string(rank) + ", got shape " +
                    shapeString(shape));
}

ConvGeometry conv2d(const Shape& x, const Shape& w, const ops::Conv2dOptions& o) {
  requireRank(x, "x", 4);
  requireRank(w, "w", 4);
  requirePositive(o.strideH, "stride");
  requirePositive(o.strideW, "stride");
  requirePositive(o.groups, "groups");
  if (o.padH < 0 || o.padW < 0) invalidArgument("padding must be >= 0");
  // In 64 bits: the padded size must itself fit the geometry's int fields (backends compute it).
  const int64_t paddedH = x[2] + 2 * int64_t(o.padH), paddedW = x[3] + 2 * int64_t(o.padW);
  if (paddedH > kMaxDimension || paddedW > kMaxDimension)
    invalidArgument("padding " + (o.padH == o.padW ? std::to_string(o.padH) : pairString(o.padH, o.padW)) + " makes the padded input " +
                    pairString(paddedH, paddedW) + ", more than " + std::to_string(kMaxDimension));
  ConvGeometry g{};
  g.n = int(x[0]), g.c = int(x[1]), g.h = int(x[2]), g.w = int(x[3]);
  g.o = int(w[0]), g.kh = int(w[2]), g.kw = int(w[3]);
  g.strideH = o.strideH, g.strideW = o.strideW, g.padH = o.padH, g.padW = o.padW;
  g.groups = o.groups;
  if (g.c % g.groups || g.o % g.groups)
    invalidArgument("groups (" + std::to_string(g.groups) + ") must divide the input channels (" +
                    std::to_string(g.c) + ") and the output channels (" + std::to_string(g.o) + ")");
  if (w[1] != g.c / g.groups)
    invalidArgument("w must have shape [O, C / groups, KH, KW] = [" + std::to_string(g.o) + ", " +
                    std::to_string(g.c / g.groups) + ", KH, KW] for x " + shapeString(x) +
                    " and groups " + std::to_string(g.groups) + ", got " + shapeString(w));
  if (paddedH < g.kh || paddedW < g.kw)
    invalidArgument("kernel " + pairString(g.kh, g.kw) + " is larger than the padded input " +
                    pairString(paddedH, paddedW));
  g.outH = int((paddedH - g.kh) / g.strideH + 1);
  g.outW = int((paddedW - g.kw) / g.strideW + 1);
  return g;
}

LrnGeometry localResponseNorm(const Shape& x, const ops::LrnOptions& o) {
  requireRank(x, "x", 4);
  requirePositive(o.size, "size");
  if (o.size % 2 == 0)
    invalidArgument("size must be odd (a window centred on each channel), got " + std::to_string(o.size));
  if (!(o.alpha >= 0)) invalidArgument("alpha must be >= 0");
  if (!(o.beta > 0)) invalidArgument("beta must be > 0");
  if (!(o.k > 0)) invalidArgument("k must be > 0");
  return {int(x[0]), int(x[1]), int(x[2]), int(x[3]), o.size, o.alpha, o.beta, o.k};
}

PoolGeometry maxPool2d(const Shape& x, const ops::PoolOptions& o) {
  requireRank(x, "x", 4);
  requirePositive(o.kernelH, "kernel");
  requirePositive(o.kernelW, "kernel");
  requirePositive(o.strideH, "stride");
  requirePositive(o.strideW, "stride");
  PoolGeometry g{int(x[0]), int(x[1]), int(x[2]), int(x[3]),
                 o.kernelH, o.kernelW, o.strideH, o.strideW, 0, 0};
  if (g.kernelH > g.h || g.kernelW > g.w)
    invalidArgument("kernel " + pairString(g.kernelH, g.kernelW) + " is larger than the input " +
                    pairString(g.h, g.w) + " of x " + shapeString(x));
  g.outH = (g.h - g.kernelH) / g.strideH + 1;
  g.outW = (g.w - g.kernelW) / g.strideW + 1;
  return g;
}

LinearGeometry linear(const Shape& x, const Shape& w) {
  requireRank(w, "w", 2);
  if (x.size() < 2) invalidArgument("x must have shape [N, in], got " + shapeString(x));
  // The features per row, which the backends take as an int (checked as the product grows, so
  // that a shape query of any rank cannot overflow it).
  int64_t in = 1;
  for (size_t k = 1; k < x.size(); ++k) {
    in *= x[k];
    if (in > kMaxDimension)
      invalidArgument("x " + shapeString(x) + " has more than " + std::to_string(kMaxDimension) + " features per row");
  }
  if (w[1] != in)
    invalidArgument("w must have shape [out, " + std::to_string(in) + "] to match x " + shapeString(x) +
                    ", got " + shapeString(w));
  return {int(x[0]), int(in), int(w[0])};
}

LossGeometry logits(const Shape& logits, const Shape* labels) {
  requireRank(logits, "logits", 2);
  // A softmax needs a class; a loss or an accuracy (a mean over rows) needs a row.
  if (logits[1] < 1 || (labels && logits[0] < 1))
    invalidArgument(std::string("logits must have at least one ") + (logits[1] < 1 ? "class" : "row") +
                    ", got shape " + shapeString(logits));
  if (labels) {
    requireRank(*labels, "labels", 1);
    if ((*labels)[0] != logits[0])
      invalidArgument("labels must have shape [" + std::to_string(logits[0]) + "] to match logits " +
                      shapeString(logits) + ", got " + shapeString(*labels));
  }
  return {int(logits[0]), int(logits[1])};
}

LossGeometry topkCorrect(const Shape& logitsShape, const Shape& labels, const ops::TopkOptions& o) {
  const LossGeometry g = logits(logitsShape, &labels);
  if (o.k < 1 || o.k > g.classes)
    invalidArgument("k must be in [1, " + std::to_string(g.classes) + "], got " + std::to_string(o.k));
  return g;
}

void dropout(const Shape& x, const ops::DropoutOptions& o) {
  if (!(o.p >= 0.0f && o.p < 1.0f)) invalidArgument("p must be in [0, 1), got " + std::to_string(o.p));
  const uint64_t rowLength = x.empty() ? 1 : static_cast<uint64_t>(x.back());
  if (o.rowStride != 0 && o.rowStride < rowLength)
    invalidArgument("rowStride must be 0 or at least the last dimension (" + std::to_string(rowLength) +
                    ") so that no two elements share a draw, got " + std::to_string(o.rowStride));
}

void sgdStep(const Shape& param, const Shape& velocity, const Shape& grad, const ops::SgdOptions&) {
  requireShape(velocity, "velocity", param);
  requireShape(grad, "grad", param);
}

void axpy(const Shape& x, const Shape& y, const ops::ScaleOptions&) {
  if (shapeNumel(x) != shapeNumel(y)) invalidArgument("x " + shapeString(x) + " and y " + shapeString(y) + " differ in size");
}

void normal(const Shape& t, const ops::NormalOptions& o) {
  if (!(o.std >= 0)) invalidArgument("std must be >= 0");
  constexpr uint64_t kMaxCounter = uint64_t(1) << 53;
  const uint64_t count = uint64_t(shapeNumel(t));
  if (o.offset > kMaxCounter || count > kMaxCounter - o.offset)
    invalidArgument("offset " + std::to_string(o.offset) + " plus the " + std::to_string(count) +
                    " elements of the tensor exceeds 2^53");
}

}  // namespace alexnet::meta
