"""The tree-cell family's ONE builder (`tree_layers`: the plain net's and the supernet's layers, in
order; the supernet's blocks hold mixed ops on their cell edges, `supernet.py`), and the config
back from a plain model.

It yields one layer at a time, so the plain net makes and calls each before making the next, and
every initializer draws in the order it always did."""

from __future__ import annotations

import keras

from proxyless_tf.arch.config import ArchConfigError
from proxyless_tf.families.pyramid_tree.config import TreeBlock, TreeNetConfig, node_from_dict
from proxyless_tf.families.pyramid_tree.layers import ResidualTreeBlock
from proxyless_tf.model.builder import classifier_layers
from proxyless_tf.model.layers import conv_initializer


def tree_layers(net, blocks):
  """stem conv, stem BN, the blocks (`blocks`: an iterable of block layers, made as they are
  drawn), head BN, ReLU, pool, dropout, classifier."""
  bn = dict(momentum=net.bn_momentum, epsilon=net.bn_epsilon)
  yield keras.layers.Conv2D(net.stem_filters, 3, padding="same", use_bias=False, name="stem",
                            kernel_initializer=conv_initializer(3, net.stem_filters))
  yield keras.layers.BatchNormalization(name="stem_bn", **bn)
  yield from blocks
  yield keras.layers.BatchNormalization(name="head_bn", **bn)
  yield keras.layers.ReLU(name="head_relu")
  yield from classifier_layers(net)


def build_tree_model(config: TreeNetConfig) -> keras.Model:
  """The plain functional Keras model (what is trained, saved and exported)."""
  blocks = (ResidualTreeBlock(block.width, block.filters, block.stride, block.cell.to_dict(),
                              block.final_bn, bn_momentum=config.bn_momentum,
                              bn_epsilon=config.bn_epsilon, name=f"block_{i}")
            for i, block in enumerate(config.blocks))
  inputs = keras.Input((config.input_size, config.input_size, config.input_channels), name="image")
  x = inputs
  for layer in tree_layers(config, blocks):
    x = layer(x)
  return keras.Model(inputs, x, name=config.name)


def tree_arch_from_model(model: keras.Model) -> TreeNetConfig:
  layers = {layer.name: layer for layer in model.layers}
  if "stem_bn" not in layers or "classifier" not in layers:
    raise ArchConfigError(f"model '{model.name}' is not a tree-cell net built by proxyless_tf")
  blocks, i = [], 0
  while f"block_{i}" in layers:
    layer = layers[f"block_{i}"]
    blocks.append(TreeBlock(width=layer.width, filters=layer.filters, stride=layer.strides,
                            cell=node_from_dict(layer.cell_config, f"block {i} cell"),
                            final_bn=layer.final_bn_on))
    i += 1
  _, size, _, channels = model.inputs[0].shape
  stem_bn = layers["stem_bn"]
  return TreeNetConfig(blocks=tuple(blocks), name=model.name, input_size=int(size),
                       input_channels=int(channels),
                       num_classes=int(layers["classifier"].units),
                       stem_filters=int(layers["stem"].filters),
                       dropout=float(layers["dropout"].rate), bn_momentum=stem_bn.momentum,
                       bn_epsilon=stem_bn.epsilon)
