"""The server's default limits (kept apart so that `nook --help` does not import the server)."""

DEFAULT_PORT = 8080
DEFAULT_MAX_BODY_MB = 4.0  # a larger request body is answered with 413
DEFAULT_MAX_QUEUE = 8  # requests that may wait for the model; one more is answered with 503
DEFAULT_MAX_TOKENS = 512  # reply length when a request sets none
