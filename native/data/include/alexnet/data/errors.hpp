// The data pipeline's error codes, as alexnet::Error (the addon maps them to AlexNetError).
#pragma once

#include <string>

#include "alexnet/error.hpp"

namespace alexnet::data {

// Content that cannot be what it claims: a corrupt JPEG, a wrong IDX magic, a short CIFAR file.
[[noreturn]] inline void badFile(const std::string& file, const std::string& what,
                                 const std::string& call = "") {
  throw Error("BAD_FILE", file + ": " + what, call);
}

// The operating system refused: missing file, permissions, a failed read or write.
[[noreturn]] void ioError(const std::string& file, const std::string& what, const std::string& call);

}  // namespace alexnet::data
