"""Keras 3 layers of the MobileNetV3-style family; each round-trips through get_config.

h-swish is written `x * relu6(x + 3) / 6` and the squeeze-and-excite's gate `relu6(x + 3) / 6`:
the TFLite converter fuses the first into its builtin HARD_SWISH, and the SE becomes MEAN,
two CONV_2D and MUL, so an exported net needs no Flex or custom op. Initialisation and the BN
training path are the MBConv family's (`model/layers.py`, `model/batch_norm.py`).
"""

from __future__ import annotations

import keras

from proxyless_tf.families.mobilenet_v3.config import expanded_channels, se_channels
from proxyless_tf.model.batch_norm import batch_norm
from proxyless_tf.model.layers import conv_initializer


def hard_sigmoid(x):
  return keras.ops.relu6(x + 3.0) * (1.0 / 6.0)


def hard_swish(x):
  return x * hard_sigmoid(x)


def activate(x, activation: str):
  return hard_swish(x) if activation == "hswish" else keras.ops.relu(x)


def _output_shape(input_shape, strides: int, filters: int):
  size = [None if d is None else -(-d // strides) for d in input_shape[1:3]]
  return (input_shape[0], *size, filters)


@keras.saving.register_keras_serializable(package="proxyless_tf")
class ConvBNAct(keras.layers.Layer):
  """Conv (no bias) + BN + ReLU or h-swish: the stem and the 1x1 head conv."""

  def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1,
               activation: str = "hswish", bn_momentum: float = 0.99, bn_epsilon: float = 1e-3,
               **kwargs):
    super().__init__(**kwargs)
    self.filters, self.kernel_size, self.strides = filters, kernel_size, strides
    self.activation = activation
    self.bn_momentum, self.bn_epsilon = bn_momentum, bn_epsilon
    self.conv = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same",
                                    use_bias=False, name="conv",
                                    kernel_initializer=conv_initializer(kernel_size, filters))
    self.bn = keras.layers.BatchNormalization(momentum=bn_momentum, epsilon=bn_epsilon, name="bn")

  def build(self, input_shape):
    self.conv.build(input_shape)
    self.bn.build(self.compute_output_shape(input_shape))
    self.built = True

  def call(self, inputs, training=None):
    return activate(batch_norm(self.bn, self.conv(inputs), training), self.activation)

  def compute_output_shape(self, input_shape):
    return _output_shape(input_shape, self.strides, self.filters)

  def get_config(self):
    return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
            "strides": self.strides, "activation": self.activation,
            "bn_momentum": self.bn_momentum, "bn_epsilon": self.bn_epsilon}


@keras.saving.register_keras_serializable(package="proxyless_tf")
class SqueezeExcite(keras.layers.Layer):
  """Global pool -> 1x1 conv + ReLU -> 1x1 conv -> hard sigmoid -> scale the input's channels."""

  def __init__(self, reduced: int, **kwargs):
    super().__init__(**kwargs)
    self.reduced = reduced

  def build(self, input_shape):
    channels = int(input_shape[-1])
    self.reduce = keras.layers.Conv2D(self.reduced, 1, name="reduce",
                                      kernel_initializer=conv_initializer(1, self.reduced))
    self.expand = keras.layers.Conv2D(channels, 1, name="expand",
                                      kernel_initializer=conv_initializer(1, channels))
    self.reduce.build((None, 1, 1, channels))
    self.expand.build((None, 1, 1, self.reduced))
    self.built = True

  def call(self, inputs):
    s = keras.ops.mean(inputs, axis=(1, 2), keepdims=True)
    s = hard_sigmoid(self.expand(keras.ops.relu(self.reduce(s))))
    return inputs * s

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return {**super().get_config(), "reduced": self.reduced}


