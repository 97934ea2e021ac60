"""Export one model: SavedModel + one .tflite per mode, each checked against Keras."""

from __future__ import annotations

import os
import tempfile

import keras
import numpy as np

from proxyless_tf.errors import UserError
from proxyless_tf.export import tflite, verify
from proxyless_tf.utils.files import atomic_write_bytes


def export_model(model: keras.Model, out_dir: str, modes, calibration: np.ndarray,
                 check_inputs: np.ndarray, min_quantized_agreement: float = 0.0,
                 max_depthwise_taps: int | None = tflite.XNNPACK_MAX_TAPS, batch_size: int | None = 1,
                 log=print, input_kind: str = "uint8") -> list[verify.CheckResult]:
  """SavedModel and .tflite files of `model`'s deployed form (large depthwise convs split for
  XNNPACK unless `max_depthwise_taps` is None), each checked against `model`. `calibration` and
  `check_inputs` are normalized floats. `input_kind="uint8"`: the exported files take raw uint8
  pixels and normalize inside (the inputs are snapped to the pixel grid for the checks)."""
  if input_kind not in tflite.INPUT_KINDS:
    raise UserError(f"--input must be one of {', '.join(tflite.INPUT_KINDS)}, got {input_kind!r}")
  pixels = input_kind == "uint8"
  if pixels:
    calibration = tflite.to_pixels(calibration)
    check_inputs = tflite.to_pixels(check_inputs).astype(np.float32) / 127.5 - 1.0
  wrap = tflite.with_pixel_input if pixels else (lambda m: m)
  os.makedirs(out_dir, exist_ok=True)
  saved_model_dir = os.path.join(out_dir, "saved_model")
  log(f"writing SavedModel to {saved_model_dir}")
  tflite.export_saved_model(wrap(model), saved_model_dir, batch_size)
  reference = model.predict(check_inputs, verbose=0, batch_size=64)
  deployed = tflite.deploy_form(model, max_depthwise_taps)
  if deployed is not model:
    log(f"split the depthwise convs with more than {max_depthwise_taps} taps into pieces for "
        "XNNPACK (same function; --nosplit_large_depthwise turns it off)")
  results = []
  with tempfile.TemporaryDirectory() as tmp:
    if deployed is not model:
      saved_model_dir = os.path.join(tmp, "deployed")
      tflite.export_saved_model(wrap(deployed), saved_model_dir, batch_size)
    for mode in modes:
      path = os.path.join(out_dir, f"{model.name}_{mode}.tflite")
      log(f"converting {mode} -> {path}")
      representative = tflite.representative_from_batch(calibration) if mode == "int8" else None
      atomic_write_bytes(path, tflite.convert_saved_model(saved_model_dir, mode, representative,
                                                          uint8_input=pixels))
      results.append(verify.check(mode, path, reference, check_inputs, min_quantized_agreement))
  return results


def report(results: list[verify.CheckResult], log=print) -> None:
  """Prints the check table; a model outside its bound is an error."""
  log(verify.format_results(results))
  failed = [r for r in results if not r.ok]
  if failed:
    raise UserError("; ".join(f"{r.mode}: {r.problem}" for r in failed))
