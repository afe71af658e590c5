// The op contract: every op a backend must implement, forward and backward, in one place.
//
// A backend is one folder (native/cpu, native/cuda) with a class deriving from Backend. The core
// calls these methods only from the device's own stream thread, in submission order, so a backend
// needs no locking of its own state (primitive caches, handles, workspaces). Pointers are device
// memory obtained from allocate(); all tensors are dense, row-major (NCHW for images, OIHW for
// convolution weights with I = C / groups). Methods may run asynchronously on the device (CUDA) as
// long as later calls on the same backend observe their results; synchronize() waits for all.
// Failures throw alexnet::Error (never abort or exit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "alexnet/bfloat16.hpp"
#include "alexnet/crop.hpp"
#include "alexnet/error.hpp"
#include "alexnet/float16.hpp"
#include "alexnet/op_table.hpp"

namespace alexnet {

// Geometry of a 2-D convolution; the output size is floor((H + 2p - k) / s) + 1.
struct ConvGeometry {
  int n, c, h, w;          // input
  int o, kh, kw;           // output channels and kernel size (weights are [o, c / groups, kh, kw])
  int strideH, strideW;
  int padH, padW;
  int groups;
  int outH, outW;          // derived by the core before the call
};

// Cross-channel local response normalisation in the paper's convention:
//   b[c] = a[c] / (k + alpha * sum_{j in window(c)} a[j]^2)^beta
// with the window of `size` channels centred on c, clipped at the edges. alpha is NOT divided by
// size here; libraries that divide internally (cuDNN, oneDNN) must be passed alpha * size.
struct LrnGeometry {
  int n, c, h, w;
  int size;
  float alpha, beta, k;
};

// Max pooling without padding; output size floor((H - k) / s) + 1.
struct PoolGeometry {
  int n, c, h, w;
  int kernelH, kernelW;
  int strideH, strideW;
  int outH, outW;
};

// Cropping raw 8-bit images into network input on the device (see cropImages and alexnet/crop.hpp).
struct CropGeometry {
  int images;                 // source images: uint8 [images, srcH, srcW, channels] (NHWC)
  int crops;                  // output rows per image: row r reads image r / crops
  int srcH, srcW, channels;   // channels 1 to 4
  int outH, outW;             // crop size, at most the source size
  float scale;                // applied to the pixel before the mean is subtracted
  MeanMode mean;              // mean: none, [channels], or [channels, srcH, srcW]
};

// Device memory for a backend's own temporaries (convolution workspaces, scratch): the device's
// block cache, so that they are reused and counted like tensors. A block given back may be handed
// out again only to work queued later on the same stream, so giving back needs no waiting.
class BlockSource {
 public:
  virtual ~BlockSource() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void release(void* ptr, size_t bytes) = 0;
};

// Declares every compute method of the op table as an override, inside a backend's class: the
// float32 methods (all required), and with ALEXNET_BACKEND_BF16_OVERRIDES and
// ALEXNET_BACKEND_F16_OVERRIDES the bfloat16 and float16 overloads of a backend that has such kernels.
#define ALEXNET_OVERRIDE_BACKEND_OP(name, dtypes, params) void name params override;
#define ALEXNET_OVERRIDE_UNARY_OP(name, dtypes)                        \
  void name##Forward(size_t count, const float* x, float* y) override; \
  void name##Backward(size_t count, const float* dy, const float* y, float* dx) override;
#define ALEXNET_BACKEND_OVERRIDES                          \
  ALEXNET_BACKEND_OPS(ALEXNET_OVERRIDE_BACKEND_OP, float)  \
  ALEXNET_UNARY_OPS(ALEXNET_OVERRIDE_UNARY_OP)
#define ALEXNET_OVERRIDE_BF16_OP(name, dtypes, params) \
  ALEXNET_IF_BF16_##dtypes(void name params override;)
#define ALEXNET_OVERRIDE_BF16_UNARY_OP(name, dtypes)                                           \
  ALEXNET_IF_BF16_##dtypes(void name##Forward(size_t count, const BFloat16* x, BFloat16* y) override; \
                           void name##Backward(size_t count, const BFloat16* dy, const BFloat16* y,   \
                                               BFloat16* dx) override;)
#define ALEXNET_BACKEND_BF16_OVERRIDES                        \
  ALEXNET_BACKEND_OPS(ALEXNET_OVERRIDE_BF16_OP, BFloat16)     \
  ALEXNET_UNARY_OPS(ALEXNET_OVERRIDE_BF16_UNARY_OP)
