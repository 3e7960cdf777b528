#!/usr/bin/env bash
# Rockpool 3.1.0 (SynSense's toolchain, AGPL) and xylosim in their own venv, as an outside
# verifier only: tests/hardware_tests/test_xylo_cycles_rockpool.py compares our Xylo cycle
# counts with Rockpool's power_cycles_model there. The package never imports Rockpool.
#
#   bash .ci/install-rockpool.sh
#   export SPIKEFIT_ROCKPOOL="$PWD/.venv-rockpool"
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-rockpool && .venv-rockpool/bin/pip install -q torch==2.13.0 && .venv-rockpool/bin/pip install -q -c bench/constraints.txt rockpool==3.1.0 xylosim
