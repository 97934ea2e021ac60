"""The MBConv family's supernet: the family's one builder (`builder.mbconv_layers`) with a
MixedOp at every decision, around the space's fixed parts."""

from __future__ import annotations

import keras
import tensorflow as tf

from proxyless_tf.families.mbconv.builder import mbconv_layers
from proxyless_tf.families.mbconv.space import SearchSpace
from proxyless_tf.supernet.mixed_op import MixedOp
from proxyless_tf.supernet.supernet import SupernetArch
from proxyless_tf.utils.compiled import cached


class Supernet(SupernetArch, keras.Model):
  """MobileNetV2-style: `call(x, training, mode)`; architecture logits and weights are separate
  variable lists."""

  def __init__(self, space: SearchSpace, weight_sharing: str = "independent", **kwargs):
    super().__init__(name=kwargs.pop("name", f"supernet_{space.name}"), **kwargs)
    self.space = space
    self.weight_sharing = weight_sharing
    bn = dict(bn_momentum=space.bn_momentum, bn_epsilon=space.bn_epsilon, padding=space.padding)

    def decide(spec):
      return MixedOp(spec.filters, spec.stride, spec.candidates, spec.has_residual,
                     weight_sharing=weight_sharing, name=f"mixed_{spec.index}", **bn)

    # the names its checkpoints carry: `first_block`, `mixed_N`
    (self.stem, self.first_block, *self.mixed_ops, self.head, self.pool, self.dropout,
     self.classifier) = mbconv_layers(space, decide, block_name=lambda i: "first_block")
    self.build((None, space.input_size, space.input_size, space.input_channels))

  def build(self, input_shape):
    shape = input_shape
    for layer in [self.stem, self.first_block, *self.mixed_ops, self.head]:
      layer.build(shape)
      shape = layer.compute_output_shape(shape)
    self.classifier.build((None, self.space.head_filters))
    self.built = True

  def call(self, inputs, training=None, mode: str = "single"):
    x = self._part("front", self._front, training)(inputs)
    for op in self.mixed_ops:
      x = op(x, training=training, mode=mode)
    return self._part("back", self._back, training)(x)

  def _front(self, inputs, training):
    return self.first_block(self.stem(inputs, training=training), training=training)

  def _back(self, x, training):
    x = self.pool(self.head(x, training=training))
    # float32 logits under a mixed-precision policy: the loss and its gradients start in float32
    return tf.cast(self.classifier(self.dropout(x, training=training)), tf.float32)

  def _part(self, name: str, fn, training):
    """The fixed parts around the mixed ops: run eagerly (the search's steps), each is one
    compiled function, as every sampled candidate runs through one (`MixedOp._run_compiled`)."""
    if not tf.executing_eagerly():
      return lambda x: fn(x, training)
    training = bool(training)
    return cached(self, "_part_functions", (name, training),
                  lambda: lambda x: fn(x, training))
