"""The engine process: llama.cpp runs in a supervised child, so a native crash costs a restart, not the window."""

from __future__ import annotations

import os


def create_model_host():
    """The app's owner of the model: a supervised engine process (``EngineProcess``).

    ``INGLENOOK_IN_PROCESS=1`` keeps the model in this process instead (``engine.host.ModelHost``:
    the same calls, for debugging with native tools); a native crash then ends the app.
    """
    if os.environ.get("INGLENOOK_IN_PROCESS") == "1":
        from engine.host import ModelHost

        return ModelHost()
    from engine.process.supervisor import EngineProcess

    return EngineProcess()
