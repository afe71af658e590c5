// Validation, output allocation and submission of every op. Numerics live in the backends.
#include "alexnet/ops.hpp"

#include <cmath>
#include <cstdint>

#include "alexnet/error.hpp"
#include "alexnet/meta.hpp"

namespace alexnet::ops {
namespace {

void requireDefined(const Tensor& t, const char* name) {
  if (!t.defined()) invalidArgument(std::string(name) + " is not a tensor (undefined or disposed)");
}

void requireRank(const Tensor& t, const char* name, int rank) {
  requireDefined(t, name);
  if (t.rank() != rank)
    invalidArgument(std::string(name) + " must have rank " + std::to_string(rank) + ", got shape " +
                    shapeString(t.shape()));
}

void requireFloat(const Tensor& t, const char* name) {
  if (t.dtype() != DType::Float32)
    invalidArgument(std::string(name) + " must be float32, got " + dtypeName(t.dtype()));
}

// Activations of the mixed-precision ops: float32, bfloat16 or float16. The 16-bit types are
// checked against the device here, before anything is queued, so an unsupported machine gets
// BF16_UNSUPPORTED or FLOAT16_UNSUPPORTED at once.
void requireActivation(const Tensor& t, const char* name) {
  if (t.dtype() == DType::Float32) return;
  std::string reason;
  if (t.dtype() == DType::BFloat16) {
    if (!t.device().bf16Supported(&reason))
      throw Error("BF16_UNSUPPORTED", "bfloat16 compute is not available on " + t.device().name() + ": " + reason,
                  "", "use float32 (--precision fp32) on this device");
    return;
  }
  if (t.dtype() == DType::Float16) {
    if (!t.device().fp16Supported(&reason))
      throw Error("FLOAT16_UNSUPPORTED", "float16 compute is not available on " + t.device().name() + ": " + reason,
                  "", "use bfloat16 (--precision bf16) where supported, or float32");
    return;
  }
  invalidArgument(std::string(name) + " must be float32, bfloat16 or float16, got " + dtypeName(t.dtype()));
}

void requireSameDType(const Tensor& a, const char* aName, const Tensor& b, const char* bName) {
  if (a.dtype() != b.dtype())
    invalidArgument(std::string(bName) + " is " + dtypeName(b.dtype()) + " but " + aName + " is " +
                    dtypeName(a.dtype()) + " (cast one with toDType)");
}

void requireSameDevice(const Tensor& a, const char* aName, const Tensor& b, const char* bName) {
  if (&a.device() != &b.device())
    invalidArgument(std::string(bName) + " is on " + b.device().name() + " but " + aName + " is on " +
                    a.device().name());
}

void requireShape(const Tensor& t, const char* name, const Shape& expected) {
  if (t.shape() != expected)
    invalidArgument(std::string(name) + " must have shape " + shapeString(expected) + ", got " +
                    shapeString(t.shape()));
}

// t must exist, sit on ref's device and have ref's shape (a gradient beside its forward tensor).
void requireLike(const Tensor& t, const char* name, const Tensor& ref, const char* refName) {
  requireDefined(t, name);
  requireSameDevice(ref, refName, t, name);
  requireShape(t, name, ref.shape());
}

void requirePositive(int v, const char* name) {
  if (v <= 0) invalidArgument(std::string(name) + " must be a positive integer, got " + std::to_string(v));
}

// The typed device pointer of an activation tensor, A being float, BFloat16 or Float16.
template <class A>
A* ptr(const Tensor& t) {
  return t.defined() ? static_cast<A*>(t.storage()->data()) : nullptr;
}

// Calls fn(A{}) with A the C++ type of the activation dtype (float, BFloat16 or Float16): the
// backend's overload of that type is then chosen by the pointers' types.
template <class F>
void withActivation(DType dtype, F&& fn) {
  if (dtype == DType::BFloat16) fn(BFloat16{});
  else if (dtype == DType::Float16) fn(Float16{});
  else fn(float{});
}

std::vector<StorageRef> storages(std::initializer_list<Tensor> tensors) {
  std::vector<StorageRef> result;
  for (const Tensor& t : tensors)
    if (t.defined()) result.push_back(t.storage());
  return result;
}

// Queues `fn` on the stream of `on`'s device. `reads` and `writes` (undefined tensors are skipped)
// are the tensors it reads and writes, a tensor updated in place being in both: a failure poisons
// what it writes, and it does not run on poisoned input (Stream::submit).
template <typename F>
void submit(const Tensor& on, std::initializer_list<Tensor> reads, std::initializer_list<Tensor> writes, F&& fn) {
  on.device().stream().submit(std::forward<F>(fn), storages(reads), storages(writes));
}

// The input gradient of an op that keeps its output (LRN, max pooling): dy and y of shape yShape,
// x, dy and y on one device in one dtype; launch(backend, dy, x, y, dx) with pointers of that dtype.
template <typename Launch>
Tensor gradientFromOutput(const Tensor& dy, const Tensor& x, const Tensor& y, const Shape& yShape, Launch launch) {
  requireDefined(dy, "dy");
  requireDefined(y, "y");
  requireSameDevice(x, "x", dy, "dy");
  requireSameDevice(x, "x", y, "y");
  requireShape(dy, "dy", yShape);
  requireShape(y, "y", yShape);
  requireSameDType(x, "x", dy, "dy");
  requireSameDType(x, "x", y, "y");
  Tensor dx = Tensor::empty(x.device(), x.shape(), x.dtype());
  submit(x, {dy, x, y}, {dx}, [dy, x, y, dx, launch](Backend& b) {
    withActivation(x.dtype(), [&](auto a) {
      using A = decltype(a);
      launch(b, ptr<A>(dy), ptr<A>(x), ptr<A>(y), ptr<A>(dx));
    });
  });
  return dx;
}

// An output tensor of an op, its shape checked against the size limits first with a message that
// names the op (the shape comes from the inputs and options, so it can exceed the limits).
Tensor output(const Tensor& like, const char* what, const Shape& shape, DType dtype = DType::Float32) {
  checkShape(shape, what);
  return Tensor::empty(like.device(), shape, dtype);
}

// The geometry of an op from its meta function, after the checks that need tensors (dtype,
// device), which the meta functions, working on shapes alone, cannot make.
ConvGeometry convGeometry(const Tensor& x, const Tensor& w, const Conv2dOptions& o) {
  requireDefined(x, "x");
  requireDefined(w, "w");
  ConvGeometry g = meta::conv2d(x.shape(), w.shape(), o);
  requireActivation(x, "x");
  requireSameDType(x, "x", w, "w");
  requireSameDevice(x, "x", w, "w");
  return g;
}

LrnGeometry lrnGeometry(const Tensor& x, const LrnOptions& o) {
  requireDefined(x, "x");
  LrnGeometry g = meta::localResponseNorm(x.shape(), o);
  requireActivation(x, "x");
  return g;
}

PoolGeometry poolGeometry(const Tensor& x, const PoolOptions& o) {
  requireDefined(x, "x");
  PoolGeometry g = meta::maxPool2d(x.shape(), o);
  requireActivation(x, "x");
  return g;
}

meta::LinearGeometry linearGeometry(const Tensor& x, const Tensor& w) {
  requireDefined(x, "x");
  requireDefined(w, "w");
  meta::LinearGeometry g = meta::linear(x.shape(), w.shape());
  requireSameDevice(x, "x", w, "w");
  return g;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dOptions& options) {
  ConvGeometry g = convGeometry(x, w, options);
  if (bias.defined()) {
    requireFloat(bias, "b");
    requireSameDevice(x, "x", bias, "b");
    requireShape(bias, "b", {g.o});
  }
  Tensor y = output(x, "conv2d output", meta::outputShape(g), x.dtype());
  submit(x, {x, w, bias}, {y}, [g, x, w, bias, y](Backend& b) {
    withActivation(x.dtype(), [&](auto a) {
      using A = decltype(a);
      b.conv2dForward(g, ptr<A>(x), ptr<A>(w), ptr<float>(bias), ptr<A>(y));
    });
  });
  return y;
}

Conv2dGrads conv2dBackward(const Tensor& dy, const Tensor& x, const Tensor& w,
                           const Conv2dOptions& options, const GradOptions& want) {
  ConvGeometry g = convGeometry(x, w, options);
  requireDefined(dy, "dy");
  requireSameDType(x, "x", dy, "dy");
  requireSameDevice(x, "x", dy, "dy");
  requireShape(dy, "dy", meta::outputShape(g));
  Conv2dGrads grads;
  Device& dev = x.device();
  // Weight and bias gradients are float32 in both precisions (what the master update reads).
  grads.dw = Tensor::empty(dev, w.shape());
  if (want.wantDb) grads.db = Tensor::empty(dev, {g.o});
  if (want.wantDx) grads.dx = Tensor::empty(dev, x.shape(), x.dtype());
  submit(x, {dy, x, w}, {grads.dw, grads.db, grads.dx}, [g, dy, x, w, grads](Backend& b) {
    withActivation(x.dtype(), [&](auto a) {
      using A = decltype(a);
      b.conv2dBackwardFilter(g, ptr<A>(x), ptr<A>(dy), ptr<float>(grads.dw), ptr<float>(grads.db));
      if (grads.dx.defined()) b.conv2dBackwardData(g, ptr<A>(dy), ptr<A>(w), ptr<A>(grads.dx));
    });
  });
  return grads;
}

Tensor localResponseNorm(const Tensor& x, const LrnOptions& options) {
  LrnGeometry g = lrnGeometry(x, options);
  Tensor y = Tensor::empty(x.device(), x.shape(), x.dtype());
  submit(x, {x}, {y}, [g, x, y](Backend& b) {
    withActivation(x.dtype(), [&](auto a) {
      using A = decltype(a);
      b.lrnForward(g, ptr<A>(x), ptr<A>(y));
    });
  });
  return y;
}

Tensor localResponseNormBackward(const Tensor& dy, const Tensor& x, const Tensor& y,
                                 const LrnOptions& options) {
  LrnGeometry g = lrnGeometry(x, options);
  return gradientFromOutput(dy, x, y, x.shape(), [g](Backend& b, auto* dyp, auto* xp, auto* yp, auto* dxp) {
    b.lrnBackward(g, dyp, xp, yp, dxp);
  });
}

Tensor maxPool2d(const Tensor& x, const PoolOptions& options) {
  PoolGeometry g = poolGeometry(x, options);
  Tensor y = Tensor::empty(x.device(), meta::outputShape(g), x.dtype());
  submit(x, {x}, {y}, [g, x, y](Backend& b) {
    withActivation(x.dtype(), [&](auto a) {
      using A = decltype(a);
      b.maxPoolForward(g, ptr<A>(x), ptr<A>(y));
    });
  });
  return y;
}

Tensor maxPool2dBackward(const Tensor& dy, const Tensor& x, const Tensor& y, const PoolOptions& options) {
  PoolGeometry g = poolGeometry(x, options);
  return gradientFromOutput(dy, x, y, meta::outputShape(g), [g](Backend& b, auto* dyp, auto* xp, auto* yp, auto* dxp) {
    b.maxPoolBackward(g, dyp, xp, yp, dxp);
  });
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias) {
  const meta::LinearGeometry g = linearGeometry(x, w);
  requireActivation(x, "x");
  requireSameDType(x, "x", w, "w");
  const int n = g.n, in = g.in, out = g.out;
  if (bias.defined()) {
    requireFloat(bias, "b");
    requireSameDevice(x, "x", bias, "b");
    requireShape(bias, "b", {out});
  }
  Tensor y = output(x, "linear output", meta::outputShape(g), x.dtype());
  submit(x, {x, w, bias}, {y}, [n, in, out, x, w, bias, y](Backend& b) {
    withActivation(x.dtype(), [&](auto a) {
      using A = decltype(a);
      b.linearForward(n, in, out, ptr<A>(x), ptr<A>(w), ptr<float>(bias), ptr<A>(y));
    });
  });
  return y;
}

LinearGrads linearBackward(const Tensor& dy, const Tensor& x, const Tensor& w, const GradOptions& want) {
  const meta::LinearGeometry g = linearGeometry(x, w);
  requireDefined(dy, "dy");
  requireSameDevice(x, "x", dy, "dy");
  requireActivation(x, "x");
  requireSameDType(x, "x", w, "w");
  requireSameDType(x, "x", dy, "dy");
  const int n = g.n, in = g.in, out = g.out;
  requireShape(dy, "dy", meta::outputShape(g));
  LinearGrads grads;
  Device& dev = x.device();
  grads.dw = Tensor::empty(dev, w.shape());
  if (want.wantDb) grads.db = Tensor::empty(dev, {out});
  if (want.wantDx) grads.dx = Tensor::empty(dev, x.shape(), x.dtype());
  submit(x, {dy, x, w}, {grads.dx, grads.dw, grads.db}, [n, in, out, dy, x, w, grads](Backend& b) {
    withActivation(x.dtype(), [&](auto a) {
      using A = decltype(a);
      b.linearBackward(n, in, out, ptr<A>(dy), ptr<A>(x), ptr<A>(w), ptr<A>(grads.dx),
                       ptr<float>(grads.dw), ptr<float>(grads.db));
    });
  });
  return grads;
}

namespace {
bool isFloatDType(DType dtype) {
  return dtype == DType::Float32 || dtype == DType::BFloat16 || dtype == DType::Float16;
}
}  // namespace

Tensor toDType(const Tensor& x, DType dtype) {
  requireDefined(x, "x");
  if (!isFloatDType(dtype))
    invalidArgument(std::string("toDType converts between float32, bfloat16 and float16, not to ") + dtypeName(dtype));
  if (!isFloatDType(x.dtype()))
    invalidArgument(std::string("toDType converts between float32, bfloat16 and float16, not from ") + dtypeName(x.dtype()));
  if (x.dtype() == dtype) return clone(x);
  // Between the two 16-bit types: through float32, which holds both exactly.
  if (x.dtype() != DType::Float32 && dtype != DType::Float32) return toDType(toDType(x, DType::Float32), dtype);
  Tensor y = Tensor::empty(x.device(), x.shape(), dtype);
  submit(x, {x}, {y}, [x, y](Backend& b) {
    const size_t n = size_t(x.numel());
    if (y.dtype() == DType::BFloat16) b.castToBFloat16(n, x.f32(), y.bf16());
    else if (y.dtype() == DType::Float16) b.castToFloat16(n, x.f32(), y.f16());
    else if (x.dtype() == DType::BFloat16) b.castToFloat32(n, x.bf16(), y.f32());
    else b.castFloat16ToFloat32(n, x.f16(), y.f32());
  });
  return y;
}

Tensor unscaleGradients(const std::vector<Tensor>& grads, const ScaleOptions& o) {
  if (grads.empty()) invalidArgument("grads must hold at least one tensor");
  for (size_t i = 0; i < grads.size(); ++i) {
    const std::string name = "grads[" + std::to_string(i) + "]";
    requireDefined(grads[i], name.c_str());
    requireFloat(grads[i], name.c_str());
    requireSameDevice(grads[0], "grads[0]", grads[i], name.c_str());
    // A storage listed twice would be multiplied twice.
    for (size_t j = 0; j < i; ++j)
      if (grads[j].storage() == grads[i].storage())
        invalidArgument(name + " shares its storage with grads[" + std::to_string(j) + "]");
  }
  if (!(std::isfinite(o.alpha) && o.alpha > 0.0f))
    invalidArgument("alpha (1 / scale) must be a finite positive number, got " + std::to_string(o.alpha));
  Tensor found = Tensor::empty(grads[0].device(), {1});
  std::vector<StorageRef> touched;
  for (const Tensor& g : grads) touched.push_back(g.storage());
  std::vector<StorageRef> written = touched;
  written.push_back(found.storage());
  const float alpha = o.alpha;
  grads[0].device().stream().submit(
      [grads, found, alpha](Backend& b) {
        b.fill(1, 0.0f, found.f32());
        for (const Tensor& g : grads) b.unscaleGradient(size_t(g.numel()), alpha, g.f32(), found.f32());
      },
      std::move(touched), std::move(written));
  return found;
}

// The unary elementwise ops of the table, all checked alike. `half` is whether the op has
// bfloat16 and float16 overloads (its dtypes column); forward and backward call the backend's
// overload for the pointers' type, instantiated for the 16-bit types only when they exist.
namespace {
template <bool half, class Forward>
Tensor unaryForward(const Tensor& x, Forward forward) {
  requireDefined(x, "x");
  if (half) requireActivation(x, "x");
  else requireFloat(x, "x");
  Tensor y = Tensor::empty(x.device(), x.shape(), x.dtype());
  submit(x, {x}, {y}, [x, y, forward](Backend& b) {
    const size_t n = size_t(x.numel());
    if constexpr (half) {
      if (x.dtype() == DType::BFloat16) return forward(b, n, x.bf16(), y.bf16());
      if (x.dtype() == DType::Float16) return forward(b, n, x.f16(), y.f16());
    }
    forward(b, n, x.f32(), y.f32());
  });
  return y;
}

template <bool half, class Backward>
Tensor unaryBackward(const Tensor& dy, const Tensor& y, Backward backward) {
  requireDefined(y, "y");
  if (half) requireActivation(y, "y");
  else requireFloat(y, "y");
  requireLike(dy, "dy", y, "y");
  requireSameDType(y, "y", dy, "dy");
  Tensor dx = Tensor::empty(y.device(), y.shape(), y.dtype());
  submit(y, {dy, y}, {dx}, [dy, y, dx, backward](Backend& b) {
    const size_t n = size_t(y.numel());
    if constexpr (half) {
      if (y.dtype() == DType::BFloat16) return backward(b, n, dy.bf16(), y.bf16(), dx.bf16());
      if (y.dtype() == DType::Float16) return backward(b, n, dy.f16(), y.f16(), dx.f16());
    }
    backward(b, n, dy.f32(), y.f32(), dx.f32());
  });
  return dx;
}
}  // namespace

#define ALEXNET_UNARY_HAS_HALF_F32 false
#define ALEXNET_UNARY_HAS_HALF_F32_BF16_F16 true
#define ALEXNET_DEFINE_UNARY_OP(name, dtypes)                                                     \
  Tensor name(const Tensor& x) {                                                                \
    return unaryForward<ALEXNET_UNARY_HAS_HALF_##dtypes>(                                       \
        x, [](Backend& b, size_t n, const auto* px, auto* py) { b.name##Forward(n, px, py); }); \
  }                                                                                             \
  Tensor name##Backward(const Tensor& dy, const Tensor& y) {                                    \
    return unaryBackward<ALEXNET_UNARY_HAS_HALF_##dtypes>(                                      \
        dy, y, [](Backend& b, size_t n, const auto* pdy, const auto* py, auto* pdx) {           \
          b.name##Backward(n, pdy, py, pdx);                                                    \
        });                                                                                     \
  }
ALEXNET_UNARY_OPS(ALEXNET_DEFINE_UNARY_OP)
#undef ALEXNET_DEFINE_UNARY_OP

// x and y (dy and dx) in x's activation dtype, the mask float32 in every dtype (0 or 1/(1-p)): a
// 16-bit y is the float32 product rounded once, what widening x, dropping out in float32 and
// rounding would give.
DropoutResult dropout(const Tensor& x, const DropoutOptions& o) {
  requireDefined(x, "x");
  requireActivation(x, "x");
  meta::dropout(x.shape(), o);
  DropoutResult r{Tensor::empty(x.device(), x.shape(), x.dtype()), Tensor::empty(x.device(), x.shape())};
  const size_t rowLength = x.shape().empty() ? 1 : static_cast<size_t>(x.shape().back());
  const uint64_t rowStride = o.rowStride == 0 ? rowLength : o.rowStride;
  submit(x, {x}, {r.y, r.mask}, [x, o, r, rowLength, rowStride](Backend& b) {
    withActivation(x.dtype(), [&](auto a) {
      using A = decltype(a);
      b.dropoutForward(size_t(x.numel()), o.p, o.seed, o.offset, rowLength, rowStride, ptr<A>(x), ptr<A>(r.y),
                       r.mask.f32());
    });
  });
  return r;
}

Tensor dropoutBackward(const Tensor& dy, const Tensor& mask) {
  requireDefined(mask, "mask");
  requireFloat(mask, "mask");
  requireLike(dy, "dy", mask, "mask");
  requireActivation(dy, "dy");
  Tensor dx = Tensor::empty(dy.device(), dy.shape(), dy.dtype());
  submit(dy, {dy, mask}, {dx}, [dy, mask, dx](Backend& b) {
    withActivation(dy.dtype(), [&](auto a) {
      using A = decltype(a);
      b.dropoutBackward(size_t(dy.numel()), ptr<A>(dy), mask.f32(), ptr<A>(dx));
    });
  });
  return dx;
}

// The checks that need tensors (dtypes, devices), after the meta function `geometry`'s.
template <typename Meta>
static meta::LossGeometry checkLogitsLabels(const Tensor& logits, const Tensor& labels, Meta&& geometry) {
  requireDefined(logits, "logits");
  requireDefined(labels, "labels");
  const meta::LossGeometry g = geometry(logits.shape(), labels.shape());
  requireFloat(logits, "logits");
  if (labels.dtype() != DType::Int32) invalidArgument(std::string("labels must be int32, got ") + dtypeName(labels.dtype()));
  requireSameDevice(logits, "logits", labels, "labels");
  return g;
}

LossResult softmaxCrossEntropy(const Tensor& logits, const Tensor& labels) {
  const meta::LossGeometry g = checkLogitsLabels(logits, labels, [](const Shape& l, const Shape& y) { return meta::logits(l, &y); });
  const int n = g.n, classes = g.classes;
  LossResult r{Tensor::empty(logits.device(), {1}), Tensor::empty(logits.device(), logits.shape())};
  r.loss = r.loss.reshape({1});
  submit(logits, {logits, labels}, {r.loss, r.dlogits}, [n, classes, logits, labels, r](Backend& b) {
    b.softmaxCrossEntropy(n, classes, logits.f32(), labels.i32(), r.loss.f32(), r.dlogits.f32());
  });
  return r;
}

Tensor softmax(const Tensor& logits) {
  requireDefined(logits, "logits");
  const meta::LossGeometry g = meta::logits(logits.shape());
  requireFloat(logits, "logits");
  Tensor probs = Tensor::empty(logits.device(), logits.shape());
  const int n = g.n, classes = g.classes;
  submit(logits, {logits}, {probs}, [n, classes, logits, probs](Backend& b) { b.softmax(n, classes, logits.f32(), probs.f32()); });
  return probs;
}

Tensor topkCorrect(const Tensor& logits, const Tensor& labels, const TopkOptions& o) {
  const meta::LossGeometry g =
      checkLogitsLabels(logits, labels, [&o](const Shape& l, const Shape& y) { return meta::topkCorrect(l, y, o); });
  const int n = g.n, classes = g.classes, k = o.k;
  Tensor count = Tensor::empty(logits.device(), {1});
  submit(logits, {logits, labels}, {count}, [n, classes, k, logits, labels, count](Backend& b) {
    b.topkCorrect(n, classes, k, logits.f32(), labels.i32(), count.f32());
  });
  return count;
}

void sgdStep(const Tensor& param, const Tensor& velocity, const Tensor& grad, const SgdOptions& o) {
  requireDefined(param, "param");
  requireDefined(velocity, "velocity");
  requireDefined(grad, "grad");
  requireSameDevice(param, "param", velocity, "velocity");
  requireSameDevice(param, "param", grad, "grad");
  meta::sgdStep(param.shape(), velocity.shape(), grad.shape(), o);
  submit(param, {param, velocity, grad}, {param, velocity}, [param, velocity, grad, o](Backend& b) {
    b.sgdStep(size_t(param.numel()), o.lr, o.momentum, o.weightDecay, param.f32(), velocity.f32(), grad.f32());
  });
}

void fill(const Tensor& t, const FillOptions& o) {
  requireDefined(t, "tensor");
  requireFloat(t, "tensor");
  submit(t, {}, {t}, [t, o](Backend& b) { b.fill(size_t(t.numel()), o.value, t.f32()); });
}

void normal(const Tensor& t, const NormalOptions& o) {
  requireDefined(t, "tensor");
  meta::normal(t.shape(), o);
  requireFloat(t, "tensor");
  submit(t, {}, {t}, [t, o](Backend& b) { b.normalInit(size_t(t.numel()), o.mean, o.std, o.seed, o.offset, t.f32()); });
}

void axpy(const Tensor& x, const Tensor& y, const ScaleOptions& o) {
  requireDefined(x, "x");
  requireDefined(y, "y");
  requireSameDevice(y, "y", x, "x");
  meta::axpy(x.shape(), y.shape(), o);
  submit(y, {x, y}, {y}, [o, x, y](Backend& b) { b.axpy(size_t(x.numel()), o.alpha, x.f32(), y.f32()); });
}

Tensor scale(const Tensor& x, const ScaleOptions& o) {
  requireDefined(x, "x");
  requireFloat(x, "x");
  Tensor y = Tensor::empty(x.device(), x.shape());
  submit(x, {x}, {y}, [o, x, y](Backend& b) { b.scale(size_t(x.numel()), o.alpha, x.f32(), y.f32()); });
  return y;
}

Tensor clone(const Tensor& x) {
  requireDefined(x, "x");
  Tensor y = Tensor::empty(x.device(), x.shape(), x.dtype());
  submit(x, {x}, {y}, [x, y](Backend& b) { b.copyOnDevice(y.storage()->data(), x.storage()->data(), x.bytes()); });
  return y;
}

Tensor add(const Tensor& a, const Tensor& b) {
  requireDefined(a, "a");
  requireLike(b, "b", a, "a");
  Tensor y = clone(a);
  axpy(b, y, ScaleOptions{1.0f});
  return y;
}

Tensor cropImages(const Tensor& images, const Tensor& params, const Tensor& mean, const CropOptions& o) {
  requireRank(images, "images", 4);
  if (images.dtype() != DType::UInt8)
    invalidArgument(std::string("images must be uint8 [N, H, W, C], got ") + dtypeName(images.dtype()));
  requireRank(params, "params", 2);
  requireFloat(params, "params");
  requireSameDevice(images, "images", params, "params");
  const int64_t n = images.dim(0), h = images.dim(1), w = images.dim(2), c = images.dim(3);
  if (n < 1 || h < 1 || w < 1 || c < 1 || c > 4)
    invalidArgument("images must have shape [N, H, W, C] with N, H, W >= 1 and C in 1..4, got " +
                    shapeString(images.shape()));
  const int64_t rows = params.dim(0);
  if (params.dim(1) != 3 + c || rows < n || rows % n != 0)
    invalidArgument("params must have shape [N * crops, 3 + C] = [" + std::to_string(n) + " * crops, " +
                    std::to_string(3 + c) + "] for images " + shapeString(images.shape()) + ", got " +
                    shapeString(params.shape()));
  requirePositive(o.outH, "outH");
  requirePositive(o.outW, "outW");
  if (o.outH > h || o.outW > w)
    invalidArgument("crop " + std::to_string(o.outH) + "x" + std::to_string(o.outW) + " is larger than the images " +
                    std::to_string(h) + "x" + std::to_string(w));
  if (!std::isfinite(o.scale)) invalidArgument("scale must be a finite number, got " + std::to_string(o.scale));
  if (h * w * c > INT32_MAX || rows > INT32_MAX || rows * c * o.outH * o.outW > (int64_t(1) << 40))
    invalidArgument("images " + shapeString(images.shape()) + " are too large for cropImages");
  MeanMode meanMode = MeanMode::None;
  if (mean.defined()) {
    requireFloat(mean, "mean");
    requireSameDevice(images, "images", mean, "mean");
    if (mean.shape() == Shape{c}) meanMode = MeanMode::PerChannel;
    else if (mean.shape() == Shape{c, h, w}) meanMode = MeanMode::PerPixel;
    else
      invalidArgument("mean must have shape [C] = [" + std::to_string(c) + "] or [C, H, W] = " +
                      shapeString({c, h, w}) + ", got " + shapeString(mean.shape()));
  }
  const CropGeometry g{int(n), int(rows / n), int(h), int(w), int(c), o.outH, o.outW, o.scale, meanMode};
  Tensor out = output(images, "cropImages output", {rows, c, o.outH, o.outW});
  submit(images, {images, params, mean}, {out}, [g, images, params, mean, out](Backend& b) {
    b.cropImages(g, static_cast<const uint8_t*>(images.storage()->data()), params.f32(),
                 mean.defined() ? mean.f32() : nullptr, out.f32());
  });
  return out;
}

Tensor sliceChannels(const Tensor& x, const ChannelOptions& options) {
  const int64_t start = options.start, count = options.count;
  requireDefined(x, "x");
  if (x.rank() < 2) invalidArgument("x must have shape [N, C, ...], got " + shapeString(x.shape()));
  if (start < 0 || count <= 0 || count > x.dim(1) - start)
    invalidArgument("channels [" + std::to_string(start) + ", " + std::to_string(start + count) +
                    ") are outside x " + shapeString(x.shape()));
  Shape shape = x.shape();
  shape[1] = count;
  Tensor y = Tensor::empty(x.device(), shape, x.dtype());
  const size_t plane = size_t(x.numel() / (x.dim(0) * x.dim(1))) * elementSize(x.dtype());
  const size_t srcPitch = plane * size_t(x.dim(1)), rowBytes = plane * size_t(count);
  const size_t offset = plane * size_t(start), n = size_t(x.dim(0));
  submit(x, {x}, {y}, [x, y, srcPitch, rowBytes, offset, n](Backend& b) {
    b.copy2D(y.storage()->data(), rowBytes, static_cast<char*>(x.storage()->data()) + offset,
             srcPitch, rowBytes, n);
  });
  return y;
}

void copyIntoChannels(const Tensor& dst, const Tensor& src, const ChannelOptions& options) {
  const int64_t start = options.start;
  requireDefined(dst, "dst");
  requireDefined(src, "src");
  requireSameDevice(dst, "dst", src, "src");
  if (dst.dtype() != src.dtype())
    invalidArgument(std::string("src is ") + dtypeName(src.dtype()) + " but dst is " + dtypeName(dst.dtype()));
  if (dst.rank() != src.rank() || dst.rank() < 2 || src.dim(0) != dst.dim(0) ||
      start < 0 || start > dst.dim(1) - src.dim(1))
    invalidArgument("src " + shapeString(src.shape()) + " does not fit into dst " +
                    shapeString(dst.shape()) + " at channel " + std::to_string(start));
  for (int i = 2; i < dst.rank(); ++i)
    if (dst.dim(i) != src.dim(i))
      invalidArgument("src " + shapeString(src.shape()) + " and dst " + shapeString(dst.shape()) +
                      " differ beyond the channel dimension");
  const size_t plane = size_t(src.numel() / (src.dim(0) * src.dim(1))) * elementSize(src.dtype());
  const size_t dstPitch = plane * size_t(dst.dim(1)), rowBytes = plane * size_t(src.dim(1));
  const size_t offset = plane * size_t(start), n = size_t(src.dim(0));
  submit(dst, {dst, src}, {dst}, [dst, src, dstPitch, rowBytes, offset, n](Backend& b) {
    b.copy2D(static_cast<char*>(dst.storage()->data()) + offset, dstPitch, src.storage()->data(),
             rowBytes, rowBytes, n);
  });
}

Tensor concatChannels(const std::vector<Tensor>& parts) {
  if (parts.empty()) invalidArgument("concatChannels needs at least one tensor");
  requireDefined(parts[0], "parts[0]");
  Shape shape = parts[0].shape();
  if (shape.size() < 2) invalidArgument("parts[0] must have shape [N, C, ...], got " + shapeString(shape));
  int64_t channels = 0;
  for (const Tensor& p : parts) {
    requireDefined(p, "parts[i]");
    if (p.rank() < 2) invalidArgument("parts must have shape [N, C, ...], got " + shapeString(p.shape()));
    channels += p.dim(1);
  }
  shape[1] = channels;
  Tensor y = output(parts[0], "concatChannels output", shape, parts[0].dtype());
  ChannelOptions at;
  for (const Tensor& p : parts) {
    copyIntoChannels(y, p, at);
    at.start += int(p.dim(1));
  }
  return y;
}

}  // namespace alexnet::ops
