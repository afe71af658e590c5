# The CUDA backend (native/cuda -> libalexnet_cuda.so), built when nvcc (CUDA >= 12), cuDNN 9 and
# cuBLAS are all found; otherwise one status line says what is missing and the build goes on
# without it. Include from the root CMakeLists.txt after project(). Sets ALEXNET_CUDA_BUILT.
#
# Search order for cuDNN and cuBLAS (docs: ../../shared/DESIGN.md, "Build"):
#   CUDNN_ROOT / CUBLAS_ROOT (cache variable, then environment), the CUDA toolkit, NVIDIA's Python
#   wheels (nvidia-cudnn-cu13, nvidia-cublas: site-packages/nvidia/...), then system paths.
# The wheels ship only versioned libraries (libcudnn.so.9, no libcudnn.so), so the libraries are
# imported by full path: the linker records their SONAME, libcudnn.so.9 and libcublas.so.13.

option(ALEXNET_CUDA "Build the CUDA backend when nvcc, cuDNN and cuBLAS are found" ON)
set(CUDNN_ROOT "" CACHE PATH
    "cuDNN 9 root (include/cudnn.h, lib/libcudnn.so.9); env CUDNN_ROOT also works")
set(CUBLAS_ROOT "" CACHE PATH
    "cuBLAS root (include/cublas_v2.h, lib/libcublas.so.13); env CUBLAS_ROOT also works")
set(ALEXNET_CUDA_BUILT OFF)

set(_alexnet_project_root "${CMAKE_CURRENT_LIST_DIR}/..")
get_filename_component(_alexnet_project_root "${_alexnet_project_root}" ABSOLUTE)

# Finds `header` under <root>/include* and the first of `libnames` under <root>/lib* for the first
# root that has both (so header and library come from the same installation).
function(_alexnet_find_in_roots header libnames out_include out_library)
  foreach(root IN LISTS ARGN)
    if(NOT root OR NOT IS_DIRECTORY "${root}")
      continue()
    endif()
    set(include_dir "")
    foreach(sub include include/x86_64-linux-gnu targets/x86_64-linux/include)
      if(EXISTS "${root}/${sub}/${header}")
        set(include_dir "${root}/${sub}")
        break()
      endif()
    endforeach()
    if(NOT include_dir)
      continue()
    endif()
    foreach(name IN LISTS libnames)
      foreach(sub lib lib64 lib/x86_64-linux-gnu targets/x86_64-linux/lib)
        if(EXISTS "${root}/${sub}/${name}")
          get_filename_component(library "${root}/${sub}/${name}" ABSOLUTE)
          set(${out_include} "${include_dir}" PARENT_SCOPE)
          set(${out_library} "${library}" PARENT_SCOPE)
          return()
        endif()
      endforeach()
    endforeach()
  endforeach()
  set(${out_include} "" PARENT_SCOPE)
  set(${out_library} "" PARENT_SCOPE)
endfunction()

# Directories of the `nvidia` namespace package of every Python we can find: the wheels' home.
function(_alexnet_python_nvidia_dirs out)
  set(pythons "")
  if(Python3_EXECUTABLE)
    list(APPEND pythons "${Python3_EXECUTABLE}")
  endif()
  # (find_program's NO_CACHE needs CMake 3.21; the root asks for 3.18: drop the cache entry.)
  find_program(_alexnet_python3 python3)
  if(_alexnet_python3)
    list(APPEND pythons "${_alexnet_python3}")
  endif()
  unset(_alexnet_python3 CACHE)
  list(APPEND pythons /usr/bin/python3)
  list(REMOVE_DUPLICATES pythons)
  set(dirs "")
  foreach(python IN LISTS pythons)
    if(NOT EXISTS "${python}")
      continue()
    endif()
    execute_process(
      COMMAND "${python}" -c "import nvidia; print(';'.join(nvidia.__path__))"
      OUTPUT_VARIABLE found RESULT_VARIABLE rc ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE
      TIMEOUT 30)
    if(rc EQUAL 0 AND found)
      list(APPEND dirs ${found})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES dirs)
  set(${out} "${dirs}" PARENT_SCOPE)
endfunction()

# Reports what is missing from inside _alexnet_probe_cuda (the pieces are concatenated).
macro(_alexnet_cuda_missing_is)
  string(CONCAT _alexnet_missing_text ${ARGN})
  set(_alexnet_cuda_missing "${_alexnet_missing_text}" PARENT_SCOPE)
endmacro()

