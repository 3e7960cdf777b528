#!/usr/bin/env bash
# The verifier venv that tests/reporting_tests/test_neurobench.py runs NeuroBench 2.3 in: snnTorch
# 1.0 with nir and nirtorch (its NIR import needs them), the CPU torch of bench/constraints.txt,
# and neurobench 2.3.0 without its declared dependencies: its metrics and Benchmark import only
# torch, snnTorch, numpy and tqdm (tonic, numba, llvmlite and torchaudio serve its data sets).
#
#   bash .ci/install-neurobench.sh [DIR]       # default DIR: .venv-neurobench
#   export SPIKEFIT_NEUROBENCH="$PWD/.venv-neurobench"
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-.venv-neurobench}"
python3 -m venv "$dest"
"$dest/bin/pip" install -q torch==2.13.0
"$dest/bin/pip" install -q -c bench/constraints.txt "snntorch==1.0.*" nir nirtorch tqdm
"$dest/bin/pip" install -q --no-deps "neurobench==2.3.0"
"$dest/bin/python" -c "from neurobench.benchmarks import Benchmark; from neurobench.metrics.workload import MembraneUpdates"
