"""Keras -> SavedModel -> TFLite in three precisions, restricted to TFLite builtin ops.

Restricting to builtins makes a model that would need Flex (SELECT_TF_OPS) fail here, at export,
instead of on the phone. Full int8 quantizes inputs and outputs too (int8 I/O is what a phone
pipeline feeds); `proxyless_tf.litert.run` (de)quantizes with the model's own scales.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterable

import keras
import numpy as np
import tensorflow as tf

from proxyless_tf.errors import UserError
from proxyless_tf.export.depthwise_split import XNNPACK_MAX_TAPS
from proxyless_tf.utils.console import native_output_captured

MODES = ("float", "dynamic", "int8")


def parse_modes(text: str) -> tuple[str, ...]:
  modes = tuple(m.strip() for m in text.split(",") if m.strip())
  bad = [m for m in modes if m not in MODES]
  if bad or not modes:
    raise UserError(f"--quantize: unknown mode(s) {bad or [text]}; choose from {','.join(MODES)}")
  return modes


def representative_from_batch(batch: np.ndarray) -> Callable[[], Iterable[list[np.ndarray]]]:
  """Calibration examples one by one, as the model's input takes them (uint8 pixels or floats)."""
  dtype = np.uint8 if batch.dtype == np.uint8 else np.float32

  def gen():
    for example in batch:
      yield [example[None].astype(dtype)]
  return gen


# What an exported model takes: raw pixels (uint8 HxWxC in [0, 255], normalization inside the
# model: what an app has from a camera or a bitmap), or floats already in [-1, 1].
INPUT_KINDS = ("uint8", "normalized")


def with_pixel_input(model: keras.Model) -> keras.Model:
  """`model` behind its own preprocessing: uint8 pixels in, x / 127.5 - 1 inside."""
  inputs = keras.Input(model.input_shape[1:], dtype="uint8", name="pixels")
  x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="normalize")(inputs)
  return keras.Model(inputs, model(x), name=model.name)


def to_pixels(x: np.ndarray) -> np.ndarray:
  """Normalized floats -> the uint8 pixels they come from (rounded; exact for real images)."""
  return np.clip(np.round((np.asarray(x, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def _configure(converter, mode: str, representative=None, uint8_input: bool = False):
  if mode not in MODES:
    raise UserError(f"unknown quantization mode {mode!r}; choose from {', '.join(MODES)}")
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  if mode in ("dynamic", "int8"):
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
  if mode == "int8":
    if representative is None:
      raise ValueError("int8 conversion needs a representative dataset")
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    # a pixel-input model keeps its uint8 input (scale 1, zero point 0: the raw bytes)
    converter.inference_input_type = tf.uint8 if uint8_input else tf.int8
    converter.inference_output_type = tf.int8
  return converter


@contextlib.contextmanager
def _quiet():
  """The converter prints MLIR diagnostics to stdout/stderr (from C, below Python's streams); keep
  them out of the user's table, and show them if the conversion fails."""
  with contextlib.redirect_stdout(io.StringIO()), native_output_captured():
    yield


def export_saved_model(model: keras.Model, path: str, batch_size: int | None = 1) -> None:
  """`batch_size` fixes the signature's batch dimension (None: dynamic). A phone app feeds one
  image; a fixed batch lets the converter and the runtime plan every tensor ahead."""
  dtype = tf.uint8 if model.inputs[0].dtype == "uint8" else tf.float32
  signature = [tf.TensorSpec((batch_size, *model.input_shape[1:]), dtype, name="image")]
  with _quiet():
    model.export(path, format="tf_saved_model", verbose=False, input_signature=signature)


def convert_saved_model(saved_model_dir: str, mode: str, representative=None,
                        uint8_input: bool = False) -> bytes:
  converter = _configure(tf.lite.TFLiteConverter.from_saved_model(saved_model_dir), mode,
                         representative, uint8_input)
  with _quiet():
    return converter.convert()


def convert_keras(model: keras.Model, mode: str, representative=None) -> bytes:
  """Direct conversion (no SavedModel on disk): used for the many tiny per-op latency models."""
  converter = _configure(tf.lite.TFLiteConverter.from_keras_model(model), mode, representative)
  with _quiet():
    return converter.convert()


def set_bn_statistics(model: keras.Model, batch: np.ndarray) -> None:
  """Sets every BN's moving mean/variance to `batch`'s statistics.

  A freshly built net has moving stats (0, 1), so its logits are ~1e-11 and int8 calibration is
  meaningless; export checks on untrained nets call this first.
  """
  bns = [layer for layer in model._flatten_layers(include_self=False, recursive=True)
         if isinstance(layer, keras.layers.BatchNormalization)]
  saved = [bn.momentum for bn in bns]
  for bn in bns:
    bn.momentum = 0.0
  try:
    model(tf.constant(batch, tf.float32), training=True)
  finally:
    for bn, momentum in zip(bns, saved):
      bn.momentum = momentum


def deploy_form(model: keras.Model, max_depthwise_taps: int | None) -> keras.Model:
  """What is converted: `model`, with large depthwise convs split for XNNPACK unless
  `max_depthwise_taps` is None (see `depthwise_split`)."""
  if max_depthwise_taps is None:
    return model
  from proxyless_tf.export.depthwise_split import split_large_depthwise
  return split_large_depthwise(model, max_depthwise_taps)


def convert_for_timing(model: keras.Model, precision: str, seed: int = 0,
                       max_depthwise_taps: int | None = XNNPACK_MAX_TAPS) -> bytes:
  """An untrained model converted the way a deployed one is (BN statistics from a random batch,
  int8 calibrated on it, the same XNNPACK rewrite): what latency tables and their validation
  time."""
  batch = np.random.default_rng(seed).standard_normal(
      (8, *model.input_shape[1:])).astype(np.float32)
  set_bn_statistics(model, batch)
  return convert_keras(deploy_form(model, max_depthwise_taps), precision,
                       representative_from_batch(batch) if precision == "int8" else None)
