"""The MBConv family's ONE builder, for the plain net and the supernet, and the config back from a
plain model.

`mbconv_layers(net, decide)` yields a net's layers in order (stem, blocks, head conv, pool,
dropout, classifier) for a config (every block fixed) or a space (`plan()`: the fixed first
block, then one decision per searchable block, where it asks `decide(spec)` for the layer: the
supernet's MixedOp; TuNAS's `OneOf` given to its model builder). It yields one layer at a time, so
the plain net makes and calls each before making the next, and every initializer draws in the
order it always did.

The model carries everything needed to recover its config (layer configs plus the input shape),
so `mbconv_arch_from_model(keras.Model.from_config(model.get_config()))` gives back the config.
"""

from __future__ import annotations

import keras

from proxyless_tf.arch.config import ArchConfigError
from proxyless_tf.families.mbconv.config import MBCONV, ZERO, ArchConfig, Block
from proxyless_tf.families.mbconv.layers import ConvBNReLU, MBConv, ZeroBlock
from proxyless_tf.model.builder import classifier_layers
from proxyless_tf.space.space import MixedOpSpec


def mbconv_layers(net, decide=None, block_name=lambda i: f"block_{i}"):
  """The layers of a config or a space, in order; `block_name(i)` names fixed block i (the
  supernet keeps the names its checkpoints carry)."""
  common = dict(bn_momentum=net.bn_momentum, bn_epsilon=net.bn_epsilon, padding=net.padding)
  yield ConvBNReLU(net.stem_filters, getattr(net, "stem_kernel_size", 3), net.stem_stride,
                   name="stem", **common)
  for i, slot in enumerate(net.plan() if hasattr(net, "plan") else net.blocks):
    if isinstance(slot, MixedOpSpec):
      if decide is None:
        raise ValueError("a search space's plan has decisions: pass `decide`")
      yield decide(slot)
    elif slot.is_zero:
      yield ZeroBlock(slot.filters, slot.stride, name=block_name(i))
    else:
      yield MBConv(slot.filters, slot.kernel_size, slot.stride, slot.expand_ratio,
                   name=block_name(i), **common)
  yield ConvBNReLU(net.head_filters, 1, 1, name="head", **common)
  yield from classifier_layers(net)


def build_mbconv_model(config: ArchConfig) -> keras.Model:
  """The plain functional Keras model (what is trained, saved and exported)."""
  inputs = keras.Input((config.input_size, config.input_size, config.input_channels), name="image")
  x = inputs
  for layer in mbconv_layers(config):
    x = layer(x)
  return keras.Model(inputs, x, name=config.name)


def mbconv_arch_from_model(model: keras.Model) -> ArchConfig:
  layers = {layer.name: layer for layer in model.layers}
  for required in ("stem", "head", "dropout", "classifier"):
    if required not in layers:
      raise ArchConfigError(f"model '{model.name}' has no layer '{required}'; "
                            "it was not built by proxyless_tf.model.build_model")
  blocks = []
  i = 0
  while f"block_{i}" in layers:
    layer = layers[f"block_{i}"]
    if isinstance(layer, ZeroBlock):
      blocks.append(Block(filters=layer.filters, stride=layer.strides, type=ZERO))
    else:
      blocks.append(Block(filters=layer.filters, stride=layer.strides, type=MBCONV,
                          kernel_size=layer.kernel_size, expand_ratio=layer.expand_ratio))
    i += 1
  stem, head = layers["stem"], layers["head"]
  _, size, _, channels = model.inputs[0].shape
  return ArchConfig(
      name=model.name, blocks=tuple(blocks), input_size=int(size), input_channels=int(channels),
      num_classes=int(layers["classifier"].units), stem_filters=stem.filters,
      stem_kernel_size=stem.kernel_size, stem_stride=stem.strides, head_filters=head.filters,
      dropout=float(layers["dropout"].rate), bn_momentum=stem.bn_momentum,
      bn_epsilon=stem.bn_epsilon, padding=getattr(stem, "padding", "same"))
