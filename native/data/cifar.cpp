// CIFAR-10 binary batches (data_batch_1.bin ... data_batch_5.bin, test_batch.bin).
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "alexnet/data/errors.hpp"
#include "alexnet/data/readers.hpp"

namespace alexnet::data {
namespace {
constexpr int kSide = 32;
constexpr size_t kPlane = kSide * kSide;
constexpr size_t kRecord = 1 + 3 * kPlane;
}  // namespace

std::shared_ptr<MemorySource> readCifar10(const std::vector<std::string>& files) {
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;
  std::vector<uint8_t> bytes;
  for (const std::string& path : files) {
    readFile(path, bytes);
    if (bytes.empty() || bytes.size() % kRecord != 0)
      badFile(path, std::to_string(bytes.size()) + " bytes is not a whole number of " + std::to_string(kRecord) +
                        "-byte records (a short or foreign file, not a CIFAR-10 binary batch)");
    const size_t records = bytes.size() / kRecord;
    const size_t base = labels.size();
    pixels.resize((base + records) * 3 * kPlane);
    labels.resize(base + records);
    for (size_t r = 0; r < records; ++r) {
      const uint8_t* record = &bytes[r * kRecord];
      if (record[0] > 9)
        badFile(path, "record " + std::to_string(r) + " has label " + std::to_string(record[0]) +
                          ", expected 0..9 (not a CIFAR-10 batch?)");
      labels[base + r] = record[0];
      // Planes R, G, B -> interleaved rows.
      uint8_t* out = &pixels[(base + r) * 3 * kPlane];
      for (size_t p = 0; p < kPlane; ++p)
        for (int c = 0; c < 3; ++c) out[3 * p + c] = record[1 + c * kPlane + p];
    }
  }
  std::string name = files.empty() ? "cifar-10" : files.front().substr(files.front().find_last_of('/') + 1);
  if (files.size() > 1) name += "+" + std::to_string(files.size() - 1);
  return std::make_shared<MemorySource>(std::move(pixels), std::move(labels), kSide, kSide, 3, name);
}

}  // namespace alexnet::data
