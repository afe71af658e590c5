// The public C++ API of the AlexNet native core: include this and link alexnet_core.
#pragma once

#include "alexnet/backend.hpp"
#include "alexnet/crop.hpp"
#include "alexnet/device.hpp"
#include "alexnet/distributed.hpp"
#include "alexnet/error.hpp"
#include "alexnet/ops.hpp"
#include "alexnet/random.hpp"
#include "alexnet/tensor.hpp"