# Sets _alexnet_cuda_missing (empty when everything was found) and the paths that were found.
function(_alexnet_probe_cuda)
  set(_alexnet_cuda_missing "" PARENT_SCOPE)

  # nvcc: CMAKE_CUDA_COMPILER, CUDACXX, CUDA_HOME / CUDA_PATH, /usr/local/cuda, then PATH.
  if(CMAKE_CUDA_COMPILER)
    set(nvcc "${CMAKE_CUDA_COMPILER}")
  elseif(DEFINED ENV{CUDACXX} AND EXISTS "$ENV{CUDACXX}")
    set(nvcc "$ENV{CUDACXX}")
  else()
    find_program(_alexnet_nvcc_path nvcc
                 HINTS "$ENV{CUDA_HOME}/bin" "$ENV{CUDA_PATH}/bin" /usr/local/cuda/bin)
    set(nvcc "${_alexnet_nvcc_path}")
    unset(_alexnet_nvcc_path CACHE)
  endif()
  if(CMAKE_CUDA_COMPILER AND NOT EXISTS "${CMAKE_CUDA_COMPILER}")
    _alexnet_cuda_missing_is("CMAKE_CUDA_COMPILER=${CMAKE_CUDA_COMPILER} does not exist")
    return()
  elseif(NOT nvcc OR NOT EXISTS "${nvcc}")
    _alexnet_cuda_missing_is("nvcc not found (set CMAKE_CUDA_COMPILER or install the CUDA "
                             "toolkit at /usr/local/cuda)")
    return()
  endif()
  execute_process(COMMAND "${nvcc}" --version OUTPUT_VARIABLE version_text
                  RESULT_VARIABLE rc ERROR_QUIET TIMEOUT 60)
  if(NOT rc EQUAL 0 OR NOT version_text MATCHES "release ([0-9]+)\\.([0-9]+)")
    _alexnet_cuda_missing_is("${nvcc} --version failed")
    return()
  endif()
  set(cuda_major "${CMAKE_MATCH_1}")
  set(cuda_version "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}")
  if(cuda_major LESS 12)
    _alexnet_cuda_missing_is("CUDA ${cuda_version} at ${nvcc} is older than 12")
    return()
  endif()
  # The toolkit is nvcc's ../; nvcc may also be a wrapper script elsewhere, so ask it.
  get_filename_component(nvcc_real "${nvcc}" REALPATH)
  get_filename_component(toolkit "${nvcc_real}" DIRECTORY)
  get_filename_component(toolkit "${toolkit}" DIRECTORY)
  if(NOT EXISTS "${toolkit}/include/cuda_runtime.h")
    execute_process(COMMAND "${nvcc}" --dryrun -x cu -c /dev/null -o /dev/null
                    OUTPUT_VARIABLE dryrun ERROR_VARIABLE dryrun TIMEOUT 60)
    if(dryrun MATCHES "_HERE_=([^\r\n]+)")
      get_filename_component(toolkit "${CMAKE_MATCH_1}/.." ABSOLUTE)
    endif()
  endif()

  _alexnet_python_nvidia_dirs(wheel_dirs)
  set(cudnn_wheels "")
  set(cublas_wheels "")
  foreach(dir IN LISTS wheel_dirs)
    list(APPEND cudnn_wheels "${dir}/cudnn")
    # CUDA 13 wheels put cuBLAS in nvidia/cu13, CUDA 12 ones in nvidia/cublas.
    list(APPEND cublas_wheels "${dir}/cu${cuda_major}" "${dir}/cublas" "${dir}/cu13" "${dir}/cu12")
  endforeach()
  set(system_roots /usr /usr/local)

  _alexnet_find_in_roots(cudnn.h "libcudnn.so.9" cudnn_include cudnn_library
    "${CUDNN_ROOT}" "$ENV{CUDNN_ROOT}" "${toolkit}" ${cudnn_wheels} ${system_roots})
  if(NOT cudnn_library)
    _alexnet_cuda_missing_is("cuDNN 9 (cudnn.h + libcudnn.so.9) not found in CUDNN_ROOT, "
                             "${toolkit}, Python's nvidia wheels or /usr: "
                             "pip install nvidia-cudnn-cu13, or set CUDNN_ROOT")
    return()
  endif()
  set(cudnn_version_header "${cudnn_include}/cudnn_version.h")
  if(NOT EXISTS "${cudnn_version_header}")
    set(cudnn_version_header "${cudnn_include}/cudnn.h")
  endif()
  file(STRINGS "${cudnn_version_header}" cudnn_defines
       REGEX "#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) ")
  string(REGEX REPLACE ".*#define CUDNN_MAJOR ([0-9]+).*" "\\1" cudnn_major "${cudnn_defines}")
  string(REGEX REPLACE ".*#define CUDNN_MINOR ([0-9]+).*" "\\1" cudnn_minor "${cudnn_defines}")
  string(REGEX REPLACE ".*#define CUDNN_PATCHLEVEL ([0-9]+).*" "\\1" cudnn_patch "${cudnn_defines}")
  if(NOT cudnn_major STREQUAL "9")
    _alexnet_cuda_missing_is("cuDNN at ${cudnn_include} is version ${cudnn_major}, not 9")
    return()
  endif()

  # The cuBLAS of the toolkit's major version first: it matches the runtime we link statically.
  set(cublas_names "libcublas.so.${cuda_major}")
  foreach(major 13 12)
    if(NOT major EQUAL cuda_major)
      list(APPEND cublas_names "libcublas.so.${major}")
    endif()
  endforeach()
  _alexnet_find_in_roots(cublas_v2.h "${cublas_names}" cublas_include cublas_library
    "${CUBLAS_ROOT}" "$ENV{CUBLAS_ROOT}" "${toolkit}" ${cublas_wheels} ${system_roots})
  if(NOT cublas_library)
    _alexnet_cuda_missing_is("cuBLAS (cublas_v2.h + libcublas.so.${cuda_major}) not found in "
                             "CUBLAS_ROOT, ${toolkit}, Python's nvidia wheels or /usr: "
                             "pip install nvidia-cublas, or set CUBLAS_ROOT")
    return()
  endif()

  set(_alexnet_nvcc "${nvcc}" PARENT_SCOPE)
  set(_alexnet_cuda_version "${cuda_version}" PARENT_SCOPE)
  set(_alexnet_cudnn_include "${cudnn_include}" PARENT_SCOPE)
  set(_alexnet_cudnn_library "${cudnn_library}" PARENT_SCOPE)
  set(_alexnet_cudnn_version "${cudnn_major}.${cudnn_minor}.${cudnn_patch}" PARENT_SCOPE)
  set(_alexnet_cublas_include "${cublas_include}" PARENT_SCOPE)
  set(_alexnet_cublas_library "${cublas_library}" PARENT_SCOPE)
