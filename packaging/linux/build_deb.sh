#!/usr/bin/env bash
# Builds the .deb from the finished one-folder bundle (called by scripts/package.sh):
#   bash packaging/linux/build_deb.sh BUNDLE_DIR VERSION ICON_DIR OUT_DIR      -> prints the .deb's path
# Layout: the folder in /opt/inglenook, /usr/bin/inglenook -> /opt/inglenook/inglenook, the menu entry
# in /usr/share/applications and the icon in /usr/share/icons/hicolor (SVG and PNG sizes).
# INGLENOOK_DEB_COMPRESSION: xz (default), gzip, zstd or none.
set -euo pipefail
bundle=$1 version=$2 icons=$3 out=$4
here=$(cd "$(dirname "$0")" && pwd)
deb_arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/inglenook"
mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
    "$root/usr/share/icons/hicolor/scalable/apps" "$root/usr/share/doc/inglenook"
cp -a "$bundle" "$root/opt/inglenook"
# the folder's own helper is for the tar.gz; the package installs the entry system-wide instead
rm -f "$root/opt/inglenook/install-desktop-entry.sh"
ln -s /opt/inglenook/inglenook "$root/usr/bin/inglenook"
cp "$here/inglenook.desktop" "$root/usr/share/applications/inglenook.desktop"
cp "$here/../inglenook.svg" "$root/usr/share/icons/hicolor/scalable/apps/inglenook.svg"
for png in "$icons"/inglenook-*.png; do
    size=$(basename "$png" .png); size=${size#inglenook-}
    mkdir -p "$root/usr/share/icons/hicolor/${size}x${size}/apps"
    cp "$png" "$root/usr/share/icons/hicolor/${size}x${size}/apps/inglenook.png"
done
cat > "$root/usr/share/doc/inglenook/copyright" <<'COPY'
Inglenook is licensed under the Apache License 2.0 (/usr/share/common-licenses/Apache-2.0).
/opt/inglenook bundles Python, Qt (PySide6, LGPLv3), llama.cpp (MIT), onnxruntime (MIT), LanceDB
(Apache-2.0) and other libraries under their own licences, and two models: SmolLM2-135M-Instruct
(Apache-2.0) and all-MiniLM-L6-v2 (Apache-2.0).
COPY
find "$root" -type d -exec chmod 0755 {} +
installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
# The newest glibc symbol version any bundled binary asks for is the package's floor (a bundle built
# on Debian 12 needs glibc 2.36; build on an older system for older targets).
glibc=$(find "$bundle" -type f \( -name '*.so*' -o -name inglenook \) -print0 2>/dev/null \
    | xargs -0 objdump -T 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -u -V | tail -n 1 || true)
glibc=${glibc:-2.28}
# What the bundle takes from the system (measured: ldd over every bundled library with the bundle's
# own folders first): glibc, libxcb, EGL/GL (glvnd), plus fontconfig's configuration and a font.
# Everything else (Qt, the xcb extension libraries, glib, fontconfig, freetype, D-Bus, libstdc++) is inside.
cat > "$root/DEBIAN/control" <<CONTROL
Package: inglenook
Version: $version
Section: utils
Priority: optional
Architecture: $deb_arch
Maintainer: Inglenook developers <inglenook@localhost>
Installed-Size: $installed_kb
Depends: libc6 (>= $glibc), libxcb1, libegl1, libgl1, fontconfig-config,
 fonts-dejavu-core | fonts-noto-core | fonts-liberation2
Recommends: fonts-noto-cjk, xdg-utils
Description: private, on-device AI for your own files
 Chat with local GGUF models through llama.cpp and ask questions about your folders with answers
 that cite file and page, offline. Ships with SmolLM2-135M-Instruct and an int8 MiniLM embedder;
 "inglenook" opens the window; "inglenook ask QUESTION" and the other nook subcommands work in a
 terminal. LoRA training (the Python "train" extra) is not included in this package.
CONTROL
cat > "$root/DEBIAN/postinst" <<'POST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q /usr/share/applications || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
fi
exit 0
POST
cp "$root/DEBIAN/postinst" "$root/DEBIAN/postrm"
sed -i 's/\[ "$1" = configure \]/[ "$1" = remove ] || [ "$1" = purge ]/' "$root/DEBIAN/postrm"
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/postrm"
mkdir -p "$out"
deb="$out/inglenook_${version}_${deb_arch}.deb"
# xz (default) gives the smallest download but takes minutes of CPU on 2 cores; INGLENOOK_DEB_COMPRESSION=gzip
# (or zstd: Debian 12 / Ubuntu 21.10 and later) builds faster and larger.
compression="${INGLENOOK_DEB_COMPRESSION:-xz}"
dpkg-deb --root-owner-group "-Z$compression" --threads-max="$(nproc)" --build "$root" "$deb" >&2
echo "$deb"
