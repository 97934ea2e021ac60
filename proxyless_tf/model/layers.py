"""Keras 3 layers of the MobileNetV2-style backbone; each round-trips through get_config.

Initialization follows the original ProxylessNAS code: conv weights ~ N(0, sqrt(2 / (k*k*out)))
where `out` is the conv's output channels (for a depthwise conv, the channel count), dense weights
~ U(+-1/sqrt(in)) with zero bias. `keras.initializers.HeNormal` would use fan_in and a truncated
normal, and for depthwise kernels Keras's fan_out is k*k, so the stddev is given explicitly.
"""

from __future__ import annotations

import math

import keras


def conv_initializer(kernel_size: int, out_channels: int) -> keras.initializers.Initializer:
  return keras.initializers.RandomNormal(
      mean=0.0, stddev=math.sqrt(2.0 / (kernel_size * kernel_size * out_channels)))


def dense_initializer(in_features: int) -> keras.initializers.Initializer:
  bound = 1.0 / math.sqrt(in_features)
  return keras.initializers.RandomUniform(-bound, bound)


@keras.saving.register_keras_serializable(package="proxyless_tf")
class ConvBNReLU(keras.layers.Layer):
  """Conv (no bias) + BN + ReLU6: the stem and the 1x1 head."""

  def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1,
               bn_momentum: float = 0.9, bn_epsilon: float = 1e-3, **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.kernel_size = kernel_size
    self.strides = strides
    self.bn_momentum = bn_momentum
    self.bn_epsilon = bn_epsilon
    self.conv = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same",
                                    use_bias=False,
                                    kernel_initializer=conv_initializer(kernel_size, filters),
                                    name="conv")
    self.bn = keras.layers.BatchNormalization(momentum=bn_momentum, epsilon=bn_epsilon, name="bn")

  def build(self, input_shape):
    self.conv.build(input_shape)
    self.bn.build(self.conv.compute_output_shape(input_shape))
    self.built = True

  def call(self, inputs, training=None):
    return keras.ops.relu6(self.bn(self.conv(inputs), training=training))

  def compute_output_shape(self, input_shape):
    return self.conv.compute_output_shape(input_shape)

  def get_config(self):
    return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
            "strides": self.strides, "bn_momentum": self.bn_momentum,
            "bn_epsilon": self.bn_epsilon}


@keras.saving.register_keras_serializable(package="proxyless_tf")
class MBConv(keras.layers.Layer):
  """Inverted residual: [1x1 expand + BN + ReLU6] -> kxk depthwise + BN + ReLU6 -> 1x1 linear + BN.

  The residual add is part of the layer (stride 1 and in == out), so one layer is one searchable
  block; the supernet's mixed op holds several of these with `residual=False` and adds the skip
  itself, because the skip is shared by all candidates.
  """

  def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1, expand_ratio: int = 6,
               residual: bool | None = None, bn_momentum: float = 0.9, bn_epsilon: float = 1e-3,
               **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.kernel_size = kernel_size
    self.strides = strides
    self.expand_ratio = expand_ratio
    self.residual = residual
    self.bn_momentum = bn_momentum
    self.bn_epsilon = bn_epsilon

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
    self.depthwise = keras.layers.DepthwiseConv2D(
        self.kernel_size, strides=self.strides, padding="same", use_bias=False, name="depthwise",
        depthwise_initializer=conv_initializer(self.kernel_size, mid))
    self.depthwise_bn = keras.layers.BatchNormalization(name="depthwise_bn", **bn)
    self.depthwise.build(shape)
    shape = self.depthwise.compute_output_shape(shape)
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
      x = keras.ops.relu6(self.expand_bn(self.expand_conv(x), training=training))
    x = keras.ops.relu6(self.depthwise_bn(self.depthwise(x), training=training))
    x = self.project_bn(self.project(x), training=training)
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
            "bn_epsilon": self.bn_epsilon}


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
