"""Collect the window's strings into resources/translations/*.ts and compile them into .qm files.

    .venv/bin/python scripts/build_translations.py           # update the .ts files, then compile
    .venv/bin/python scripts/build_translations.py --check   # also fail if a string is untranslated

Uses ``pyside6-lupdate`` and ``pyside6-lrelease``, which ship with PySide6-Essentials. lupdate
keeps existing translations and adds new strings as unfinished; translate them in the .ts (by
hand or with Qt Linguist, ``pyside6-linguist``), then run this again. The .qm files are committed,
so the app needs neither tool at run time.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "desktop_app").glob("*.py"))
TRANSLATIONS = ROOT / "resources" / "translations"
LANGUAGES = ("zh_CN",)


def tool(name: str) -> str:
    for candidate in (Path(sys.executable).parent / name, shutil.which(name)):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise SystemExit(f"{name} not found: install PySide6-Essentials (it ships {name}).")


def unfinished(ts_file: Path) -> list[str]:
    """Source strings of ``ts_file`` that have no finished translation."""
    missing = []
    for message in ET.parse(ts_file).getroot().iter("message"):
        translation = message.find("translation")
        if translation is None or translation.get("type") in ("unfinished", "vanished", "obsolete") \
                or not (translation.text or "").strip():
            if translation is not None and translation.get("type") in ("vanished", "obsolete"):
                continue
            missing.append(message.findtext("source") or "")
    return missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a string is untranslated")
    args = parser.parse_args()
    TRANSLATIONS.mkdir(parents=True, exist_ok=True)
    status = 0
    for language in LANGUAGES:
        ts_file = TRANSLATIONS / f"inglenook_{language}.ts"
        subprocess.run([tool("pyside6-lupdate"), *SOURCES, "-no-obsolete", "-locations", "none",
                        "-target-language", language, "-ts", str(ts_file)], cwd=ROOT, check=True)
        subprocess.run([tool("pyside6-lrelease"), str(ts_file), "-qm", str(ts_file.with_suffix(".qm"))],
                       cwd=ROOT, check=True)
        missing = unfinished(ts_file)
        if missing:
            print(f"{ts_file.name}: {len(missing)} untranslated string(s):", *missing, sep="\n  ", file=sys.stderr)
            status = 1 if args.check else status
    return status


if __name__ == "__main__":
    sys.exit(main())
