// The host-side checks' harness (native/core/test/*_check.cpp, native/cuda/test/host_logic_check.cpp):
// one line per check, "ok" or "FAIL", and a last line the tests look for. Header-only and standard
// library only, so that a check builds with nothing but a C++17 compiler.
#pragma once

#include <cstdio>
#include <string>

namespace alexnet::check {

inline int& failures() {
  static int count = 0;
  return count;
}

inline void report(const std::string& what, bool ok) {
  if (!ok) ++failures();
  std::printf("%-78s %s\n", what.c_str(), ok ? "ok" : "FAIL");
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Prints `passed` when every check passed, a failure line otherwise; the process's exit status.
inline int finish(const char* passed) {
  std::printf("%s\n", failures() == 0 ? passed : "SOME CHECKS FAILED");
  return failures() == 0 ? 0 : 1;
}

}  // namespace alexnet::check
