// Readers for the fixed-size data sets, into memory: IDX (MNIST / Fashion-MNIST, gzip or plain)
// and CIFAR-10 binary batches.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "alexnet/data/source.hpp"

namespace alexnet::data {

// An IDX image file ([count, rows, cols] uint8, magic 0x00000803) and its label file ([count]
// uint8, magic 0x00000801). gzip-compressed or plain. One channel. A label >= numClasses is
// BAD_FILE naming the label file and the image: one corrupt byte must not add classes.
std::shared_ptr<MemorySource> readIdx(const std::string& imagesPath, const std::string& labelsPath, int numClasses);

// CIFAR-10 binary batches: records of 1 label byte (0..9) and 3072 bytes of 32x32 R, G, B planes.
std::shared_ptr<MemorySource> readCifar10(const std::vector<std::string>& files);

}  // namespace alexnet::data
