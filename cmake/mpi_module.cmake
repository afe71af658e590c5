# The MPI transport (native/mpi -> libalexnet_mpi.so), built when an MPI C library is found
# (Debian/Ubuntu: libopenmpi-dev); otherwise one status line says so and the build goes on without
# it: the addon then forms only groups of one process, and a group of more reports MPI_UNAVAILABLE.
# Include from the root CMakeLists.txt after project(). Sets ALEXNET_MPI_BUILT.
option(ALEXNET_MPI "Build the MPI transport module when MPI is found" ON)
set(ALEXNET_MPI_BUILT OFF)
if(NOT ALEXNET_MPI)
  message(STATUS "alexnet: MPI module not built: ALEXNET_MPI is OFF")
else()
  find_package(MPI COMPONENTS C QUIET)
  if(NOT MPI_C_FOUND)
    message(STATUS "alexnet: MPI module not built: no MPI C library found (apt install libopenmpi-dev)")
  else()
    add_subdirectory(${CMAKE_CURRENT_LIST_DIR}/../native/mpi ${CMAKE_BINARY_DIR}/native/mpi)
    set(ALEXNET_MPI_BUILT ON)
    message(STATUS "alexnet: MPI module built (MPI ${MPI_C_VERSION}, ${MPI_C_LIBRARIES})")
  endif()
endif()
