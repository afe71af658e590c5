// Reads the float32 files oracle_to_f32.py writes, and compares with a tolerance relative to the
// largest reference value (the oracle's own float32 error scale is ~1e-7 of that).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace oracle {

inline std::string& dataDir() {
  static std::string dir = "data";
  return dir;
}

inline std::vector<float> load(const std::string& c, const std::string& t) {
  std::ifstream f(dataDir() + "/" + c + "." + t + ".f32", std::ios::binary | std::ios::ate);
  if (!f) {
    std::printf("missing oracle tensor %s.%s\n", c.c_str(), t.c_str());
    std::exit(2);
  }
  std::vector<float> v(static_cast<size_t>(f.tellg()) / 4);
  f.seekg(0);
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return v;
}

inline std::vector<int> shape(const std::string& c, const std::string& t) {
  std::ifstream f(dataDir() + "/" + c + ".meta");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream words(line);
    std::string name;
    words >> name;
    if (name != t) continue;
    std::vector<int> s;
    for (int d; words >> d;) s.push_back(d);
    return s;
  }
  std::printf("missing oracle tensor %s.%s\n", c.c_str(), t.c_str());
  std::exit(2);
}

inline int& failures() {
  static int count = 0;
  return count;
}

// Passes when max |got - want| <= rel * max |want|.
inline void compare(const std::string& what, const std::vector<float>& got,
                    const std::vector<float>& want, double rel) {
  double maxAbs = 0, err = 0;
  for (float w : want) maxAbs = std::max(maxAbs, static_cast<double>(std::fabs(w)));
  for (size_t i = 0; i < want.size() && i < got.size(); ++i)
    err = std::max(err, std::fabs(static_cast<double>(got[i]) - want[i]));
  if (std::isnan(err)) err = INFINITY;
  const bool ok = got.size() == want.size() && err <= rel * std::max(maxAbs, 1e-30);
  if (!ok) ++failures();
  std::printf("%-48s max err %.3g (%.3g of max %.3g) %s\n", what.c_str(), err,
              maxAbs > 0 ? err / maxAbs : err, maxAbs, ok ? "ok" : "FAIL");
}

}  // namespace oracle
