// Data parallelism from C++ without Node: every rank holds a gradient-like tensor, and the process
// group averages it over the ranks on the device's stream. Run with Open MPI:
//   mpirun -n 2 ./alexnet_example_allreduce        (alone it is a group of one)
#include <cstdio>
#include <vector>

#include "alexnet/alexnet.hpp"

int main() {
  try {
    auto group = alexnet::dist::ProcessGroup::fromEnvironment();
    alexnet::Device& cpu = alexnet::Device::get("cpu");
    // Rank r holds [r + 1, 10 (r + 1)]: the mean over N ranks is [(N + 1) / 2, 5 (N + 1)].
    const float r = static_cast<float>(group->rank() + 1);
    std::vector<float> values = {r, 10 * r};
    alexnet::Tensor t = alexnet::Tensor::fromHost(cpu, values.data(), {2});
    auto reduction = group->allReduce({t}, alexnet::dist::ReduceOp::Mean);
    reduction->wait();  // queued: the download below sees the mean
    t.toHost(values.data());
    group->barrier().get();
    std::printf("rank %d of %d (%s): mean [%g, %g]\n", group->rank(), group->size(),
                group->transport(alexnet::DeviceKind::Cpu).c_str(), values[0], values[1]);
    return 0;
  } catch (const alexnet::Error& e) {
    std::fprintf(stderr, "%s [%s]\n%s\n", e.what(), e.code().c_str(), e.hint().c_str());
    return 1;
  }
}
