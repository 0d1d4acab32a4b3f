"""Chat runtimes: the protocol every runtime fulfils, a registry, and one module per runtime."""
