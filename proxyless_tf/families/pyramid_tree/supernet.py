"""The tree-cell supernet: the family's one builder (`builder.tree_layers`) whose blocks' cells
hold a `MixedOp` on every searchable edge (the cell asks `make_edge` at each edge). The mixed op and the search are the MobileNetV2
space's; only which layer holds the mixed ops differs."""

from __future__ import annotations

import keras
import tensorflow as tf

from proxyless_tf.families.pyramid_tree.builder import tree_layers
from proxyless_tf.families.pyramid_tree.config import binary_cell
from proxyless_tf.families.pyramid_tree.layers import ResidualTreeBlock, TreeCell, path_name
from proxyless_tf.model.shared_call import run_layer
from proxyless_tf.supernet.mixed_op import MixedOp
from proxyless_tf.supernet.supernet import SupernetArch


class SearchTreeCell(TreeCell):
  """A tree cell whose edges below the root are mixed ops over `candidates`."""

  def __init__(self, cell: dict, candidates, weight_sharing: str, width: int, **kwargs):
    self.search_candidates = tuple(candidates)
    self.width = width  # what every searchable edge of a `binary_cell` maps to itself
    self.weight_sharing = weight_sharing
    super().__init__(cell, **kwargs)
    self.mixed_ops = [layer for path, layer in zip(self.paths, self.edge_layers) if len(path) > 1]

  def make_edge(self, path, edge):
    if len(path) == 1:  # the root's grouped conv is fixed
      return super().make_edge(path, edge)
    return MixedOp(self.width, 1, self.search_candidates, residual=False,
                   bn_momentum=self.bn_momentum, bn_epsilon=self.bn_epsilon,
                   weight_sharing=self.weight_sharing, padding="symmetric", name=path_name(path))

  def call_edge(self, index, x, training, mode):
    layer = self.edge_layers[index]
    if isinstance(layer, MixedOp):
      return layer(x, training=training, mode=mode or "single")
    return run_layer(layer, x, training)


class SearchTreeBlock(ResidualTreeBlock):

  def __init__(self, *args, candidates=(), weight_sharing="independent", **kwargs):
    self.search_candidates = tuple(candidates)
    self.weight_sharing = weight_sharing
    super().__init__(*args, **kwargs)

  def call_layer(self, layer, x, training):
    return run_layer(layer, x, training)

  def make_cell(self, cell, bn):
    return SearchTreeCell(cell, self.search_candidates, self.weight_sharing, self.width,
                          name="cell", **bn)


class TreeSupernet(SupernetArch, keras.Model):
  """`call(x, training, mode)` as the MobileNetV2-style `Supernet`."""

  def __init__(self, space, weight_sharing: str = "independent", **kwargs):
    super().__init__(name=kwargs.pop("name", f"supernet_{space.name}"), **kwargs)
    self.space = space
    self.weight_sharing = weight_sharing
    placeholder = [space.candidates[0].op] * space.edges_per_cell
    blocks = (SearchTreeBlock(width, 4 * width, stride,
                              binary_cell(width, stride, placeholder, space.depth).to_dict(),
                              bn_momentum=space.bn_momentum, bn_epsilon=space.bn_epsilon,
                              candidates=space.candidates, weight_sharing=weight_sharing,
                              name=f"block_{i}")
              for i, (width, stride) in enumerate(zip(space.widths(), space.strides())))
    (self.stem, self.stem_bn, *self.blocks, self.head_bn, self.head_relu, self.pool, self.dropout,
     self.classifier) = tree_layers(space, blocks)
    self.mixed_ops = [op for block in self.blocks for op in block.cell.mixed_ops]
    self.build((None, space.input_size, space.input_size, space.input_channels))

  def build(self, input_shape):
    self.stem.build(input_shape)
    shape = self.stem.compute_output_shape(input_shape)
    self.stem_bn.build(shape)
    for block in self.blocks:
      block.build(shape)
      shape = block.compute_output_shape(shape)
    self.head_bn.build(shape)
    self.classifier.build((None, shape[-1]))
    self.built = True

  def call(self, inputs, training=None, mode: str = "single"):
    x = run_layer(self.stem_bn, run_layer(self.stem, inputs, training), training)
    for block in self.blocks:
      x = block(x, training=training, mode=mode)
    x = self.pool(self.head_relu(self.head_bn(x, training=training)))
    return tf.cast(self.classifier(self.dropout(x, training=training)), tf.float32)
