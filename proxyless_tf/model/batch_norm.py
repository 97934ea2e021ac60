"""A Keras `BatchNormalization` layer's training step as TensorFlow's fused kernel.

Why: Keras 3 computes a training-mode BN as ~25 small ops (moments, then x * scale + offset) and
its gradient as dozens more. A tree-cell net has hundreds of BNs (`proxyless_cifar`: 698), and
tracing plus Grappler on its program was most of the wait before its first step; fusing them took
that program from 127k to 104k graph nodes. `FusedBatchNormV3` is one op forward and one
backward (`FusedBatchNormGradV3`), with the same function: batch mean and biased variance
normalise, and the moving statistics follow Keras's own rule (`moving * momentum + batch *
(1 - momentum)`, biased variance) through the layer's own variables, so checkpoints, export and
`tf.distribute` see the same layer. Inference (and any case the kernel does not cover) calls the
layer itself, so exported programs are unchanged.
"""

from __future__ import annotations

import keras


def _fusable(layer, x, training) -> bool:
  return (training is True and keras.backend.backend() == "tensorflow" and layer.built
          and layer.trainable and len(x.shape) == 4 and layer.axis in (-1, 3) and layer.center
          and layer.scale and not layer.renorm)


def batch_norm(layer, x, training=None):
  """`layer(x, training=training)`, as one fused op when training a 4-D NHWC input."""
  if not _fusable(layer, x, training):
    return layer(x, training=training)
  import tensorflow as tf
  inputs = tf.cast(x, tf.float32)
  y, mean, variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
      x=inputs, scale=tf.convert_to_tensor(layer.gamma.value),
      offset=tf.convert_to_tensor(layer.beta.value), mean=tf.constant([], tf.float32),
      variance=tf.constant([], tf.float32), epsilon=layer.epsilon, data_format="NHWC",
      is_training=True)
  # the kernel's variance output is Bessel-corrected (for cuDNN's running average); Keras keeps
  # the biased one, which is also what normalised this batch
  if None in inputs.shape[:3]:
    count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:3]), tf.float32)
    variance = variance * (tf.maximum(count - 1.0, 0.0) / count)
  else:
    count = inputs.shape[0] * inputs.shape[1] * inputs.shape[2]
    variance = variance * (max(count - 1, 0) / count)
  momentum = layer.momentum
  for moving, batch in ((layer.moving_mean, mean), (layer.moving_variance, variance)):
    moving.assign(moving * momentum + tf.stop_gradient(batch) * (1.0 - momentum))
  return tf.cast(y, layer.compute_dtype)
