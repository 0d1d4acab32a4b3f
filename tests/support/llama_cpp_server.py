"""Run llama-cpp-python's own OpenAI-compatible server (``python -m llama_cpp.server``) on this project's
portable llama.cpp build.

The portable build keeps each CPU variant in its own backend library, which llama-cpp-python does not load
by itself; ``engine.llama_native.modules()`` loads the best one first, then the server runs unchanged.
Usage: ``python -m tests.support.llama_cpp_server --model PATH --port P [server options]``.
"""

from __future__ import annotations

import runpy
import sys

if __name__ == "__main__":
    from engine import llama_native

    llama_native.modules()
    sys.argv = ["llama_cpp.server", *sys.argv[1:]]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
