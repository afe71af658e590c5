# oneDNN 2.x for the CPU backend, as the imported target DNNL::dnnl.
#
# Found by its header and library rather than through oneDNN's own CMake package: Debian's
# dnnl-config.cmake runs find_package(OpenCL REQUIRED) because the library was built with an OpenCL
# GPU runtime, so it fails without ocl-icd-opencl-dev (which libdnnl-dev only recommends), although
# the CPU backend never uses OpenCL. The run-time libOpenCL.so.1 that libdnnl.so.2 links is a hard
# dependency of Debian's libdnnl2 and comes with it.
#
# Search: DNNL_ROOT (cache variable, then environment), then the system paths.
set(DNNL_ROOT "" CACHE PATH "oneDNN 2.x root (include/oneapi/dnnl/dnnl.hpp, lib/libdnnl.so); env DNNL_ROOT also works")
set(_dnnl_hints ${DNNL_ROOT} $ENV{DNNL_ROOT})

find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp HINTS ${_dnnl_hints} PATH_SUFFIXES include)
find_library(DNNL_LIBRARY NAMES dnnl HINTS ${_dnnl_hints} PATH_SUFFIXES lib lib64 lib/x86_64-linux-gnu)
if(NOT DNNL_INCLUDE_DIR OR NOT DNNL_LIBRARY)
  message(FATAL_ERROR
    "alexnet: oneDNN (the CPU backend) not found: no oneapi/dnnl/dnnl.hpp or libdnnl.so.\n"
    "  Debian/Ubuntu: apt-get install libdnnl-dev   (or: bash scripts/install-deps.sh)\n"
    "  Elsewhere: set DNNL_ROOT to a oneDNN 2.x installation.")
endif()

file(STRINGS "${DNNL_INCLUDE_DIR}/oneapi/dnnl/dnnl_version.h" _dnnl_version_lines
     REGEX "^#define DNNL_VERSION_(MAJOR|MINOR|PATCH) +[0-9]+")
foreach(_part MAJOR MINOR PATCH)
  string(REGEX REPLACE ".*#define DNNL_VERSION_${_part} +([0-9]+).*" "\\1" DNNL_VERSION_${_part} "${_dnnl_version_lines}")
endforeach()
set(dnnl_VERSION "${DNNL_VERSION_MAJOR}.${DNNL_VERSION_MINOR}.${DNNL_VERSION_PATCH}")
# The backend uses the 2.x API (primitive descriptors built from ::desc objects); 3.0 removed it.
if(NOT DNNL_VERSION_MAJOR EQUAL 2)
  message(FATAL_ERROR "alexnet: oneDNN ${dnnl_VERSION} at ${DNNL_INCLUDE_DIR}: the CPU backend needs oneDNN 2.x "
                      "(Debian 12's libdnnl-dev is 2.6); set DNNL_ROOT to a 2.x installation.")
endif()

if(NOT TARGET DNNL::dnnl)
  add_library(DNNL::dnnl SHARED IMPORTED)
  set_target_properties(DNNL::dnnl PROPERTIES
    IMPORTED_LOCATION "${DNNL_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${DNNL_INCLUDE_DIR}")
endif()
