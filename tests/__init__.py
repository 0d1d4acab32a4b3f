"""Inglenook tests: core/ (engine, knowledge, CLI; no window), window/ (the PySide6 window, offscreen), support/ (helpers)."""
