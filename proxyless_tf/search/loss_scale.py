"""Dynamic loss scaling for `mixed_float16` searches (float16's narrow exponent range).

The scheme of `keras.optimizers.LossScaleOptimizer`, which wraps only Keras optimizers (the
weight step's path-masked SGD is not one): the loss is multiplied by `scale` before the
gradient, gradients are divided by it after the all-reduce; a step whose gradients are not finite
is skipped and halves the scale, `growth_interval` finite steps in a row double it. Gradients are
all-reduced before the check, so every replica takes the same decision. `mixed_bfloat16` needs
none of this (bfloat16 has float32's exponent range).
"""

from __future__ import annotations

import tensorflow as tf


class DynamicLossScale(tf.Module):

  def __init__(self, initial: float = 2.0**15, growth_interval: int = 2000,
               name: str = "loss_scale"):
    super().__init__(name=name)
    self.growth_interval = growth_interval
    agg = tf.VariableAggregation.ONLY_FIRST_REPLICA  # one update per step, whatever the replicas
    self.scale = tf.Variable(initial, dtype=tf.float32, trainable=False, name="scale",
                             aggregation=agg)
    self.good_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="good_steps",
                                  aggregation=agg)

  def scaled(self, loss):
    return loss * tf.convert_to_tensor(self.scale)

  def unscale(self, grads):
    """(gradients / scale, whether all are finite)."""
    inverse = 1.0 / tf.convert_to_tensor(self.scale)
    grads = [None if g is None else tf.convert_to_tensor(g) * inverse for g in grads]
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads if g is not None])
    return grads, finite

  def update(self, finite) -> None:
    """After a step (at the top of a replica function, not inside control flow)."""
    grow = self.good_steps + 1 >= self.growth_interval
    scale = tf.convert_to_tensor(self.scale)
    self.scale.assign(tf.where(finite, tf.where(grow, scale * 2.0, scale),
                               tf.maximum(scale / 2.0, 1.0)))
    self.good_steps.assign(tf.where(tf.logical_and(finite, tf.logical_not(grow)),
                                    self.good_steps + 1, tf.zeros([], tf.int64)))
