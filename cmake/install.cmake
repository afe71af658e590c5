# The C++ package: `cmake --install <build> --prefix <dir>` installs
#   include/alexnet/*.hpp                    the public API (native/include)
#   lib/libalexnet_core.a, libalexnet_cpu.a  the core and its CPU backend (static)
#   lib/libalexnet_cuda.so                   the CUDA backend module, where it was built
#   lib/libalexnet_mpi.so, libalexnet_nccl.so the transports of data parallelism, where built
#   lib/cmake/AlexNet/                       find_package(AlexNet CONFIG) -> target AlexNet::core
#   lib/pkgconfig/alexnet.pc                 pkg-config --cflags --libs alexnet
# A program finds the CUDA module beside its executable, or where ALEXNET_CUDA_MODULE points.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ALEXNET_VERSION 0.1.0)
set(_alexnet_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/AlexNet)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/native/include/alexnet DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS alexnet_core alexnet_cpu EXPORT AlexNetTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set_target_properties(alexnet_core PROPERTIES EXPORT_NAME core)
set_target_properties(alexnet_cpu PROPERTIES EXPORT_NAME cpu)
install(EXPORT AlexNetTargets NAMESPACE AlexNet:: DESTINATION ${_alexnet_cmake_dir})
foreach(module alexnet_cuda alexnet_mpi alexnet_nccl)
  if(TARGET ${module})
    install(TARGETS ${module} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  endif()
endforeach()

# The config re-finds what the static libraries link: oneDNN (by the same finder as this build,
# which avoids Debian's OpenCL-requiring oneDNN package), OpenMP and threads.
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/AlexNetConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/AlexNetConfig.cmake INSTALL_DESTINATION ${_alexnet_cmake_dir})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/AlexNetConfigVersion.cmake
  VERSION ${ALEXNET_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/AlexNetConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/AlexNetConfigVersion.cmake
              ${CMAKE_CURRENT_LIST_DIR}/find_onednn.cmake
        DESTINATION ${_alexnet_cmake_dir})

configure_file(${CMAKE_CURRENT_LIST_DIR}/alexnet.pc.in ${CMAKE_CURRENT_BINARY_DIR}/alexnet.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/alexnet.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
