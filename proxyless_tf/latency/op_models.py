"""Each op of a latency table as a model of its own: what gets timed.

Op models use the same layers as the deployed network (so the converter fuses BN and ReLU6 the
same way), and the same precision: an int8 table times full-int8 op models with int8 I/O, which is
what the op computes inside a full-int8 network. Its own module because both the measurers
(`measure.py`) and the canary (`canary.py`) export ops.
"""

from __future__ import annotations

import threading

import keras

from proxyless_tf.export.depthwise_split import XNNPACK_MAX_TAPS
from proxyless_tf.latency.ops import OpSpec

_CONVERT_LOCK = threading.Lock()  # the TFLite converter is not meant to run in several threads


def op_model(op: OpSpec) -> keras.Model:
  """One op of any family alone as a Keras model (its family's `op_model`)."""
  from proxyless_tf.families import family_of_op_kind
  return family_of_op_kind(op.kind).op_model(op)


def op_tflite(op: OpSpec, precision: str, seed: int = 0,
              max_depthwise_taps: int | None = XNNPACK_MAX_TAPS) -> bytes:
  """The op as it ships: through the export's XNNPACK rewrite unless `max_depthwise_taps` is None."""
  from proxyless_tf.export.tflite import convert_for_timing
  with _CONVERT_LOCK:
    return convert_for_timing(op_model(op), precision, seed, max_depthwise_taps)
