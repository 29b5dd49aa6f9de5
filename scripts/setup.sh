#!/usr/bin/env bash
# Create .venv and install the project: torch first (the pinned CPU-friendly 2.13.0 unless TORCH_SPEC says
# otherwise), then everything else. `scripts/setup.sh dev` adds the test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "${TORCH_SPEC:-torch==2.13.0}"
if [ "${1:-}" = "dev" ]; then
  python -m pip install --quiet -r requirements-dev.txt
  python -m pip install --quiet --no-deps -e .
else
  python -m pip install --quiet -r requirements.txt
  python -m pip install --quiet --no-deps -e .
fi
