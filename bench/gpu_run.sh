#!/usr/bin/env bash
# Everything the GPU machine checks, in one call (run through the device tool):
#   wheels for what its image lacks are carried in .whl/, results land in $OUT.
set -u
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi -L
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, torch.cuda.get_device_name())"
echo "== 1. Triton kernels against the torch path, then training throughput on CUDA"
timeout 300 python3 bench/gpu_check.py --repeats 5 --batches 128 1024 4096 2>&1 | tee "$OUT/gpu_check.log"
echo "== 2. core tests on the GPU machine (the CUDA test runs here)"
timeout 90 python3 -m pytest -q -p no:cacheprovider tests/snn_tests 2>&1 | tail -3
echo "== 3. a search end to end with --accelerator cuda"
cd /tmp && timeout 150 python3 -m spikefit_search --device loihi --budget 4 --accelerator cuda --epochs 6 --out /tmp/runs 2>&1 | tail -14
cp "$OLDPWD/docs/benchmarks.md" "$OUT/benchmarks.md"
