# The CPU-only addon through node-gyp (the main build is cmake-js, see CMakeLists.txt):
#   npx node-gyp rebuild --nodedir=/usr
# It compiles the same core, CPU backend, data pipeline and bindings; no CUDA backend.
{
  "targets": [
    {
      "target_name": "alexnet",
      "sources": [
        "<!@(ls -1 native/core/*.cpp)",
        "<!@(ls -1 native/cpu/*.cpp)",
        "<!@(ls -1 native/data/*.cpp)",
        "<!@(ls -1 native/addon/*.cpp)"
      ],
      "include_dirs": [
        "native/include",
        "native/cpu",
        "native/data",
        "native/data/include",
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "ALEXNET_HAVE_DATA=1"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++1y"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-fopenmp", "-O3", "-ffp-contract=off", "-fno-math-errno"],
      "ldflags": ["-Wl,-z,nodelete"],
      "libraries": ["-ldnnl", "-fopenmp", "-ldl", "-lpthread", "-lturbojpeg", "-ljpeg", "-lpng", "-lz"]
    }
  ]
}
