"""`nook serve`: an OpenAI-compatible HTTP API on the loaded model (Starlette + uvicorn).

``app`` builds the ASGI application and its routes, ``schemas`` checks requests, ``tools`` turns OpenAI
tool definitions into grammar-constrained calls, ``replies`` runs replies on the one model (queued), and
``run`` is the command. The model itself stays in the engine process (``engine.process``).
"""
