"""The MBConv family's Keras layers; each round-trips through get_config (registered under
`proxyless_tf>NAME`, so models saved before they moved here load as before).

Initialization follows the original ProxylessNAS code (`model/layers.py`: conv weights ~
N(0, sqrt(2 / (k*k*out))), dense ~ U(+-1/sqrt(in))).
"""

from __future__ import annotations

import keras

from proxyless_tf.model.batch_norm import batch_norm
from proxyless_tf.model.layers import (SplitDepthwiseConv2D, conv_initializer, explicit_padding,
                                       padded)


@keras.saving.register_keras_serializable(package="proxyless_tf")
class ConvBNReLU(keras.layers.Layer):
  """Conv (no bias) + BN + ReLU6: the stem and the 1x1 head."""

  def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1,
               bn_momentum: float = 0.9, bn_epsilon: float = 1e-3, padding: str = "same",
               **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.kernel_size = kernel_size
    self.strides = strides
    self.bn_momentum = bn_momentum
    self.bn_epsilon = bn_epsilon
    self.padding = padding
    self.pad = explicit_padding(kernel_size, strides, padding)
    self.conv = keras.layers.Conv2D(filters, kernel_size, strides=strides,
                                    padding="valid" if self.pad else "same",
                                    use_bias=False,
                                    kernel_initializer=conv_initializer(kernel_size, filters),
                                    name="conv")
    self.bn = keras.layers.BatchNormalization(momentum=bn_momentum, epsilon=bn_epsilon, name="bn")

  def build(self, input_shape):
    self.conv.build(input_shape)
    self.bn.build(self.compute_output_shape(input_shape))
    self.built = True

  def call(self, inputs, training=None):
    return keras.ops.relu6(batch_norm(self.bn, self.conv(padded(inputs, self.pad)), training))

  def compute_output_shape(self, input_shape):
    size = [None if d is None else -(-d // self.strides) for d in input_shape[1:3]]
    return (input_shape[0], *size, self.filters)

  def get_config(self):
    return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
            "strides": self.strides, "bn_momentum": self.bn_momentum,
            "bn_epsilon": self.bn_epsilon, "padding": self.padding}


@keras.saving.register_keras_serializable(package="proxyless_tf")
class MBConv(keras.layers.Layer):
  """Inverted residual: [1x1 expand + BN + ReLU6] -> kxk depthwise + BN + ReLU6 -> 1x1 linear + BN.

  The residual add is part of the layer (stride 1 and in == out), so one layer is one searchable
  block; the supernet's mixed op holds several of these with `residual=False` and adds the skip
  itself, because the skip is shared by all candidates.
  """

  def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1, expand_ratio: int = 6,
               residual: bool | None = None, bn_momentum: float = 0.9, bn_epsilon: float = 1e-3,
               depthwise_max_taps: int | None = None, padding: str = "same", **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.kernel_size = kernel_size
    self.strides = strides
    self.expand_ratio = expand_ratio
    self.residual = residual
    self.bn_momentum = bn_momentum
    self.bn_epsilon = bn_epsilon
    # Deployment form (see `proxyless_tf.export.depthwise_split`): a depthwise conv with more
    # taps than this runs as row pieces of at most this many taps, with its BN folded in.
    self.depthwise_max_taps = depthwise_max_taps
    self.padding = padding
    self.pad = explicit_padding(kernel_size, strides, padding)

  @property
  def split_depthwise(self) -> bool:
    return bool(self.depthwise_max_taps) and self.kernel_size ** 2 > self.depthwise_max_taps

  def needs_depthwise_split(self, max_taps: int) -> bool:
    """Whether the export's XNNPACK rewrite splits this block (`export/depthwise_split.py`)."""
    return self.kernel_size ** 2 > max_taps

  def copy_weights_to_split(self, target: "MBConv") -> None:
    """This block's weights into its split form: the depthwise kernel with its BN folded in
    (the split pieces have a bias and no BN)."""
    import numpy as np
    for name in ("expand_conv", "expand_bn", "project", "project_bn"):
      if getattr(self, name) is not None:
        getattr(target, name).set_weights(getattr(self, name).get_weights())
    gamma, beta, mean, var = (np.asarray(w) for w in self.depthwise_bn.get_weights())
    scale = gamma / np.sqrt(var + self.depthwise_bn.epsilon)
    kernel = np.asarray(self.depthwise.get_weights()[0]) * scale[None, None, :, None]
    target.depthwise.set_weights([kernel.astype(np.float32),
                                  (beta - mean * scale).astype(np.float32)])

  def build(self, input_shape):
    in_channels = int(input_shape[-1])
    mid = in_channels * self.expand_ratio
    bn = dict(momentum=self.bn_momentum, epsilon=self.bn_epsilon)
    self.use_residual = (self.strides == 1 and in_channels == self.filters
                         if self.residual is None else self.residual)
    shape = input_shape
    self.expand_conv = self.expand_bn = None
    if self.expand_ratio != 1:
      self.expand_conv = keras.layers.Conv2D(mid, 1, use_bias=False, name="expand",
                                             kernel_initializer=conv_initializer(1, mid))
      self.expand_bn = keras.layers.BatchNormalization(name="expand_bn", **bn)
      self.expand_conv.build(shape)
      shape = self.expand_conv.compute_output_shape(shape)
      self.expand_bn.build(shape)
    if self.split_depthwise:
      self.depthwise = SplitDepthwiseConv2D(self.kernel_size, self.strides,
                                            self.depthwise_max_taps, padding=self.padding,
                                            name="depthwise")
      self.depthwise_bn = None  # folded into the pieces' bias
    else:
      self.depthwise = keras.layers.DepthwiseConv2D(
          self.kernel_size, strides=self.strides, padding="valid" if self.pad else "same",
          use_bias=False,
          name="depthwise", depthwise_initializer=conv_initializer(self.kernel_size, mid))
      self.depthwise_bn = keras.layers.BatchNormalization(name="depthwise_bn", **bn)
    if self.pad and not self.split_depthwise:  # the valid conv reads the padded input
      shape = (shape[0], *[None if d is None else d + 2 * self.pad for d in shape[1:3]], shape[3])
    self.depthwise.build(shape)
    shape = self.depthwise.compute_output_shape(shape)
    if self.depthwise_bn is not None:
      self.depthwise_bn.build(shape)
    self.project = keras.layers.Conv2D(self.filters, 1, use_bias=False, name="project",
                                       kernel_initializer=conv_initializer(1, self.filters))
    self.project_bn = keras.layers.BatchNormalization(name="project_bn", **bn)
    self.project.build(shape)
    self.project_bn.build(self.project.compute_output_shape(shape))
    self.built = True

  def call(self, inputs, training=None):
    x = inputs
    if self.expand_conv is not None:
      x = keras.ops.relu6(batch_norm(self.expand_bn, self.expand_conv(x), training))
    x = self.depthwise(x if self.split_depthwise else padded(x, self.pad))
    if self.depthwise_bn is not None:
      x = batch_norm(self.depthwise_bn, x, training)
    x = keras.ops.relu6(x)
    x = batch_norm(self.project_bn, self.project(x), training)
    if self.use_residual:
      x = x + inputs
    return x

  def compute_output_shape(self, input_shape):
    size = [None if d is None else -(-d // self.strides) for d in input_shape[1:3]]
    return (input_shape[0], *size, self.filters)

  def get_config(self):
    return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
            "strides": self.strides, "expand_ratio": self.expand_ratio,
            "residual": self.residual, "bn_momentum": self.bn_momentum,
            "bn_epsilon": self.bn_epsilon, "depthwise_max_taps": self.depthwise_max_taps,
            "padding": self.padding}


@keras.saving.register_keras_serializable(package="proxyless_tf")
class ZeroBlock(keras.layers.Layer):
  """A skipped block: output = input. Kept as a layer so the model still says which block it was."""

  def __init__(self, filters: int, strides: int = 1, **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.strides = strides

  def call(self, inputs):
    return inputs

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return {**super().get_config(), "filters": self.filters, "strides": self.strides}
