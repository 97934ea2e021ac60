"""Export one model: SavedModel + one .tflite per mode, each checked against Keras."""

from __future__ import annotations

import os

import keras
import numpy as np

from proxyless_tf.errors import UserError
from proxyless_tf.export import tflite, verify
from proxyless_tf.utils.files import atomic_write_bytes


def export_model(model: keras.Model, out_dir: str, modes, calibration: np.ndarray,
                 check_inputs: np.ndarray, min_quantized_agreement: float = 0.0,
                 log=print) -> list[verify.CheckResult]:
  os.makedirs(out_dir, exist_ok=True)
  saved_model_dir = os.path.join(out_dir, "saved_model")
  log(f"writing SavedModel to {saved_model_dir}")
  tflite.export_saved_model(model, saved_model_dir)
  reference = model.predict(check_inputs, verbose=0, batch_size=64)
  results = []
  for mode in modes:
    path = os.path.join(out_dir, f"{model.name}_{mode}.tflite")
    log(f"converting {mode} -> {path}")
    representative = tflite.representative_from_batch(calibration) if mode == "int8" else None
    atomic_write_bytes(path, tflite.convert_saved_model(saved_model_dir, mode, representative))
    results.append(verify.check(mode, path, reference, check_inputs, min_quantized_agreement))
  return results


def report(results: list[verify.CheckResult], log=print) -> None:
  """Prints the check table; a model outside its bound is an error."""
  log(verify.format_results(results))
  failed = [r for r in results if not r.ok]
  if failed:
    raise UserError("; ".join(f"{r.mode}: {r.problem}" for r in failed))
