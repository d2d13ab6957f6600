#!/usr/bin/env bash
# Create .venv and install editreward (a regular, non-editable install) with the pinned stack of constraints.txt.
# torch is pinned to the version constraints.txt is tested with. The pin picks a version, not a build: where pip's
# index offers a CPU wheel of it (as on the machine the tests were written on), that installs; else the index's default
# build does (on Linux, PyPI's is a CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -c constraints.txt torch==2.13.0 ".[dev]"
.venv/bin/pip install --quiet --disable-pip-version-check --no-deps --force-reinstall .
