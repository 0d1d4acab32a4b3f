#!/usr/bin/env bash
# Builds the portable llama.cpp runtime (llama-cpp-python) once per build configuration and keeps
# the wheel in a cache keyed on version + CMake flags. pip's own wheel cache does not key on
# CMAKE_ARGS, so a native wheel built once would silently be reused; this cache cannot confuse them.
#
# Portable = built the way llama.cpp's releases are: GGML_NATIVE=OFF, every x86 CPU variant
# compiled as a loadable backend (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS); engine/runtimes/llama_native.py
# chooses the best variant this CPU runs at start-up, never an AMX one unless it is proven to work.
# Prints the wheel's path as its last line.
set -euo pipefail

version="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
cmake_args="${INGLENOOK_CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DLLAVA_BUILD=OFF}"
python="${PYTHON:-python3}"

key=$(printf '%s|%s|%s' "$version" "$cmake_args" "$(uname -m)" | sha256sum | cut -c1-16)
cache="${INGLENOOK_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/inglenook/wheels}/$key"
wheel=$(ls "$cache"/llama_cpp_python-"$version"-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
    echo "Building llama-cpp-python $version ($cmake_args; the portable build takes ~13 minutes on 2 cores)..." >&2
    mkdir -p "$cache"
    tmp=$(mktemp -d)
    CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
        "$python" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-cache-dir \
        --no-binary llama-cpp-python "llama-cpp-python==$version" -w "$tmp" >&2
    mv "$tmp"/llama_cpp_python-*.whl "$cache"/
    rm -rf "$tmp"
    printf '%s\n' "$cmake_args" > "$cache/CMAKE_ARGS"
    wheel=$(ls "$cache"/llama_cpp_python-"$version"-*.whl | head -n 1)
fi
echo "$wheel"
