# The system libraries the CPU build needs, each found once here; where one is missing the error
# names the Debian/Ubuntu package that provides it (scripts/install-deps.sh installs them all).
include(${CMAKE_CURRENT_LIST_DIR}/find_onednn.cmake)

# find_package(<name>) that fails naming the package to install.
macro(alexnet_require name debian_package)
  find_package(${name} ${ARGN})
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "alexnet: ${name} not found: apt-get install ${debian_package}   (or: bash scripts/install-deps.sh)")
  endif()
endmacro()

alexnet_require(Threads "libc6-dev")
alexnet_require(OpenMP "g++ (libgomp comes with GCC)")
alexnet_require(PNG "libpng-dev")
alexnet_require(ZLIB "zlib1g-dev")
alexnet_require(JPEG "libjpeg-dev")  # libjpeg-turbo's libjpeg API (libjpeg62-turbo-dev / libjpeg-turbo8-dev)
find_path(TURBOJPEG_INCLUDE_DIR turbojpeg.h)
find_library(TURBOJPEG_LIBRARY NAMES turbojpeg)
if(NOT TURBOJPEG_INCLUDE_DIR OR NOT TURBOJPEG_LIBRARY)
  message(FATAL_ERROR "alexnet: libjpeg-turbo's TurboJPEG API not found: apt-get install libturbojpeg0-dev   (or: bash scripts/install-deps.sh)")
endif()
