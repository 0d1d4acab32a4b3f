"""Helpers the tests (and a benchmark) share: document factories, adapter makers, the Hub stand-in."""
