// Lazy loading of the MPI transport module (libalexnet_mpi.so): the addon never links libmpi, so
// it loads where MPI is absent; forming a group of more than one process loads the module, and
// failure becomes an MPI_UNAVAILABLE error saying why and how to install MPI.
#pragma once

#include <memory>
#include <string>

#include "alexnet/distributed.hpp"

namespace alexnet::mpi_loader {

// Initialises MPI and returns its communicator; throws Error MPI_UNAVAILABLE or MPI_ERROR.
std::unique_ptr<dist::Communicator> create(double timeoutSeconds);
// "Open MPI v4.1.4" or why the module is unusable.
std::string status();

}  // namespace alexnet::mpi_loader
