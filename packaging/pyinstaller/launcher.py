"""Entry point of the packaged app: the same subcommands as `nook`; no subcommand opens the window.

When frozen, ``sys.executable`` is this program, not a Python interpreter, so code that starts a
child with ``sys.executable -m some.module`` (``nook doctor``'s canary reply runs
``engine.canary`` that way) reaches this launcher. ``-m MODULE ARGS...`` therefore runs that
module as ``__main__``, the way ``python -m`` would; everything else goes to the `nook` command.
"""

from __future__ import annotations

import multiprocessing
import runpy
import sys


def _run() -> int:
    multiprocessing.freeze_support()
    if len(sys.argv) >= 3 and sys.argv[1] == "-m":
        module = sys.argv[2]
        sys.argv = [sys.argv[0], *sys.argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    from desktop_app.cli import main

    return main()


if __name__ == "__main__":
    sys.exit(_run())
