"""The engine process: llama.cpp runs in a supervised child, so a native crash costs a restart, not the window."""
