# The NCCL transport (native/nccl -> libalexnet_nccl.so), built when the CUDA backend is built and
# NCCL (nccl.h + libnccl.so.2) is found: NCCL_ROOT, the CUDA toolkit, NVIDIA's Python wheel
# (pip install nvidia-nccl-cu13: site-packages/nvidia/nccl), then /usr. Include after
# cmake/cuda_backend.cmake. Sets ALEXNET_NCCL_BUILT.
option(ALEXNET_NCCL "Build the NCCL transport module when the CUDA backend is built and NCCL is found" ON)
set(NCCL_ROOT "" CACHE PATH "NCCL root (include/nccl.h, lib/libnccl.so.2); env NCCL_ROOT also works")
set(ALEXNET_NCCL_BUILT OFF)
if(NOT ALEXNET_NCCL)
  message(STATUS "alexnet: NCCL module not built: ALEXNET_NCCL is OFF")
elseif(NOT ALEXNET_CUDA_BUILT)
  message(STATUS "alexnet: NCCL module not built: the CUDA backend is not built")
else()
  _alexnet_python_nvidia_dirs(_alexnet_nccl_wheels)
  list(TRANSFORM _alexnet_nccl_wheels APPEND "/nccl")
  find_package(CUDAToolkit QUIET)
  _alexnet_find_in_roots(nccl.h "libnccl.so.2" ALEXNET_NCCL_INCLUDE_DIR _alexnet_nccl_library
    "${NCCL_ROOT}" "$ENV{NCCL_ROOT}" "${CUDAToolkit_LIBRARY_ROOT}" ${_alexnet_nccl_wheels} /usr /usr/local)
  if(NOT _alexnet_nccl_library)
    message(STATUS "alexnet: NCCL module not built: nccl.h + libnccl.so.2 not found in NCCL_ROOT, the CUDA "
                   "toolkit, Python's nvidia wheels or /usr (pip install nvidia-nccl-cu13, or set NCCL_ROOT)")
  elseif(NOT TARGET CUDA::cudart_static)
    message(STATUS "alexnet: NCCL module not built: CMake's CUDAToolkit has no static CUDA runtime")
  else()
    if(NOT TARGET alexnet_nccl_library)
      add_library(alexnet_nccl_library SHARED IMPORTED GLOBAL)
    endif()
    set_target_properties(alexnet_nccl_library PROPERTIES IMPORTED_LOCATION "${_alexnet_nccl_library}")
    get_filename_component(ALEXNET_NCCL_LIBRARY_DIR "${_alexnet_nccl_library}" DIRECTORY)
    add_subdirectory(${CMAKE_CURRENT_LIST_DIR}/../native/nccl ${CMAKE_BINARY_DIR}/native/nccl)
    set(ALEXNET_NCCL_BUILT ON)
    message(STATUS "alexnet: NCCL module built (NCCL at ${ALEXNET_NCCL_LIBRARY_DIR})")
  endif()
endif()
