"""ONE builder for the family's plain net and its supernet.

`net_layers(plan_source, decide)` walks a net's blocks in order (a config's: all fixed; a space's
`plan()`: fixed blocks and decisions) and makes the stem, every block and the head; at a decision
it asks `decide(spec, name)` for the layer (TuNAS's `OneOf` given to its model builder, NNI's
`LayerChoice` whose strategy swaps in the mixed layer). The plain net asks for nothing (a derived
config has no decisions left); the supernet answers with a `MixedOp`. So both are the same layers
with the same names, and a weight trained in the supernet has one place in the found net.
"""

from __future__ import annotations

import keras

from proxyless_tf.arch.config import ArchConfigError
from proxyless_tf.families.mobilenet_v3.config import V3Block, V3NetConfig
from proxyless_tf.families.mobilenet_v3.layers import (ConvBNAct, HardSwish, InvertedResidualV3,
                                                       SkippedBlock)
from proxyless_tf.model.layers import dense_initializer
from proxyless_tf.space.space import MixedOpSpec


def _bn(net) -> dict:
  return dict(bn_momentum=net.bn_momentum, bn_epsilon=net.bn_epsilon)


def block_layer(block: V3Block, name: str, net) -> keras.layers.Layer:
  if block.is_zero:
    return SkippedBlock(block.filters, block.stride, name=name)
  return InvertedResidualV3(block.filters, block.kernel_size, block.stride, block.expand_ratio,
                            block.se, block.activation, se_ratio=net.se_ratio, name=name,
                            **_bn(net))


def head_layers(net) -> list:
  """1x1 conv + BN + h-swish, pool, pooled feature layer + h-swish, dropout, classifier."""
  return [ConvBNAct(net.head_filters, 1, 1, "hswish", name="head", **_bn(net)),
          keras.layers.GlobalAveragePooling2D(name="pool"),
          keras.layers.Dense(net.feature_filters, name="feature",
                             kernel_initializer=dense_initializer(net.head_filters)),
          HardSwish(name="feature_act"),
          keras.layers.Dropout(net.dropout, name="dropout"),
          keras.layers.Dense(net.num_classes, name="classifier",
                             kernel_initializer=dense_initializer(net.feature_filters))]


def net_layers(net, decide=None) -> tuple[list, list, list]:
  """(stem, blocks, head) layers of a config or a space (`net.plan()` where it has one);
  `decide(spec, name)` makes the layer of each decision."""
  stem = [ConvBNAct(net.stem_filters, 3, net.stem_stride, "hswish", name="stem", **_bn(net))]
  plan = net.plan() if hasattr(net, "plan") else net.blocks
  blocks = []
  for i, slot in enumerate(plan):
    name = f"block_{i}"
    if isinstance(slot, MixedOpSpec):
      if decide is None:
        raise ValueError("a search space's plan has decisions: pass `decide`")
      blocks.append(decide(slot, name))
    else:
      blocks.append(block_layer(slot, name, net))
  return stem, blocks, head_layers(net)


def build_v3_model(config: V3NetConfig) -> keras.Model:
  """The plain functional Keras model (what is trained, saved and exported)."""
  inputs = keras.Input((config.input_size, config.input_size, config.input_channels), name="image")
  x = inputs
  for layer in sum(net_layers(config), []):
    x = layer(x)
  return keras.Model(inputs, x, name=config.name)


def v3_arch_from_model(model: keras.Model) -> V3NetConfig:
  layers = {layer.name: layer for layer in model.layers}
  for required in ("stem", "head", "feature", "dropout", "classifier"):
    if required not in layers:
      raise ArchConfigError(f"model '{model.name}' has no layer '{required}': it is not a "
                            "MobileNetV3-style net built by proxyless_tf")
  blocks, i = [], 0
  while f"block_{i}" in layers:
    layer = layers[f"block_{i}"]
    if isinstance(layer, SkippedBlock):
      blocks.append(V3Block(filters=layer.filters, stride=layer.strides, zero=True))
    else:
      blocks.append(V3Block(filters=layer.filters, stride=layer.strides,
                            kernel_size=layer.kernel_size, expand_ratio=layer.expand_ratio,
                            se=layer.se, activation=layer.activation))
    i += 1
  real = [layers[f"block_{j}"] for j in range(i)
          if isinstance(layers[f"block_{j}"], InvertedResidualV3)]
  stem = layers["stem"]
  _, size, _, channels = model.inputs[0].shape
  return V3NetConfig(
      blocks=tuple(blocks), name=model.name, input_size=int(size), input_channels=int(channels),
      num_classes=int(layers["classifier"].units), stem_filters=stem.filters,
      stem_stride=stem.strides, head_filters=layers["head"].filters,
      feature_filters=int(layers["feature"].units), se_ratio=real[0].se_ratio if real else 0.25,
      dropout=float(layers["dropout"].rate), bn_momentum=stem.bn_momentum,
      bn_epsilon=stem.bn_epsilon)

