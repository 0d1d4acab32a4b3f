"""`nook serve`: load the model, then serve the API with uvicorn until Ctrl-C."""

from __future__ import annotations

import argparse
import ipaddress
import sys

from engine.errors import InglenookError


class ServeError(InglenookError):
    """The server cannot start as asked (an unsafe address without a key, a port in use...)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_exposure(host: str, api_key: str | None) -> None:
    if not is_loopback(host) and not api_key:
        raise ServeError(
            f"Listening on {host} would let other machines use the model without asking. Pass --api-key KEY "
            "(or set INGLENOOK_API_KEY) to require a key, or keep the default --host 127.0.0.1."
        )
    if api_key is not None and len(api_key) < 8:
        raise ServeError("The API key is too short; use at least 8 characters (e.g. `openssl rand -hex 16`).")


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from desktop_app.cli.common import Context
    from desktop_app.server.app import ServerConfig, create_app
    from desktop_app.server.replies import ReplyService
    from knowledge.embeddings import DEFAULT_EMBEDDER, get_embedder
    from knowledge.library import Library

    check_exposure(args.host, args.api_key)
    if not 0 <= args.port <= 65535 or args.max_queue < 0 or args.max_body_mb <= 0 or args.max_tokens < 1:
        raise ServeError("--port must be 0-65535, --max-queue >= 0, --max-body-mb > 0 and --max-tokens >= 1.")
    ctx = Context.open()
    library = Library()
    try:
        entry = ctx.load_model(args)
        embedder = get_embedder()
        names = list(dict.fromkeys([entry.name, ctx.host.loaded.name, entry.path.stem, entry.path.name]))
        config = ServerConfig(model_names=names, embedding_names=[embedder.spec.name, DEFAULT_EMBEDDER],
                              embedder=lambda: embedder, api_key=args.api_key,
                              max_body_bytes=int(args.max_body_mb * 1024 * 1024), max_queue=args.max_queue,
                              default_max_tokens=args.max_tokens)
        service = ReplyService(ctx.host, ctx.store, library, max_queue=args.max_queue)
        app = create_app(service, config)
        shown = f"[{args.host}]" if ":" in args.host else args.host
        print(f"Serving {entry.name} at http://{shown}:{args.port}/v1 (Ctrl-C stops)"
              + (" — API key required" if args.api_key else ""), file=sys.stderr, flush=True)
        server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning",
                                               timeout_graceful_shutdown=3, access_log=False))
        server.run()
        if not server.started:
            raise ServeError(f"Could not listen on {args.host}:{args.port} (in use, or not an address of this "
                             "machine); choose another --port or --host.")
        return 0
    finally:
        library.close()
        ctx.close()
