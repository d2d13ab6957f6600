#!/usr/bin/env bash
# Create .venv and install editreward (a regular, non-editable install) with the pinned stack of constraints.txt.
# torch is pinned in the same pip command: an unpinned torch would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -c constraints.txt torch==2.13.0 ".[dev]"
.venv/bin/pip install --quiet --disable-pip-version-check --no-deps --force-reinstall .
