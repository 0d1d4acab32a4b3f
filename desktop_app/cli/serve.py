"""`nook serve`: its options (the server itself is ``desktop_app.server``, imported only when it runs)."""

from __future__ import annotations

import argparse
import os

from desktop_app.cli.common import add_load_args
from desktop_app.server.limits import DEFAULT_MAX_BODY_MB, DEFAULT_MAX_QUEUE, DEFAULT_MAX_TOKENS, DEFAULT_PORT


def add_serve_parser(sub) -> None:
    serve = sub.add_parser("serve", help="serve the model over an OpenAI-compatible HTTP API")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; any other needs --api-key)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    serve.add_argument("--api-key", default=os.environ.get("INGLENOOK_API_KEY") or None,
                       help="require 'Authorization: Bearer KEY' (or set INGLENOOK_API_KEY)")
    serve.add_argument("--max-queue", type=int, default=DEFAULT_MAX_QUEUE,
                       help=f"requests that may wait for the model before new ones get 503 (default {DEFAULT_MAX_QUEUE})")
    serve.add_argument("--max-body-mb", type=float, default=DEFAULT_MAX_BODY_MB,
                       help=f"largest request body in MB; larger ones get 413 (default {DEFAULT_MAX_BODY_MB:g})")
    serve.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS,
                       help=f"reply length when a request sets none (default {DEFAULT_MAX_TOKENS})")
    add_load_args(serve)


def run_serve(args: argparse.Namespace) -> int:
    from desktop_app.server.run import run_serve as serve

    return serve(args)
