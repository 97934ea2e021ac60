"""Nested candidate weights: every MBConv candidate of a mixed op cuts its kernels from one set.

Why: with independent weights per candidate (the paper's supernet), the layers after a mixed op
see channel c come from a different, unrelated kernel each time a new path is sampled. Measured
(`benchmarks/studies/supernet_learning.py`, Fashion-MNIST, `small` space, 200 steps): one fixed path
reaches 78% train accuracy, the paper's supernet 26%, and a supernet whose mixed ops hold two
IDENTICAL k3 e6 candidates with independent weights 51%: about half the loss is that
interference alone. Nested weights (as Single-Path NAS and Once-for-All) give every candidate the
same channels (69% in the same measurement):

  expand 1x1   (in, in * max_expand)      candidate e uses the first in * e output channels
  depthwise    (k_max, k_max, mid_max, 1)  candidate k uses the centred k x k window
  project 1x1  (mid_max, filters)          candidate e uses the first in * e input channels

Each candidate keeps its own BatchNormalization layers (a few hundred parameters): statistics of
a 3x3 and a 7x7 window over the same channels differ, and private BN is what keeps the shared
kernels comparable across paths. Only the supernet uses this; the derived net is retrained from
scratch as a plain `MBConv`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from proxyless_tf.model.batch_norm import batch_norm
from proxyless_tf.model.layers import conv_initializer, explicit_padding


@keras.saving.register_keras_serializable(package="proxyless_tf")
class NestedMBConvs(keras.layers.Layer):
  """The MBConv candidates (kernel, expand) of one mixed op over shared kernels; `call(x, j)`."""

  def __init__(self, filters: int, strides: int, shapes, bn_momentum: float = 0.9,
               bn_epsilon: float = 1e-3, padding: str = "same", **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.strides = strides
    self.padding = padding
    self.shapes = [tuple(int(v) for v in s) for s in shapes]  # (kernel_size, expand_ratio)
    self.bn_momentum = bn_momentum
    self.bn_epsilon = bn_epsilon
    self.max_kernel = max(k for k, _ in self.shapes)
    self.max_expand = max(e for _, e in self.shapes)

  def build(self, input_shape):
    self.in_channels = int(input_shape[-1])
    mid = self.in_channels * self.max_expand
    # Initialized as the largest candidate would be in `MBConv`.
    self.expand_kernel = self.add_weight(
        name="expand_kernel", shape=(1, 1, self.in_channels, mid),
        initializer=conv_initializer(1, mid))
    self.depthwise_kernel = self.add_weight(
        name="depthwise_kernel", shape=(self.max_kernel, self.max_kernel, mid, 1),
        initializer=conv_initializer(self.max_kernel, mid))
    self.project_kernel = self.add_weight(
        name="project_kernel", shape=(1, 1, mid, self.filters),
        initializer=conv_initializer(1, self.filters))
    bn = dict(momentum=self.bn_momentum, epsilon=self.bn_epsilon)
    self.norms = []
    for k, e in self.shapes:
      channels = self.in_channels * e
      layers = [keras.layers.BatchNormalization(name=f"k{k}_e{e}_{part}", **bn)
                for part in ("expand_bn", "depthwise_bn", "project_bn")]
      for layer, size in zip(layers, (channels, channels, self.filters)):
        layer.build((None, None, None, size))
      self.norms.append(layers)
    self.built = True

  def candidate_variables(self, j: int) -> list:
    """What a weight step on candidate j trains: the shared kernels and j's own BN."""
    own = [v for layer in self.norms[j] for v in layer.trainable_variables]
    return [self.expand_kernel, self.depthwise_kernel, self.project_kernel, *own]

  def call(self, inputs, j: int, training=None):
    k, e = self.shapes[j]
    mid = self.in_channels * e
    start = (self.max_kernel - k) // 2
    expand_bn, depthwise_bn, project_bn = self.norms[j]
    x = tf.nn.conv2d(inputs, self.expand_kernel[:, :, :, :mid], 1, "SAME")
    x = tf.nn.relu6(batch_norm(expand_bn, x, training))
    window = self.depthwise_kernel[start:start + k, start:start + k, :mid, :]
    pad = explicit_padding(k, self.strides, self.padding)
    if pad:
      x = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    x = tf.nn.depthwise_conv2d(x, window, [1, self.strides, self.strides, 1],
                               "VALID" if pad else "SAME")
    x = tf.nn.relu6(batch_norm(depthwise_bn, x, training))
    x = tf.nn.conv2d(x, self.project_kernel[:, :, :mid, :], 1, "SAME")
    return batch_norm(project_bn, x, training)

  def get_config(self):
    return {**super().get_config(), "filters": self.filters, "strides": self.strides,
            "shapes": self.shapes, "bn_momentum": self.bn_momentum,
            "bn_epsilon": self.bn_epsilon, "padding": self.padding}
