#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine (with Node >= 20) needs to build and run alexnet-cudnn:
# a C++ toolchain and CMake, oneDNN (CPU backend), libjpeg-turbo and libpng (input pipeline), and
# the Fashion-MNIST data set. Where an NVIDIA GPU is present (nvidia-smi works) it also installs
# NVIDIA's cuDNN 9 and cuBLAS wheels so that `npm install` builds the CUDA backend (nvcc >= 12 must
# be installed, e.g. at /usr/local/cuda).
set -euo pipefail
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends cmake g++ make python3 python3-pip libdnnl-dev \
  libturbojpeg0-dev libjpeg-dev libpng-dev zlib1g-dev dataset-fashion-mnist
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
  echo "NVIDIA GPU found: installing cuDNN and cuBLAS (pip wheels)"
  python3 -m pip install --user nvidia-cudnn-cu13 nvidia-cublas || \
    python3 -m pip install --break-system-packages --user nvidia-cudnn-cu13 nvidia-cublas
fi
echo "system dependencies installed"
