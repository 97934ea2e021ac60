"""The supernet: the space's fixed parts (plain layers) around one MixedOp per decision."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from proxyless_tf.model.layers import ConvBNReLU, MBConv, dense_initializer
from proxyless_tf.space.space import SearchSpace
from proxyless_tf.supernet.mixed_op import MixedOp
from proxyless_tf.utils.compiled import cached


def entropy_nats(probabilities) -> float:
  """Sum over the decisions of each one's entropy (nats): the search's spread over architectures."""
  return float(sum(-(np.asarray(p, np.float64) * np.log(np.asarray(p, np.float64) + 1e-12)).sum()
                   for p in probabilities))


class SupernetArch:
  """What the search needs of a supernet of any space family: its mixed ops (`self.mixed_ops`, in
  the space's decision order), their logits apart from the weights, and the architecture."""

  # -- variable collections ------------------------------------------------------------------------

  @property
  def arch_variables(self) -> list:
    return [op.alpha for op in self.mixed_ops]

  @property
  def weight_variables(self) -> list:
    arch = {id(v) for v in self.arch_variables}
    return [v for v in self.trainable_variables if id(v) not in arch]

  # -- the architecture ----------------------------------------------------------------------------

  def probabilities(self) -> list[np.ndarray]:
    return [tf.nn.softmax(op.alpha).numpy() for op in self.mixed_ops]

  def argmax_choices(self) -> list[int]:
    return [int(np.argmax(op.alpha.numpy())) for op in self.mixed_ops]

  def derive(self, name: str | None = None):
    return self.space.derive(self.argmax_choices(), name=name)

  def set_active(self, choices) -> None:
    for op, choice in zip(self.mixed_ops, choices):
      op.active.assign(int(choice))

  def entropy(self) -> float:
    return entropy_nats(self.probabilities())


def build_supernet(space, weight_sharing: str = "independent"):
  """The supernet of a space of any family (its family's builder)."""
  from proxyless_tf.families import family_of
  return family_of(space).build_supernet(space, weight_sharing)


class Supernet(SupernetArch, keras.Model):
  """MobileNetV2-style: `call(x, training, mode)`; architecture logits and weights are separate
  variable lists."""

  def __init__(self, space: SearchSpace, weight_sharing: str = "independent", **kwargs):
    super().__init__(name=kwargs.pop("name", f"supernet_{space.name}"), **kwargs)
    self.space = space
    self.weight_sharing = weight_sharing
    bn = dict(bn_momentum=space.bn_momentum, bn_epsilon=space.bn_epsilon, padding=space.padding)
    self.stem = ConvBNReLU(space.stem_filters, 3, space.stem_stride, name="stem", **bn)
    first = space.first_block()
    self.first_block = MBConv(first.filters, first.kernel_size, first.stride, first.expand_ratio,
                              name="first_block", **bn)
    self.mixed_ops = [MixedOp(spec.filters, spec.stride, spec.candidates, spec.has_residual,
                              weight_sharing=weight_sharing, name=f"mixed_{spec.index}", **bn)
                      for spec in space.mixed_ops()]
    self.head = ConvBNReLU(space.head_filters, 1, 1, name="head", **bn)
    self.pool = keras.layers.GlobalAveragePooling2D(name="pool")
    self.dropout = keras.layers.Dropout(space.dropout, name="dropout")
    self.classifier = keras.layers.Dense(space.num_classes, name="classifier",
                                         kernel_initializer=dense_initializer(space.head_filters))
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
