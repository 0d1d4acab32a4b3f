"""Sizes for people: the one byte formatter every face and message uses."""

from __future__ import annotations


def format_bytes(n: int | float | None) -> str:
    """``1536`` -> ``'1.5 KiB'``; binary units with their proper names, bytes below 1 KiB; ``None`` -> ``'?'``."""
    if n is None:
        return "?"
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
