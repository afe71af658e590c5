// The op table: each op's backend methods, option fields and elementwise kind, written once.
//
// Everything that lists ops expands these lists instead of restating them: the Backend interface
// (backend.hpp) and both backend class declarations (native/cpu/cpu_internal.hpp,
// native/cuda/cuda_backend.hpp), the option structs of the core's op API (ops.hpp), the unary
// elementwise ops of the core (ops.cpp) and of the CUDA backend (backend.cpp, kernels.hpp), and the
// addon's bindings and option readers (native/addon/ops_binding.cpp), which also export the option
// field names (`opOptionFields`) so that a test holds lib/binding.ts to this table.
//
// Why X-macro lists and not a schema with a generator: the build is cmake-js and tsc with no
// code-generation step, and a generator would add a tool to run and generated files to keep in step
// with their source. With X-macros the C++ compiler is the generator: a backend that lacks a
// method, or an option the addon does not read, fails to compile. TypeScript cannot include a C
// header, so lib/binding.ts mirrors the option field names and the elementwise op names, checked
// against the addon's export by test/19.ops.table.test.ts.
//
// The contract of each method (what it computes, which pointers may be null) is written in
// backend.hpp next to the geometry structs it takes.
#pragma once

// ---- backend compute methods: X(name, dtypes, (parameters)) -------------------------------------
// Methods that every backend implements. Unary elementwise ops (ALEXNET_UNARY_OPS) add two more
// each: nameForward(count, x, y) and nameBackward(count, dy, y, dx).
//
// The dtype dimension: parameters written `A*` are activations (an op's inputs, outputs and their
// gradients); the list is expanded with A = float for every op, again with A = BFloat16
// (alexnet/bfloat16.hpp) for the ops whose dtypes column names BF16, and a third time with
// A = Float16 (alexnet/float16.hpp) for those whose column names F16, which gives each of those a
// bfloat16 or float16 overload of the same name. Everything not written `A` stays float32 in all:
// biases and the weight and bias gradients (fp32 accumulation into what the fp32 master update
// needs), masks. A backend without bfloat16 or float16 kernels inherits overloads that throw
// BF16_UNSUPPORTED or FLOAT16_UNSUPPORTED naming the method (backend.hpp).
// dtypes values: F32 (float32 only), F32_BF16_F16 (float32, bfloat16 and float16).
#define ALEXNET_BACKEND_OPS(X, A)                                                                    \
  X(conv2dForward, F32_BF16_F16, (const ConvGeometry& g, const A* x, const A* w, const float* bias,  \
                                  A* y))                                                             \
  X(conv2dBackwardData, F32_BF16_F16, (const ConvGeometry& g, const A* dy, const A* w, A* dx))       \
  X(conv2dBackwardFilter, F32_BF16_F16, (const ConvGeometry& g, const A* x, const A* dy, float* dw,  \
                                         float* db))                                                 \
  X(lrnForward, F32_BF16_F16, (const LrnGeometry& g, const A* x, A* y))                              \
  X(lrnBackward, F32_BF16_F16, (const LrnGeometry& g, const A* dy, const A* x, const A* y, A* dx))   \
  X(maxPoolForward, F32_BF16_F16, (const PoolGeometry& g, const A* x, A* y))                         \
  X(maxPoolBackward, F32_BF16_F16, (const PoolGeometry& g, const A* dy, const A* x, const A* y,      \
                                    A* dx))                                                          \
  X(linearForward, F32_BF16_F16, (int n, int in, int out, const A* x, const A* w, const float* bias, \
                                  A* y))                                                             \
  X(linearBackward, F32_BF16_F16, (int n, int in, int out, const A* dy, const A* x, const A* w,      \
                                   A* dx, float* dw, float* db))                                     \
  X(dropoutForward, F32_BF16_F16, (size_t count, float p, uint64_t seed, uint64_t offset,          \
                                   size_t rowLength, uint64_t rowStride, const A* x, A* y,          \
                                   float* mask))                                                     \
  X(dropoutBackward, F32_BF16_F16, (size_t count, const A* dy, const float* mask, A* dx))            \
  X(softmaxCrossEntropy, F32, (int n, int classes, const float* logits, const int32_t* labels,       \
                               float* loss, float* dlogits))                                         \
  X(softmax, F32, (int n, int classes, const float* logits, float* probs))                           \
  X(topkCorrect, F32, (int n, int classes, int k, const float* logits, const int32_t* labels,        \
                       float* correct))                                                              \
  X(sgdStep, F32, (size_t count, float lr, float momentum, float weightDecay, float* w, float* v,    \
                   const float* g))                                                                  \
  X(fill, F32, (size_t count, float value, float* y))                                                \
  X(normalInit, F32, (size_t count, float mean, float std, uint64_t seed, uint64_t offset,           \
                      float* y))                                                                     \
  X(axpy, F32, (size_t count, float alpha, const float* x, float* y))                                \
  X(scale, F32, (size_t count, float alpha, const float* x, float* y))                               \
  X(cropImages, F32, (const CropGeometry& g, const uint8_t* src, const float* params,                \
                      const float* mean, float* out))                                                \
  X(castToBFloat16, F32, (size_t count, const float* x, BFloat16* y))                                \
  X(castToFloat32, F32, (size_t count, const BFloat16* x, float* y))                                 \
  X(castToFloat16, F32, (size_t count, const float* x, Float16* y))                                  \
  X(castFloat16ToFloat32, F32, (size_t count, const Float16* x, float* y))                           \
  X(unscaleGradient, F32, (size_t count, float invScale, float* g, float* foundInf))

