"""The MobileNetV3-like supernet: the family's one builder (`builder.net_layers`) with a `MixedOp`
at every decision. The mixed op, its modes and the search are shared with every family."""

from __future__ import annotations

import keras
import tensorflow as tf

from proxyless_tf.families.mobilenet_v3.builder import net_layers
from proxyless_tf.supernet.mixed_op import MixedOp
from proxyless_tf.supernet.supernet import SupernetArch
from proxyless_tf.utils.compiled import cached


class V3Supernet(SupernetArch, keras.Model):
  """`call(x, training, mode)`; architecture logits and weights are separate variable lists."""

  def __init__(self, space, weight_sharing: str = "independent", **kwargs):
    super().__init__(name=kwargs.pop("name", f"supernet_{space.name}"), **kwargs)
    self.space = space
    self.weight_sharing = weight_sharing

    def decide(spec, name):
      return MixedOp(spec.filters, spec.stride, spec.candidates, spec.has_residual,
                     bn_momentum=space.bn_momentum, bn_epsilon=space.bn_epsilon,
                     weight_sharing=weight_sharing, name=name)

    self.stem, self.blocks, self.head = net_layers(space, decide)
    self.mixed_ops = [layer for layer in self.blocks if isinstance(layer, MixedOp)]
    first_mixed = self.blocks.index(self.mixed_ops[0])
    self.front = self.stem + self.blocks[:first_mixed]  # fixed parts before the first decision
    self.body = self.blocks[first_mixed:]
    self.build((None, space.input_size, space.input_size, space.input_channels))

  def build(self, input_shape):
    shape = input_shape
    for layer in self.stem + self.blocks + self.head:
      layer.build(shape)
      shape = layer.compute_output_shape(shape)
    self.built = True

  def call(self, inputs, training=None, mode: str = "single"):
    x = self._part("front", self.front, training)(inputs)
    for layer in self.body:
      if isinstance(layer, MixedOp):
        x = layer(x, training=training, mode=mode)
      else:
        x = layer(x, training=training)
    # float32 logits under a mixed-precision policy: the loss and its gradients start in float32
    return tf.cast(self._part("back", self.head, training)(x), tf.float32)

  def _part(self, name: str, layers: list, training):
    """The fixed parts around the mixed ops: run eagerly (the search's steps), each is one
    compiled function, as every sampled candidate runs through one (`MixedOp`)."""
    def run(x, training=training):
      for layer in layers:
        x = layer(x, training=training)
      return x
    if not tf.executing_eagerly():
      return run
    training = bool(training)
    return cached(self, "_part_functions", (name, training), lambda: lambda x: run(x, training))
