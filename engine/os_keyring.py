"""The OS keyring (Secret Service, macOS Keychain, Windows Credential Locker) when there is one.

Its own small module: the window asks for its server key at start, and that should not load the
HTTP client the remote runtime needs.
"""

from __future__ import annotations


def os_keyring():
    """The keyring module when it imports and has a backend that can store secrets, else None."""
    try:
        import keyring
        from keyring.backends import fail

        return None if isinstance(keyring.get_keyring(), fail.Keyring) else keyring
    except Exception:  # not installed, or a broken backend
        return None
