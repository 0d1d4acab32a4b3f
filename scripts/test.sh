#!/usr/bin/env bash
# README test command: set everything up, lint, run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests include the LoRA training and PEFT-equivalence tests, so they install the `train` extra
# too (torch 2.13.0 CPU, transformers, peft); the app alone installs only what it needs.
INGLENOOK_EXTRAS="${INGLENOOK_EXTRAS:-dev,train}" bash scripts/setup.sh
.venv/bin/ruff check engine knowledge desktop_app tests benchmarks
exec .venv/bin/python -m pytest -q "$@"
