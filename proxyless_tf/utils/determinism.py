"""Same flags and seed -> the same run, to the bit.

Two things are needed on a CPU besides seeds and stateless augmentation: TensorFlow's op
determinism, and one inter-op thread. Measured (benchmarks/determinism_cost.py): with op
determinism alone, two processes' supernet losses part at the 7th digit after the first weight
step and drift apart; with the inter-op pool at one thread they are identical (intra-op
threads, which do the work inside each conv, stay as they are). The inter-op pool can only be
set before TensorFlow starts its runtime, so the commands call this first thing.
"""

from __future__ import annotations


def enable_determinism(log=print) -> bool:
  """True when both settings took; else logs why runs may differ in float rounding."""
  import tensorflow as tf
  tf.config.experimental.enable_op_determinism()
  try:
    tf.config.threading.set_inter_op_parallelism_threads(1)
  except RuntimeError:
    if tf.config.threading.get_inter_op_parallelism_threads() != 1:
      log("note: TensorFlow was already running, so its inter-op threads could not be set to 1; "
          "this run is reproducible only up to float rounding (call "
          "proxyless_tf.utils.determinism.enable_determinism() before using TensorFlow)")
      return False
  return True
