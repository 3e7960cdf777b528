#!/usr/bin/env bash
# The Xylo verifier: Rockpool 3.1.0 and xylosim (built from its sdist), in their own venv with
# the CPU torch of bench/constraints.txt. Rockpool is AGPL: the tests run it in a subprocess,
# the package never imports it. samna from PyPI is a stub; tests/hardware_tests/vendor_sims/
# run_xylosim.py imports only the Xylo submodules that do not need it. The tests compare our
# chip-exact model (XyloSim), our Xylo checks (the mapper) and our cycle counts
# (power_cycles_model) with Rockpool's.
#
#   bash .ci/install-rockpool.sh [DIR]          # default DIR: .venv-rockpool
#   export SPIKEFIT_ROCKPOOL="$PWD/.venv-rockpool"
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-.venv-rockpool}"
python3 -m venv "$dest"
"$dest/bin/pip" install -q torch==2.13.0
"$dest/bin/pip" install -q -c bench/constraints.txt "rockpool==3.1.0" "xylosim==0.1.3"
