// The exported C entry points (module.hpp). Everything else in the module is hidden by the
// linker's version script (exports.map), including the statically linked CUDA runtime.
#include "module.hpp"

#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "alexnet/error.hpp"
#include "cuda_backend.hpp"
#include "half_support.hpp"

namespace {

void writeText(char* out, size_t outLen, const std::string& text) {
  if (out != nullptr && outLen > 0) std::snprintf(out, outLen, "%s", text.c_str());
}

std::string describeError(const alexnet::Error& e) {
  return e.hint().empty() ? e.what() : std::string(e.what()) + " (" + e.hint() + ")";
}

alexnet::cuda::CudaBackend& asCuda(alexnet::Backend* backend) {
  // Only backends from alexnet_cuda_create_backend reach these entry points.
  auto* cuda = dynamic_cast<alexnet::cuda::CudaBackend*>(backend);
  if (cuda == nullptr) alexnet::invalidArgument("not a backend created by libalexnet_cuda");
  return *cuda;
}

}  // namespace

extern "C" {

int alexnet_cuda_device_count(char* err, size_t errLen) {
  // Static cudart without a driver returns cudaErrorInsufficientDriver and leaves count alone.
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status == cudaSuccess) return count;
  cudaGetLastError();
  int runtime = 0;
  cudaRuntimeGetVersion(&runtime);
  std::string message = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(status) +
                        " (" + cudaGetErrorName(status) + ")";
  if (status == cudaErrorInsufficientDriver) {
    message += "; no NVIDIA driver, or one older than CUDA " + std::to_string(runtime / 1000) +
               "." + std::to_string(runtime % 1000 / 10) + " needs (check nvidia-smi)";
  }
  writeText(err, errLen, message);
  return -1;
}

alexnet::Backend* alexnet_cuda_create_backend(int device, char* err, size_t errLen) {
  try {
    return new alexnet::cuda::CudaBackend(device);
  } catch (const alexnet::Error& e) {
    writeText(err, errLen, describeError(e));
  } catch (const std::bad_alloc&) {
    writeText(err, errLen, "out of host memory creating the CUDA backend");
  } catch (const std::exception& e) {
    writeText(err, errLen, e.what());
  }
  return nullptr;
}

void alexnet_cuda_destroy_backend(alexnet::Backend* backend) { delete backend; }

int alexnet_cuda_describe(int device, char* out, size_t outLen) {
  cudaDeviceProp prop{};
  const cudaError_t status = cudaGetDeviceProperties(&prop, device);
  if (status != cudaSuccess) {
    cudaGetLastError();
    writeText(out, outLen,
              std::string("cudaGetDeviceProperties failed: ") + cudaGetErrorString(status));
    return -1;
  }
  const size_t cudnn = cudnnGetVersion();  // e.g. 90402 for 9.4.2
  int cublasMajor = 0, cublasMinor = 0, cublasPatch = 0, driver = 0;
  cublasGetProperty(MAJOR_VERSION, &cublasMajor);
  cublasGetProperty(MINOR_VERSION, &cublasMinor);
  cublasGetProperty(PATCH_LEVEL, &cublasPatch);
  cudaDriverGetVersion(&driver);
  char text[512];
  std::snprintf(text, sizeof text,
                "%s, cc %d.%d, %.1f GiB, cuDNN %zu.%zu.%zu, cuBLAS %d.%d.%d, driver CUDA %d.%d, "
                "bf16 %s, fp16 %s",
                prop.name, prop.major, prop.minor, prop.totalGlobalMem / 1073741824.0,
                cudnn / 10000, cudnn % 10000 / 100, cudnn % 100, cublasMajor, cublasMinor,
                cublasPatch, driver / 1000, driver % 1000 / 10,
                alexnet::cuda::bf16Capable(prop.major) ? "yes" : "no (needs cc 8.0)",
                alexnet::cuda::fp16Capable(prop.major) ? "yes" : "no (needs cc 7.0)");
  writeText(out, outLen, text);
  return 0;
}

void alexnet_cuda_set_tf32(alexnet::Backend* backend, int enable) {
  asCuda(backend).setPrecision(enable ? alexnet::cuda::Precision::Tf32
                                      : alexnet::cuda::Precision::Fp32);
}

}  // extern "C"
