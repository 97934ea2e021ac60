"""SGD whose per-variable update is one fused TensorFlow op (TensorFlow backend).

Why: Keras's optimizer updates each variable through `tf.distribute`'s per-variable `update`
plumbing and about ten small ops, evaluates the learning-rate schedule again for every
variable's weight decay, and traces that Python once per variable. A tree-cell net has thousands
of small variables (`proxyless_cifar`: 2,313 trainable, mostly BN scales and offsets), so the
update was a large part of its training program and of the wait before its first step
(BENCHMARKS.md "Training start-up: `proxyless_cifar`"): evaluating the schedule once per step
and the decay as one op per variable took that program from 104k to 45k graph nodes. Here, with
no distribution strategy, each variable's update is `ResourceApplyKerasMomentum` (the same
`m = m * mu - g * lr` and Nesterov `var += m * mu - g * lr` as Keras's SGD) and its decoupled
weight decay `ResourceApplyGradientDescent` (`var -= (wd * lr) * var`, Keras's `var * wd * lr`
up to rounding). Under a `tf.distribute` strategy Keras's own path runs unchanged (its
cross-replica merge is what keeps replicas in step).
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _tf_variable(variable):
  return variable.value if isinstance(variable, keras.Variable) else variable


@keras.saving.register_keras_serializable(package="proxyless_tf")
class FusedSGD(keras.optimizers.SGD):
  """`keras.optimizers.SGD` (same arguments, same checkpoint variables), fused on one device."""

  def _apply_weight_decay(self, variables):
    if self.weight_decay is None or tf.distribute.has_strategy():
      return super()._apply_weight_decay(variables)
    learning_rate = self.learning_rate  # a schedule is evaluated once, not once per variable
    scales: dict = {}
    for variable in variables:
      variable = _tf_variable(variable)
      if self._use_weight_decay(variable):
        if variable.dtype not in scales:
          scales[variable.dtype] = (tf.cast(self.weight_decay, variable.dtype)
                                    * tf.cast(learning_rate, variable.dtype))
        # var -= scale * var
        tf.raw_ops.ResourceApplyGradientDescent(var=variable.handle, alpha=scales[variable.dtype],
                                                delta=tf.convert_to_tensor(variable))
    return None

  def _backend_update_step(self, grads, trainable_variables, learning_rate):
    if tf.distribute.has_strategy():
      return super()._backend_update_step(grads, trainable_variables, learning_rate)
    casts: dict = {}

    def cast(value, dtype):
      key = (id(value), dtype)
      if key not in casts:
        casts[key] = tf.cast(value, dtype)
      return casts[key]

    for grad, variable in zip(grads, trainable_variables):
      var = _tf_variable(variable)
      if isinstance(grad, tf.IndexedSlices) or self.momentum == 0:
        self.update_step(grad, variable, learning_rate)
        continue
      accum = _tf_variable(self.momentums[self._get_variable_index(variable)])
      tf.raw_ops.ResourceApplyKerasMomentum(
          var=var.handle, accum=accum.handle, lr=cast(learning_rate, var.dtype),
          grad=tf.cast(grad, var.dtype), momentum=cast(self.momentum, var.dtype),
          use_locking=False, use_nesterov=self.nesterov)
    return None