#define ALEXNET_OVERRIDE_F16_OP(name, dtypes, params) \
  ALEXNET_IF_F16_##dtypes(void name params override;)
#define ALEXNET_OVERRIDE_F16_UNARY_OP(name, dtypes)                                                 \
  ALEXNET_IF_F16_##dtypes(void name##Forward(size_t count, const Float16* x, Float16* y) override; \
                          void name##Backward(size_t count, const Float16* dy, const Float16* y,   \
                                              Float16* dx) override;)
#define ALEXNET_BACKEND_F16_OVERRIDES                      \
  ALEXNET_BACKEND_OPS(ALEXNET_OVERRIDE_F16_OP, Float16)    \
  ALEXNET_UNARY_OPS(ALEXNET_OVERRIDE_F16_UNARY_OP)

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // ---- memory -------------------------------------------------------------------------------
  virtual void* allocate(size_t bytes) = 0;          // raw device allocation (the core caches)
  virtual void deallocate(void* ptr, size_t bytes) = 0;
  // Uploads may still be running when this returns if src came from allocateHost(): keep such a
  // buffer alive with retainUntilDone(). From any other host memory the copy has read src on return.
  virtual void copyFromHost(void* dst, const void* src, size_t bytes) = 0;
  virtual void copyToHost(void* dst, const void* src, size_t bytes) = 0;  // complete on return
  virtual void copyOnDevice(void* dst, const void* src, size_t bytes) = 0;
  // rows x rowBytes block copy with pitches (channel slicing and concatenation of NCHW tensors).
  virtual void copy2D(void* dst, size_t dstPitch, const void* src, size_t srcPitch,
                      size_t rowBytes, size_t rows) = 0;
  virtual void synchronize() = 0;

  // ---- host staging and ordering between devices ---------------------------------------------
  // Host memory for staging uploads and downloads: page-locked on CUDA, so copies from and to it
  // are DMA transfers that run asynchronously. Thread-safe, like allocate().
  // (Defined here, inline: the class keeps no key function, so a backend module loaded with dlopen
  // needs no symbol of the core.)
  virtual void* allocateHost(size_t bytes) {
    const size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    if (p == nullptr)
      throw Error("OUT_OF_MEMORY", "could not allocate " + std::to_string(bytes) + " bytes of host memory",
                  "aligned_alloc", "free memory or use a smaller batch");
    return p;
  }
  virtual void deallocateHost(void* ptr, size_t bytes) {
    (void)bytes;
    std::free(ptr);
  }
  // Keeps `resource` alive until the work submitted so far has executed. Backends whose methods
  // complete before returning (the CPU) have nothing to wait for and drop it at once.
  virtual void retainUntilDone(std::shared_ptr<void> resource) { (void)resource; }
  // A marker that completes when the work submitted so far has executed; null when it is complete
  // already (the CPU). waitEvent() makes later work on this backend wait for a marker recorded by
  // another backend of the same kind (another stream of the same GPU, or another GPU).
  virtual std::shared_ptr<void> recordEvent() { return nullptr; }
  virtual void waitEvent(const std::shared_ptr<void>& event) { (void)event; }
  // Copies from the memory of another device of the same kind, `srcDevice` being its index (the
  // GPU ordinal); ordered by the caller with recordEvent()/waitEvent(). CPU devices share memory.
  virtual void copyFromPeer(void* dst, const void* src, int srcDevice, size_t bytes) {
    (void)srcDevice;
    copyOnDevice(dst, src, bytes);
  }
  // The device's own queue for libraries that enqueue work on it themselves (the cudaStream_t of a
  // CUDA backend, for NCCL); null where work runs on the calling thread (the CPU).
  virtual void* nativeStream() { return nullptr; }
  // Where temporaries come from; set by the device before any work, and to null (give every block
  // back) before the device's caches go. Without one a backend allocates temporaries itself.
  virtual void setBlockSource(BlockSource* source) { (void)source; }
  // Strict FP32 (the default, matching the CPU) or TF32 tensor cores for convolutions and GEMMs.
  // Only backends with such a mode override this.
  virtual void setTensorFloat32(bool enable) {
    if (enable) throw Error("INVALID_ARGUMENT", std::string(name()) + " has no TF32 mode");
  }
  // Only algorithms whose results repeat bit for bit (true), or the fastest (false). Backends that
  // are always deterministic (the CPU's) ignore it.
  virtual void setDeterministic(bool enable) { (void)enable; }

  // How many host threads a CPU backend's compute uses (OpenMP and oneDNN). Called on the stream's
  // own thread, since OpenMP keeps the count per calling thread. Backends that compute elsewhere
  // (a GPU) ignore it.
  virtual void setNumThreads(int count) { (void)count; }

  // ---- compute: the methods of the op table (alexnet/op_table.hpp), contracts below ---------
