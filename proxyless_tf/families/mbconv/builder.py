"""The MBConv family's builder: config -> plain functional Keras model, and back.

The model carries everything needed to recover its config (layer configs plus the input shape),
so `mbconv_arch_from_model(keras.Model.from_config(model.get_config()))` gives back the config.
"""

from __future__ import annotations

import keras

from proxyless_tf.arch.config import ArchConfigError
from proxyless_tf.families.mbconv.config import MBCONV, ZERO, ArchConfig, Block
from proxyless_tf.model.builder import classifier_head
from proxyless_tf.families.mbconv.layers import ConvBNReLU, MBConv, ZeroBlock


def build_mbconv_model(config: ArchConfig) -> keras.Model:
  """The MBConv family's builder."""
  common = dict(bn_momentum=config.bn_momentum, bn_epsilon=config.bn_epsilon,
                padding=config.padding)
  inputs = keras.Input((config.input_size, config.input_size, config.input_channels), name="image")
  x = ConvBNReLU(config.stem_filters, config.stem_kernel_size, config.stem_stride, name="stem",
                 **common)(inputs)
  for i, block in enumerate(config.blocks):
    if block.is_zero:
      x = ZeroBlock(block.filters, block.stride, name=f"block_{i}")(x)
    else:
      x = MBConv(block.filters, block.kernel_size, block.stride, block.expand_ratio,
                 name=f"block_{i}", **common)(x)
  x = ConvBNReLU(config.head_filters, 1, 1, name="head", **common)(x)
  return keras.Model(inputs, classifier_head(x, config), name=config.name)


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