// ---- unary elementwise ops: U(name, dtypes) -----------------------------------------------------
// y = f(x) elementwise, and dx = f'(x) * dy written as a function of dy and the forward OUTPUT y
// (so the backward pass keeps only y). Each gives Backend::nameForward/nameBackward, ops::name and
// ops::nameBackward, the bindings `name` and `nameBackward`, and the CUDA launchers
// kernels::nameForward/nameBackward (each in its own .cu file). dtypes as above: F32_BF16_F16 adds
// bfloat16 and float16 overloads of the two backend methods.
//   relu: y = max(x, 0), NaN passing through; dx = y > 0 ? dy : 0.
//   tanh: y = tanh(x); dx = dy * (1 - y * y).
#define ALEXNET_UNARY_OPS(U) \
  U(relu, F32_BF16_F16)      \
  U(tanh, F32)

// Selects text by a dtypes column: ALEXNET_IF_BF16_##dtypes(text) keeps `text` where the column
// names BF16, ALEXNET_IF_F16_##dtypes(text) where it names F16, ALEXNET_IF_NOT_F16_##dtypes(text)
// where it does not.
#define ALEXNET_IF_BF16_F32(...)
#define ALEXNET_IF_BF16_F32_BF16_F16(...) __VA_ARGS__
#define ALEXNET_IF_F16_F32(...)
#define ALEXNET_IF_F16_F32_BF16_F16(...) __VA_ARGS__
#define ALEXNET_IF_NOT_F16_F32(...) __VA_ARGS__
#define ALEXNET_IF_NOT_F16_F32_BF16_F16(...)

// ---- option structs: F(type, name, default) -----------------------------------------------------
// Each becomes a field of the struct in ops.hpp and a property of the options object that the
// binding reads (a missing property takes the default).
#define ALEXNET_CONV2D_OPTIONS(F) \
  F(int, strideH, 1)              \
  F(int, strideW, 1)              \
  F(int, padH, 0)                 \
  F(int, padW, 0)                 \
  F(int, groups, 1)
// Which gradients a backward op computes besides the weights' (read from the same JS object as
// the op's own options).
#define ALEXNET_GRAD_OPTIONS(F) \
  F(bool, wantDx, true)         \
  F(bool, wantDb, true)
// The paper's LRN: alpha as written in the paper's formula (not divided by size).
#define ALEXNET_LRN_OPTIONS(F) \
  F(int, size, 5)              \
  F(float, alpha, 1e-4f)       \
  F(float, beta, 0.75f)        \
  F(float, k, 2.0f)
