"""Tests of the core and the command line: no window is opened."""