endfunction()

if(NOT ALEXNET_CUDA)
  message(STATUS "alexnet: CUDA backend not built: ALEXNET_CUDA is OFF")
else()
  _alexnet_probe_cuda()
  if(NOT _alexnet_cuda_missing AND NOT CMAKE_CUDA_COMPILER)
    # Prove nvcc works with this host compiler before enable_language(), which would stop the
    # whole configure on failure. check_language() runs once; its result is cached.
    include(CheckLanguage)
    set(ENV{CUDACXX} "${_alexnet_nvcc}")
    check_language(CUDA)
    if(NOT CMAKE_CUDA_COMPILER)
      set(_alexnet_cuda_missing
          "${_alexnet_nvcc} cannot build a test program with this host compiler")
    endif()
  endif()
  if(_alexnet_cuda_missing)
    message(STATUS "alexnet: CUDA backend not built: ${_alexnet_cuda_missing}")
  else()
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80-real 90-real 90-virtual)
    endif()
    enable_language(CUDA)

    foreach(lib cudnn cublas)
      if(NOT TARGET alexnet_${lib})
        add_library(alexnet_${lib} SHARED IMPORTED GLOBAL)
      endif()
      set_target_properties(alexnet_${lib} PROPERTIES
        IMPORTED_LOCATION "${_alexnet_${lib}_library}"
        INTERFACE_INCLUDE_DIRECTORIES "${_alexnet_${lib}_include}")
    endforeach()
    get_filename_component(ALEXNET_CUDNN_LIBRARY_DIR "${_alexnet_cudnn_library}" DIRECTORY)
    get_filename_component(ALEXNET_CUBLAS_LIBRARY_DIR "${_alexnet_cublas_library}" DIRECTORY)

    add_subdirectory("${_alexnet_project_root}/native/cuda" "${CMAKE_BINARY_DIR}/native/cuda")
    set(ALEXNET_CUDA_BUILT ON)
    message(STATUS "alexnet: CUDA backend built (CUDA ${_alexnet_cuda_version}, cuDNN "
                   "${_alexnet_cudnn_version} at ${ALEXNET_CUDNN_LIBRARY_DIR}, cuBLAS at "
                   "${ALEXNET_CUBLAS_LIBRARY_DIR})")
  endif()
endif()
