// The one error type of the native core. Nothing in the library aborts or exits: every failing
// library status (CUDA, cuDNN, cuBLAS, oneDNN, the OS) becomes an Error with a stable code, the
// call that failed and a hint for the user.
#pragma once

#include <stdexcept>
#include <string>

namespace alexnet {

class Error : public std::runtime_error {
 public:
  // code: stable machine-readable name, e.g. "INVALID_ARGUMENT", "CUDA_UNAVAILABLE",
  // "OUT_OF_MEMORY", "DNNL_ERROR", "CUDNN_ERROR", "CUBLAS_ERROR", "CUDA_ERROR", "IO_ERROR".
  Error(std::string code, std::string message, std::string call = "", std::string hint = "")
      : std::runtime_error(message), code_(std::move(code)), call_(std::move(call)),
        hint_(std::move(hint)) {}
  const std::string& code() const { return code_; }
  const std::string& call() const { return call_; }
  const std::string& hint() const { return hint_; }

 private:
  std::string code_, call_, hint_;
};

[[noreturn]] inline void invalidArgument(const std::string& message) {
  throw Error("INVALID_ARGUMENT", message);
}

}  // namespace alexnet
