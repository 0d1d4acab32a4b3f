"""Messages between the app and its engine process: ``(kind, request id, payload)`` tuples, pickled.

Parent to child: LOAD (path, options, report_progress), UNLOAD, CHAT (messages, params, whether the app is indexing), COMPLETE (prompt, params, indexing), CANCEL (the
request id to cancel), COUNT_TOKENS (text), APPLY_ADAPTERS (list of ResolvedAdapter), ACTIVE_ADAPTERS,
FORGET_ADAPTER (path), INFO, RESET_CACHE, SHUTDOWN.
Child to parent: HELLO (once), RESULT (value), ERROR (an InglenookError), PROGRESS (fraction),
EVENT (a reply event), TEXT (a reply's text: a ``TextDelta`` as a plain str, held text joined, see
``engine.process.child._ReplySender``), END (a reply stream is over).
"""

LOAD = "load"
UNLOAD = "unload"
CHAT = "chat"
COMPLETE = "complete"
CANCEL = "cancel"
COUNT_TOKENS = "count_tokens"
APPLY_ADAPTERS = "apply_adapters"
ACTIVE_ADAPTERS = "active_adapters"
FORGET_ADAPTER = "forget_adapter"
INFO = "info"
RESET_CACHE = "reset_cache"
SHUTDOWN = "shutdown"

HELLO = "hello"
RESULT = "result"
ERROR = "error"
PROGRESS = "progress"
EVENT = "event"
TEXT = "text"
END = "end"
