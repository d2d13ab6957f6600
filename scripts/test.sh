#!/usr/bin/env bash
# The test suite on a fresh machine: set up .venv (scripts/setup.sh), then run pytest offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pytest -q "$@"
