"""``KeyringStandIn``: a stand-in for the OS keyring, for tests only.

No real keyring can run on the test machines (the Secret Service needs a D-Bus session and an
unlocked login keyring). This is a backend of the real ``keyring`` package, chosen the way a user
would choose one (``PYTHON_KEYRING_BACKEND``), so the code under test is the shipped code path. It
keeps the secrets in the JSON file named by ``INGLENOOK_KEYRING_STANDIN``, so that the test, and the
``nook`` processes it starts, see the same ones.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

FILE_VARIABLE = "INGLENOOK_KEYRING_STANDIN"


def standin_env(path: Path) -> dict[str, str]:
    """The environment that makes ``nook`` (and this process's ``keyring``) use the stand-in at ``path``."""
    root = str(Path(__file__).resolve().parents[2])
    return {"PYTHON_KEYRING_BACKEND": f"{__name__}.KeyringStandIn", FILE_VARIABLE: str(path),
            "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}


def kept(path: Path) -> dict[str, dict[str, str]]:
    return json.loads(path.read_text()) if path.exists() else {}


class KeyringStandIn(KeyringBackend):
    """A stand-in for the OS keyring (see the module docstring); never used outside tests."""

    priority = 1

    @property
    def _path(self) -> Path:
        return Path(os.environ[FILE_VARIABLE])

    def get_password(self, service: str, username: str) -> str | None:
        return kept(self._path).get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        secrets = kept(self._path)
        secrets.setdefault(service, {})[username] = password
        self._path.write_text(json.dumps(secrets))

    def delete_password(self, service: str, username: str) -> None:
        secrets = kept(self._path)
        if username not in secrets.get(service, {}):
            raise PasswordDeleteError(f"nothing kept for {service}/{username}")
        del secrets[service][username]
        self._path.write_text(json.dumps(secrets))