#define ALEXNET_DECLARE_BACKEND_OP(name, dtypes, params) virtual void name params = 0;
#define ALEXNET_DECLARE_UNARY_OP(name, dtypes)                                         \
  virtual void name##Forward(size_t count, const float* x, float* y) = 0;              \
  virtual void name##Backward(size_t count, const float* dy, const float* y, float* dx) = 0;
  ALEXNET_BACKEND_OPS(ALEXNET_DECLARE_BACKEND_OP, float)
  ALEXNET_UNARY_OPS(ALEXNET_DECLARE_UNARY_OP)
#undef ALEXNET_DECLARE_BACKEND_OP
#undef ALEXNET_DECLARE_UNARY_OP

  // ---- bfloat16: the table's BF16 ops again with bfloat16 activations -------------------------
  // Whether this backend computes in bfloat16 on this machine; when not, `reason` says why (shown
  // by `alexnet info`). Every bfloat16 compute method throws BF16_UNSUPPORTED then. Called from
  // any thread (the core asks before queuing an op): it must only read fixed facts.
  virtual bool bf16Supported(std::string* reason) const {
    if (reason) *reason = std::string(name()) + " has no bfloat16 kernels";
    return false;
  }
  // The defaults, for a backend without bfloat16 kernels: a typed error, never an emulation.
  [[noreturn]] void unsupportedBf16(const char* op) const {
    std::string reason;
    bf16Supported(&reason);
    throw Error("BF16_UNSUPPORTED", std::string(op) + " in bfloat16 is not available: " + reason, op,
                "use float32 (--precision fp32) on this device");
  }
#define ALEXNET_DECLARE_BF16_OP(name, dtypes, params) \
  ALEXNET_IF_BF16_##dtypes(virtual void name params { unsupportedBf16(#name); })
#define ALEXNET_DECLARE_BF16_UNARY_OP(name, dtypes)                                            \
  ALEXNET_IF_BF16_##dtypes(                                                                    \
      virtual void name##Forward(size_t, const BFloat16*, BFloat16*) {                         \
        unsupportedBf16(#name "Forward");                                                      \
      } virtual void name##Backward(size_t, const BFloat16*, const BFloat16*, BFloat16*) {      \
        unsupportedBf16(#name "Backward");                                                     \
      })
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
  ALEXNET_BACKEND_OPS(ALEXNET_DECLARE_BF16_OP, BFloat16)
  ALEXNET_UNARY_OPS(ALEXNET_DECLARE_BF16_UNARY_OP)
#pragma GCC diagnostic pop
#undef ALEXNET_DECLARE_BF16_OP
#undef ALEXNET_DECLARE_BF16_UNARY_OP

  // ---- float16: the table's F16 ops again with float16 activations -----------------------------
  // As bfloat16 above: whether this backend computes in float16 here (`reason` says why, or why
  // not), and defaults that throw FLOAT16_UNSUPPORTED naming the method. The CPU backend keeps the
  // defaults: oneDNN computes in float16 only on CPUs with AVX512_FP16 or AMX-FP16, and elsewhere
  // it would emulate float16 at a loss against float32, which is what bfloat16's refusal avoids too.
  virtual bool fp16Supported(std::string* reason) const {
    if (reason) *reason = std::string(name()) + " has no float16 kernels";
    return false;
  }
  [[noreturn]] void unsupportedFp16(const char* op) const {
    std::string reason;
    fp16Supported(&reason);
    throw Error("FLOAT16_UNSUPPORTED", std::string(op) + " in float16 is not available: " + reason, op,
                "use bfloat16 (--precision bf16) where supported, or float32");
  }
#define ALEXNET_DECLARE_F16_OP(name, dtypes, params) \
  ALEXNET_IF_F16_##dtypes(virtual void name params { unsupportedFp16(#name); })
#define ALEXNET_DECLARE_F16_UNARY_OP(name, dtypes)                                           \
  ALEXNET_IF_F16_##dtypes(                                                                   \
      virtual void name##Forward(size_t, const Float16*, Float16*) {                         \
        unsupportedFp16(#name "Forward");                                                    \
      } virtual void name##Backward(size_t, const Float16*, const Float16*, Float16*) {      \
        unsupportedFp16(#name "Backward");                                                   \
      })
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
  ALEXNET_BACKEND_OPS(ALEXNET_DECLARE_F16_OP, Float16)
  ALEXNET_UNARY_OPS(ALEXNET_DECLARE_F16_UNARY_OP)
