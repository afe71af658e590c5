// Walks k = start, start + step, ... over n planes of `plane` elements as (image, at) = (k / plane,
// k % plane) without dividing at each step (a 64-bit division costs dozens of instructions on a
// GPU). Host-callable, so that it is checked against the divisions on a machine without a GPU.
#pragma once

#include <cstddef>

#include "alexnet/random.hpp"  // ALEXNET_HOST_DEVICE

namespace alexnet::cuda::kernels {

struct PlaneWalk {
  size_t plane, image, at, stepImages, stepAt;

  // An empty plane has no elements; it is walked as planes of one so that nothing divides by 0.
  ALEXNET_HOST_DEVICE PlaneWalk(size_t planeSize, size_t start, size_t step)
      : plane(planeSize > 0 ? planeSize : 1),
        image(start / plane),
        at(start % plane),
        stepImages(step / plane),
        stepAt(step % plane) {}

  ALEXNET_HOST_DEVICE void next() {
    image += stepImages;
    at += stepAt;
    if (at >= plane) {  // at and stepAt are below plane, so one subtraction is enough
      at -= plane;
      ++image;
    }
  }
};

}  // namespace alexnet::cuda::kernels
