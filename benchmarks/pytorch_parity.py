"""Published nets with PyTorch weights: Keras and the exported float TFLite against PyTorch.

  python tests/data/pytorch/make_fixtures.py published --out=/tmp/published   # torch venv
  python -m benchmarks.pytorch_parity --dir=/tmp/published

pytorchcv's four ProxylessNAS nets with random weights and BN statistics (224x224, 2 inputs):
max |logit difference| / max |logit|, for the preset built here with its default padding
(`symmetric`) and, for contrast, with TensorFlow's `same`. The CI tests check the same path on a
tiny net with weights from both the original code and pytorchcv (tests/test_pytorch_weights.py).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


import numpy as np

from benchmarks.common import publish

NETS = {"mobile": "proxyless_mobile", "cpu": "proxyless_cpu", "gpu": "proxyless_gpu",
        "mobile14": "proxyless_mobile_14"}


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--dir", required=True)
  args = parser.parse_args()
  from proxyless_tf import litert
  from proxyless_tf.arch import get_preset
  from proxyless_tf.export.pipeline import export_model
  from proxyless_tf.model import build_model
  from proxyless_tf.model.pytorch_weights import load_pytorch_weights
  x = np.load(os.path.join(args.dir, "inputs_nchw.npy")).transpose(0, 2, 3, 1)
  lines = ["## PyTorch weights in: published nets against PyTorch (pytorchcv)", "",
           f"Command: `python -m benchmarks.pytorch_parity --dir={args.dir}` (the directory made "
           "by `tests/data/pytorch/make_fixtures.py published`)  ",
           f"{time.strftime('%Y-%m-%d')}. pytorchcv nets with random weights and randomised BN "
           "statistics, 2 inputs at 224x224; max |difference| / max |logit| against PyTorch's "
           "logits. Float TFLite: exported with the XNNPACK depthwise split.", "",
           "| net | Keras, symmetric (default) | float TFLite, symmetric | Keras, padding same |",
           "|---|---:|---:|---:|"]
  for short, preset in NETS.items():
    want = np.load(os.path.join(args.dir, f"logits_{short}.npy"))
    rel = lambda got: float(np.abs(np.asarray(got) - want).max() / np.abs(want).max())  # noqa
    config = get_preset(preset)
    model = build_model(config)
    load_pytorch_weights(model, config, os.path.join(args.dir, f"proxylessnas_{short}.pth"))
    keras_rel = rel(model(x, training=False))
    with tempfile.TemporaryDirectory() as tmp:
      results = export_model(model, tmp, ("float",), x, x, log=lambda *_: None,
                             input_kind="normalized")
      tflite_rel = rel(litert.run(litert.make_interpreter(model_path=results[0].path), x))
    same = build_model(config.replace(padding="same"))
    same.set_weights(model.get_weights())
    same_rel = rel(same(x, training=False))
    lines.append(f"| {preset} | {keras_rel:.1e} | {tflite_rel:.1e} | {same_rel:.1e} |")
    print(lines[-1], flush=True)
  publish("pytorch_parity", lines)


if __name__ == "__main__":
  main()
