"""Where Inglenook keeps its files.

The data directory follows XDG (``$XDG_DATA_HOME/inglenook``, via platformdirs on other systems)
and can be moved with ``INGLENOOK_HOME`` — tests and portable installs use that.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "inglenook"


def data_dir() -> Path:
    """The user's data directory, created on first use."""
    override = os.environ.get("INGLENOOK_HOME")
    path = Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """Where downloaded models live."""
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_path() -> Path:
    """The SQLite file with settings and chat history."""
    return data_dir() / "inglenook.db"


def resources_dir() -> Path:
    """The shipped ``resources/`` folder (presets, styles, translations, icons)."""
    override = os.environ.get("INGLENOOK_RESOURCES")
    if override:
        return Path(override)
    import importlib.resources

    # a real folder in both a wheel and an editable install (package-dir maps it to resources/)
    return Path(str(importlib.resources.files("inglenook_resources")))
