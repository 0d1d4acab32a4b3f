#!/usr/bin/env bash
# Adds Inglenook (this unpacked folder) to your desktop's application menu, for you only:
# ~/.local/share/applications/inglenook.desktop and the icon under ~/.local/share/icons.
# Run it again after moving the folder; `--remove` takes the entry away. Nothing needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data="${XDG_DATA_HOME:-$HOME/.local/share}"
apps="$data/applications"
icons="$data/icons/hicolor/scalable/apps"
if [ "${1:-}" = "--remove" ]; then
    rm -f "$apps/inglenook.desktop" "$icons/inglenook.svg"
    echo "Removed Inglenook's menu entry."
    exit 0
fi
mkdir -p "$apps" "$icons"
cp "$here/inglenook.svg" "$icons/inglenook.svg"
# Exec points at this folder, quoted as the Desktop Entry spec wants (\\ " ` $ escaped twice)
exe=$(printf '%s' "$here/inglenook" | sed -e 's/\\/\\\\\\\\/g' -e 's/["`$]/\\\\&/g')
while IFS= read -r line; do
    case $line in
        Exec=*) printf 'Exec="%s"\n' "$exe" ;;
        *) printf '%s\n' "$line" ;;
    esac
done < "$here/inglenook.desktop" > "$apps/inglenook.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$apps" 2>/dev/null || true
echo "Inglenook is in your application menu ($apps/inglenook.desktop). From a terminal: $here/inglenook --help"
