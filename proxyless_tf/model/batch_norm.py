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

On a CPU, oneDNN's forward kernel is ~2.5x slower when the channel count is not a multiple of the
vector width (16 floats with AVX-512; measured on an Intel Xeon: 5.9 ms against 2.9 ms through
moments at 8x56x56x72, while 64 and 80 channels take 1.7 and 2.0 ms fused). Those BNs (24, 40, 72
and 120 channels are common in MBConv nets) compute the batch moments as ops and keep the fused
kernel for the gradient (`FusedBatchNormGradV3` takes the batch mean and variance): forward and
backward 5.1 ms against 8.0 ms there, the same gradient within 5e-6 relative.
"""

from __future__ import annotations

import functools

import keras


def _fusable(layer, x, training) -> bool:
  return (training is True and keras.backend.backend() == "tensorflow" and layer.built
          and layer.trainable and len(x.shape) == 4 and layer.axis in (-1, 3) and layer.center
          and layer.scale and not layer.renorm)


@functools.lru_cache(maxsize=None)
def _vector_width() -> int:
  """Floats per vector register of this process's kernels: 16 with AVX-512, else 8; 1 (any
  channel count is fast) where a GPU runs the kernel."""
  import tensorflow as tf
  if tf.config.list_physical_devices("GPU"):
    return 1
  try:
    with open("/proc/cpuinfo") as f:
      return 16 if " avx512f" in f.read() else 8
  except OSError:
    return 8


def _moments_forward(x, gamma, beta, epsilon):
  """Training-mode BN with the batch moments as ops and `FusedBatchNormGradV3` as its gradient;
  returns (y, mean, biased variance)."""
  import tensorflow as tf

  @tf.custom_gradient
  def normalize(x, gamma, beta):
    mean, variance = tf.nn.moments(x, [0, 1, 2])
    scale = gamma * tf.math.rsqrt(variance + epsilon)
    y = x * scale + (beta - mean * scale)

    def grad(dy, dmean, dvariance):
      del dmean, dvariance  # the statistics only feed the moving averages (stop_gradient)
      dx, dgamma, dbeta, _, _ = tf.raw_ops.FusedBatchNormGradV3(
          y_backprop=dy, x=x, scale=gamma, reserve_space_1=mean, reserve_space_2=variance,
          reserve_space_3=tf.constant([], tf.float32), epsilon=epsilon, data_format="NHWC",
          is_training=True)
      return dx, dgamma, dbeta

    return (y, mean, variance), grad

  return normalize(x, gamma, beta)


def batch_norm(layer, x, training=None):
  """`layer(x, training=training)`, as one fused op when training a 4-D NHWC input."""
  if not _fusable(layer, x, training):
    return layer(x, training=training)
  import tensorflow as tf
  inputs = tf.cast(x, tf.float32)
  if x.shape[-1] is not None and x.shape[-1] % _vector_width():
    y, mean, variance = _moments_forward(inputs, tf.convert_to_tensor(layer.gamma.value),
                                         tf.convert_to_tensor(layer.beta.value), layer.epsilon)
    _update_moving(layer, mean, variance)
    return tf.cast(y, layer.compute_dtype)
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
  _update_moving(layer, mean, variance)
  return tf.cast(y, layer.compute_dtype)


def _update_moving(layer, mean, variance):
  """Keras's rule: moving * momentum + batch * (1 - momentum), biased variance."""
  import tensorflow as tf
  momentum = layer.momentum
  for moving, batch in ((layer.moving_mean, mean), (layer.moving_variance, variance)):
    moving.assign(moving * momentum + tf.stop_gradient(batch) * (1.0 - momentum))
