#!/usr/bin/env bash
# Runs the edges benchmark side by side with causal-learn's PC. Installs
# causal-learn from PyPI into a local venv (target/edges-venv); tests never do.
set -euo pipefail
cd "$(dirname "$0")/../../.."
venv=target/edges-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q causal-learn==0.1.4.8
fi
WHYLINE_EDGES_REFERENCE=1 WHYLINE_PYTHON="$PWD/$venv/bin/python" cargo bench -p whyline-edges --bench edges
