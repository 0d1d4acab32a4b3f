#!/usr/bin/env bash
# README test command: set everything up, lint, run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check engine knowledge desktop_app tests benchmarks
exec .venv/bin/python -m pytest -q "$@"
