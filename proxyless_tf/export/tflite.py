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
  def gen():
    for example in batch:
      yield [example[None].astype(np.float32)]
  return gen


def _configure(converter, mode: str, representative=None):
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
    converter.inference_input_type = tf.int8
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
  signature = [tf.TensorSpec((batch_size, *model.input_shape[1:]), tf.float32, name="image")]
  with _quiet():
    model.export(path, format="tf_saved_model", verbose=False, input_signature=signature)


def convert_saved_model(saved_model_dir: str, mode: str, representative=None) -> bytes:
  converter = _configure(tf.lite.TFLiteConverter.from_saved_model(saved_model_dir), mode,
                         representative)
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
