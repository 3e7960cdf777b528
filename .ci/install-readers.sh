#!/usr/bin/env bash
# The NIR readers that tests/reporting_tests/test_nir_readers.py runs our NIR files in, each in
# its own venv as its users install it (sinabs 3.1 pins nir<=1.0.4; snnTorch 1.0 and norse 1.1
# take the current nir), with the CPU torch of bench/constraints.txt.
#
#   bash .ci/install-readers.sh [DIR]          # default DIR: .venv-readers
#   export SPIKEFIT_NIR_READERS="$PWD/.venv-readers"
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-.venv-readers}"
mkdir -p "$dest"

reader_venv() {
  local name=$1
  shift
  python3 -m venv "$dest/$name"
  "$dest/$name/bin/pip" install -q torch==2.13.0
  "$dest/$name/bin/pip" install -q -c bench/constraints.txt "$@"
}

reader_venv sinabs "sinabs==3.1.*"
# snnTorch's import_from_nir imports nir and nirtorch without declaring them
reader_venv snntorch "snntorch==1.0.*" nir nirtorch
reader_venv norse "norse==1.1.*"
