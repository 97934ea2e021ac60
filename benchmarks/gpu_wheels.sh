#!/usr/bin/env bash
# Downloads the wheels benchmarks/gpu_latency.py installs on a GPU machine that has JAX but no
# Keras and no network (Python 3.12, x86_64 Linux): into .whl/ at the repository root, which the
# run carries. Other Python versions: PYVER=3.11 bash benchmarks/gpu_wheels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYVER=${PYVER:-3.12}
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
  keras==3.15.1 namex==0.1.0 optree==0.20.0 typing_extensions==4.15.0
ls -l .whl