#define ALEXNET_POOL_OPTIONS(F) \
  F(int, kernelH, 3)            \
  F(int, kernelW, 3)            \
  F(int, strideH, 2)            \
  F(int, strideW, 2)
// Inverted dropout: the mask is a pure function of (seed, counter), element i of x (row i / L,
// column i % L, L the last dimension) drawing counter offset + row * rowStride + column; rowStride
// 0 means L (the elements in order). So rows [r, r + n) of a larger batch can be drawn alone (a
// data-parallel rank's share of the global batch) with offset = r * (elements per row), and
// columns [c, c + L) of rows W wide (a model-parallel rank's features) with offset = c and
// rowStride = W.
#define ALEXNET_DROPOUT_OPTIONS(F) \
  F(float, p, 0.5f)                \
  F(uint64_t, seed, 0)             \
  F(uint64_t, offset, 0)           \
  F(uint64_t, rowStride, 0)
// The paper's update rule and its hyperparameters (lr 0.01 at the start, momentum 0.9, weight
// decay 0.0005).
#define ALEXNET_SGD_OPTIONS(F) \
  F(float, lr, 0.01f)          \
  F(float, momentum, 0.9f)     \
  F(float, weightDecay, 5e-4f)
// Top-k accuracy: a row counts when its label is among the k largest logits.
#define ALEXNET_TOPK_OPTIONS(F) F(int, k, 1)
// A constant fill; the factor of axpy (y += alpha x) and scale (alpha x).
#define ALEXNET_FILL_OPTIONS(F) F(float, value, 0.0f)
#define ALEXNET_SCALE_OPTIONS(F) F(float, alpha, 1.0f)
// Gaussian fill: element i of the tensor gets the value element offset + i of any tensor drawn with
// the same seed gets (the generator is counter-based), so a slice of a longer draw can be drawn
// directly.
#define ALEXNET_NORMAL_OPTIONS(F) \
  F(float, mean, 0.0f)            \
  F(float, std, 1.0f)             \
  F(uint64_t, seed, 0)            \
  F(uint64_t, offset, 0)

// cropImages: the crop's size and the factor applied to each 8-bit pixel before the mean.
#define ALEXNET_CROP_OPTIONS(F) \
  F(int, outH, 224)             \
  F(int, outW, 224)             \
  F(float, scale, 1.0f)
// Channel ranges of [N, C, ...] tensors (the two-column exchange): sliceChannels takes
// [start, start + count); copyIntoChannels writes its source at channel start.
#define ALEXNET_CHANNEL_OPTIONS(F) \
  F(int, start, 0)                 \
  F(int, count, 1)

// The option structs: O(Struct, FIELDS, "jsName") — jsName is how lib/binding.ts names the type.
#define ALEXNET_OPTION_STRUCTS(O)                         \
  O(Conv2dOptions, ALEXNET_CONV2D_OPTIONS, "conv2d")      \
  O(GradOptions, ALEXNET_GRAD_OPTIONS, "grads")           \
  O(LrnOptions, ALEXNET_LRN_OPTIONS, "localResponseNorm") \
  O(PoolOptions, ALEXNET_POOL_OPTIONS, "maxPool2d")       \
  O(DropoutOptions, ALEXNET_DROPOUT_OPTIONS, "dropout")   \
  O(SgdOptions, ALEXNET_SGD_OPTIONS, "sgdStep")           \
  O(TopkOptions, ALEXNET_TOPK_OPTIONS, "topkCorrect")     \
  O(FillOptions, ALEXNET_FILL_OPTIONS, "fill")            \
  O(ScaleOptions, ALEXNET_SCALE_OPTIONS, "scale")         \
  O(NormalOptions, ALEXNET_NORMAL_OPTIONS, "normal")      \
  O(CropOptions, ALEXNET_CROP_OPTIONS, "cropImages")      \
  O(ChannelOptions, ALEXNET_CHANNEL_OPTIONS, "channels")