#pragma GCC diagnostic pop
#undef ALEXNET_DECLARE_F16_OP
#undef ALEXNET_DECLARE_F16_UNARY_OP

  // ---- the contract of each method -----------------------------------------------------------
  // conv2dForward (cuDNN / oneDNN): bias may be null. conv2dBackwardFilter: dw is overwritten (not
  //   accumulated); db [o] may be null.
  // lrnForward, lrnBackward: local response normalisation as LrnGeometry says.
  // maxPoolForward, maxPoolBackward: an input that wins several windows receives the sum of their
  //   gradients; ties go to the first maximum in row-major window order; a window holding a NaN
  //   gives NaN and routes its gradient to its first NaN.
  // linearForward: y[n, out] = x[n, in] * w[out, in]^T + b[out]; bias may be null.
  //   linearBackward: any of dx, dw, db may be null (not wanted); dw and db are overwritten.
  // Unary elementwise ops (ALEXNET_UNARY_OPS): see the table.
  // bfloat16 and float16 overloads (dtypes F32_BF16_F16): the same contract with 16-bit
  //   activations; sums (convolutions, GEMMs, LRN's window) accumulate in float32 and round once to
  //   the output; dw and db are float32. float16 outputs beyond 65504 become infinite (the loss
  //   scaler's found-inf check sees them in the gradients). castToBFloat16 rounds to nearest even (alexnet/bfloat16.hpp),
  //   castToFloat32 is exact. castToFloat16 rounds to nearest even (alexnet/float16.hpp),
  //   castFloat16ToFloat32 is exact.
  // unscaleGradient (dynamic loss scaling): g[i] *= invScale in place, and *foundInf (one float32
  //   in device memory) is set to 1 if any result is infinite or NaN, else left as it is: the
  //   caller zeroes it once and passes it for every gradient of a step, and reads it once. invScale
  //   is finite and positive (checked by the core).
  // dropoutForward: inverted dropout, mask[i] = keep ? 1 / (1 - p) : 0, y = x * mask. keep is
  //   decided by alexnet::counterUniform(seed, offset + (i / rowLength) * rowStride + i % rowLength)
  //   >= p (see random.hpp) so every backend draws the same mask (rowStride == rowLength: the
  //   counters offset + i). mask may be null.
  // softmaxCrossEntropy: mean softmax cross-entropy over the batch, stable for huge logits (max
  //   subtracted). loss: one float; dlogits = (softmax - onehot) / n. Labels outside [0, classes)
  //   are an error that the backend finds (the core does not read labels): INVALID_ARGUMENT
  //   "label L of row R is outside [0, C)" naming the first such row. A backend that can check
  //   before computing throws it from the call (CPU); one that cannot without waiting for the
  //   device (CUDA) never reads outside the logits, writes NaN to that row, and throws the error
  //   from its next synchronize() or copyToHost(). The same holds for topkCorrect.
  // topkCorrect: the number of rows whose label is among the k largest logits, written as one
  //   float. A row counts iff its label's logit is not NaN and fewer than k other logits are >= it
  //   or NaN (ties and NaN count against the label: a model whose logits are all equal or NaN
  //   scores 0).
  // sgdStep: the paper's rule, in place: v <- momentum * v - weightDecay * lr * w - lr * g;
  //   w <- w + v.
  // normalInit: y[i] = mean + std * counterNormal(seed, offset + i) (see random.hpp): identical on every
  //   backend. axpy: y += alpha * x. scale: y = alpha * x.
  // cropImages (input augmentation, paper section 4.1, on the device): out [images * crops,
  //   channels, outH, outW]: row r is the crop of image r / crops that params row r describes.
  //   params is [images * crops, 3 + channels] floats: crop top, crop left, flip (0 or 1), then
  //   the colour offset per channel; then, exactly as alexnet/crop.hpp (bit for bit with the data
  //   pipeline's host crop):
  //     out[r, c, y, x] = (scale * src[r / crops, sy, sx, c] - mean(c, sy, sx)) + offset[r, c]
  //     sy = top + y,  sx = flip ? left + outW - 1 - x : left + x
  //   mean is null for MeanMode::None. A row whose window is not whole pixels inside the image
  //   (cropWindowValid) is an error: a backend that can check it before running throws
  //   INVALID_ARGUMENT; one that cannot without waiting (CUDA: params live on the GPU) writes NaN
  //   to that row and reads nothing outside.
  //
  // The geometry a method receives was checked by the core's meta functions (alexnet/meta.hpp)
  // before the call: backends do not validate it again.
};

}  // namespace alexnet
