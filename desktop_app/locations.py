"""Where the data directory is, when the user moved it from the Settings page.

The choice cannot live in the database (the database is inside the data directory), so it is a
small JSON file in the user's configuration folder (``INGLENOOK_CONFIG_DIR`` overrides that
folder, for tests and portable installs). ``INGLENOOK_HOME`` in the environment wins over it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import platformdirs

from engine.errors import InglenookError


def config_file() -> Path:
    folder = os.environ.get("INGLENOOK_CONFIG_DIR") or platformdirs.user_config_dir("inglenook", appauthor=False)
    return Path(folder) / "location.json"


def chosen_data_dir() -> Path | None:
    try:
        value = json.loads(config_file().read_text(encoding="utf-8")).get("data_dir")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(value) if value else None


def apply_chosen_data_dir() -> None:
    """Before any store opens: use the folder chosen in Settings unless INGLENOOK_HOME is set."""
    chosen = chosen_data_dir()
    if chosen is not None and not os.environ.get("INGLENOOK_HOME"):
        os.environ["INGLENOOK_HOME"] = str(chosen)


def check_folder(path: str | Path) -> Path:
    """The folder, created if needed, after checking it can be listed and written; else a clear error."""
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise InglenookError(f"{folder} is a file, not a folder; choose a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.listdir(folder)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".inglenook-check-"):
            pass
    except OSError as exc:
        raise InglenookError(
            f"{folder} cannot be used ({exc.strerror or exc}); choose a folder you can read and write."
        ) from exc
    return folder.resolve()


def choose_data_dir(path: str | Path) -> Path:
    folder = check_folder(path)
    target = config_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"data_dir": str(folder)}), encoding="utf-8")
    except OSError as exc:
        raise InglenookError(f"The choice could not be saved to {target} ({exc.strerror or exc}).") from exc
    return folder
