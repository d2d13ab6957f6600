#!/usr/bin/env bash
# The README's first command: set up .venv (scripts/setup.sh), then run the quickstart offline: build an edit-preference
# set from real photos, train a small EditReward model, evaluate it on held-out photos, save a Hub-ready folder.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/editreward quickstart --output-dir quickstart-output "$@"