@keras.saving.register_keras_serializable(package="proxyless_tf")
class InvertedResidualV3(keras.layers.Layer):
  """[1x1 expand + BN + act] -> kxk depthwise + BN + act -> [SE] -> 1x1 linear + BN (+ input).

  As the MBConv family's block, the residual add is part of the layer (stride 1 and in == out),
  and the supernet's mixed op holds these with `residual=False` and adds the shared skip itself.
  """

  def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1,
               expand_ratio: float = 6, se: bool = False, activation: str = "relu",
               residual: bool | None = None, se_ratio: float = 0.25, bn_momentum: float = 0.99,
               bn_epsilon: float = 1e-3, **kwargs):
    super().__init__(**kwargs)
    self.filters, self.kernel_size, self.strides = filters, kernel_size, strides
    self.expand_ratio, self.se, self.activation = expand_ratio, se, activation
    self.residual, self.se_ratio = residual, se_ratio
    self.bn_momentum, self.bn_epsilon = bn_momentum, bn_epsilon

  def build(self, input_shape):
    in_channels = int(input_shape[-1])
    mid = expanded_channels(in_channels, self.expand_ratio)
    bn = dict(momentum=self.bn_momentum, epsilon=self.bn_epsilon)
    self.use_residual = (self.strides == 1 and in_channels == self.filters
                         if self.residual is None else self.residual)
    shape = tuple(input_shape)
    self.expand_conv = self.expand_bn = None
    if self.expand_ratio != 1:
      self.expand_conv = keras.layers.Conv2D(mid, 1, use_bias=False, name="expand",
                                             kernel_initializer=conv_initializer(1, mid))
      self.expand_bn = keras.layers.BatchNormalization(name="expand_bn", **bn)
      self.expand_conv.build(shape)
      shape = self.expand_conv.compute_output_shape(shape)
      self.expand_bn.build(shape)
    self.depthwise = keras.layers.DepthwiseConv2D(
        self.kernel_size, strides=self.strides, padding="same", use_bias=False, name="depthwise",
        depthwise_initializer=conv_initializer(self.kernel_size, mid))
    self.depthwise_bn = keras.layers.BatchNormalization(name="depthwise_bn", **bn)
    self.depthwise.build(shape)
    shape = self.depthwise.compute_output_shape(shape)
    self.depthwise_bn.build(shape)
    self.squeeze = None
    if self.se:
      self.squeeze = SqueezeExcite(se_channels(mid, self.se_ratio), name="se")
      self.squeeze.build(shape)
    self.project = keras.layers.Conv2D(self.filters, 1, use_bias=False, name="project",
                                       kernel_initializer=conv_initializer(1, self.filters))
    self.project_bn = keras.layers.BatchNormalization(name="project_bn", **bn)
    self.project.build(shape)
    self.project_bn.build(self.project.compute_output_shape(shape))
    self.built = True

  def call(self, inputs, training=None):
    x = inputs
    if self.expand_conv is not None:
      x = activate(batch_norm(self.expand_bn, self.expand_conv(x), training), self.activation)
    x = activate(batch_norm(self.depthwise_bn, self.depthwise(x), training), self.activation)
    if self.squeeze is not None:
      x = self.squeeze(x)
    x = batch_norm(self.project_bn, self.project(x), training)
    return x + inputs if self.use_residual else x

  def compute_output_shape(self, input_shape):
    return _output_shape(input_shape, self.strides, self.filters)

  def get_config(self):
    return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
            "strides": self.strides, "expand_ratio": self.expand_ratio, "se": self.se,
            "activation": self.activation, "residual": self.residual,
            "se_ratio": self.se_ratio, "bn_momentum": self.bn_momentum,
            "bn_epsilon": self.bn_epsilon}


@keras.saving.register_keras_serializable(package="proxyless_tf")
class SkippedBlock(keras.layers.Layer):
  """A `zero` block: output = input, kept as a layer so the model still says which block it was."""

  def __init__(self, filters: int, strides: int = 1, **kwargs):
    super().__init__(**kwargs)
    self.filters, self.strides = filters, strides

  def call(self, inputs):
    return inputs

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    return {**super().get_config(), "filters": self.filters, "strides": self.strides}


@keras.saving.register_keras_serializable(package="proxyless_tf")
class HardSwish(keras.layers.Layer):
  """h-swish as a layer (after the pooled feature layer)."""

  def call(self, inputs):
    return hard_swish(inputs)

  def compute_output_shape(self, input_shape):
    return input_shape
