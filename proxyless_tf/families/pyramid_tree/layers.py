"""Keras 3 layers of the PyramidTreeNet family (`config.py` beside this); each round-trips
through get_config.

Everything is pre-activation (BN on the input, ReLU, then the weight op), as the original code's
`bn_act_weight`. Strided convs pad d * (k // 2) zeros on both sides as PyTorch does (TensorFlow's
"same" would put the extra zero after and compute another function from the same weights); at
stride 1 the two agree. Average pooling excludes the padding from the count (Keras "same" and
PyTorch's `count_include_pad=False` agree). Only `keras.ops` is used: the layers run on any
Keras backend.
"""

from __future__ import annotations

import keras

from proxyless_tf.families.pyramid_tree.config import Node, edge_inputs, node_from_dict, parse_op
from proxyless_tf.model.batch_norm import batch_norm
from proxyless_tf.model.layers import SplitDepthwiseConv2D, conv_initializer


def channel_shuffle(x, groups: int):
  """ShuffleNet's shuffle in NHWC, the same permutation as the original `shuffle_layer` in NCHW:
  channels (g, c) -> (c, g). Lowers to RESHAPE, TRANSPOSE, RESHAPE in TFLite."""
  _, h, w, channels = x.shape
  x = keras.ops.reshape(x, (-1, h, w, groups, channels // groups))
  x = keras.ops.transpose(x, (0, 1, 2, 4, 3))
  return keras.ops.reshape(x, (-1, h, w, channels))


@keras.saving.register_keras_serializable(package="proxyless_tf")
class PreActOp(keras.layers.Layer):
  """One tree edge or bottleneck: [BN] -> [ReLU] -> op. `use_bn` / `relu` default to what the op
  name says (convs: both; identity and pools: neither).

  `depthwise_max_taps` (export only, `export/depthwise_split.py`): a separable op whose depthwise
  kernel has more taps runs it as row pieces (`SplitDepthwiseConv2D`, same function, zero bias),
  which XNNPACK runs in one pass each; dilated kernels are left whole."""

  def __init__(self, op: str, filters: int | None = None, strides: int = 1,
               use_bn: bool | None = None, relu: bool | None = None, bn_momentum: float = 0.9,
               bn_epsilon: float = 1e-5, depthwise_max_taps: int | None = None, **kwargs):
    super().__init__(**kwargs)
    self.op, self.filters, self.strides = op, filters, strides
    self.spec = parse_op(op)
    self.use_bn = self.spec.has_weights if use_bn is None else use_bn
    self.relu = self.spec.has_weights if relu is None else relu
    self.bn_momentum, self.bn_epsilon = bn_momentum, bn_epsilon
    self.depthwise_max_taps = depthwise_max_taps
    self.split = (bool(depthwise_max_taps) and self.spec.kind == "sep" and self.spec.dilation == 1
                  and self.spec.kernel_size ** 2 > depthwise_max_taps)
    # strided convs pad explicitly (PyTorch's symmetric zeros); the split layer pads itself
    self.pad = (self.spec.padding if strides > 1 and self.spec.kind != "pool" and not self.split
                else 0)

  def needs_depthwise_split(self, max_taps: int) -> bool:
    """Whether the export's XNNPACK rewrite splits this op (`export/depthwise_split.py`)."""
    return large_separable(self.op, max_taps)

  def build(self, input_shape):
    channels = int(input_shape[-1])
    filters = self.filters or channels
    spec = self.spec
    self.bn = (keras.layers.BatchNormalization(momentum=self.bn_momentum,
                                               epsilon=self.bn_epsilon, name="bn")
               if self.use_bn else None)
    if self.bn is not None:
      self.bn.build(input_shape)
    padding = "valid" if self.pad else "same"
    shape = input_shape
    if self.pad:
      shape = (shape[0], *[None if d is None else d + 2 * self.pad for d in shape[1:3]], shape[3])
    self.depthwise = self.conv = self.pool = None
    if spec.kind == "conv":
      self.conv = keras.layers.Conv2D(
          filters, spec.kernel_size, strides=self.strides, padding=padding,
          dilation_rate=spec.dilation, groups=spec.groups, use_bias=False, name="conv",
          kernel_initializer=conv_initializer(spec.kernel_size, filters))
      self.conv.build(shape)
    elif spec.kind == "sep" and self.split:
      self.depthwise = SplitDepthwiseConv2D(spec.kernel_size, self.strides,
                                            self.depthwise_max_taps, padding="symmetric",
                                            name="depthwise")
      self.depthwise.build(shape)
      self.conv = keras.layers.Conv2D(filters, 1, groups=spec.groups, use_bias=False,
                                      name="pointwise")
      self.conv.build(self.depthwise.compute_output_shape(shape))
    elif spec.kind == "sep":
      self.depthwise = keras.layers.DepthwiseConv2D(
          spec.kernel_size, strides=self.strides, padding=padding, dilation_rate=spec.dilation,
          use_bias=False, name="depthwise",
          depthwise_initializer=conv_initializer(spec.kernel_size, channels))
      self.depthwise.build(shape)
      self.conv = keras.layers.Conv2D(filters, 1, groups=spec.groups, use_bias=False,
                                      name="pointwise", kernel_initializer=conv_initializer(
                                          1, filters))
      self.conv.build(self.depthwise.compute_output_shape(shape))
    elif spec.kind == "pool":
      pool = (keras.layers.MaxPooling2D if spec.pool_type == "max"
              else keras.layers.AveragePooling2D)
      self.pool = pool(spec.kernel_size, strides=self.strides,
                       padding="same" if self.strides == 1 else "valid", name="pool")
    self.built = True

  def call(self, inputs, training=None):
    x = inputs
    if self.bn is not None:
      x = batch_norm(self.bn, x, training)
    if self.relu:
      x = keras.ops.relu(x)
    if self.pad:
      p = self.pad
      x = keras.ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]])
    if self.pool is not None:
      return self.pool(x)
    if self.depthwise is not None:
      x = self.depthwise(x)
    if self.conv is not None:
      x = self.conv(x)
      if self.spec.groups > 1:
        x = channel_shuffle(x, self.spec.groups)
    return x

  def compute_output_shape(self, input_shape):
    size = [None if d is None else self.spec.output_resolution(d, self.strides)
            for d in input_shape[1:3]]
    return (input_shape[0], *size, self.filters or input_shape[-1])

  def get_config(self):
    return {**super().get_config(), "op": self.op, "filters": self.filters,
            "strides": self.strides, "use_bn": self.use_bn, "relu": self.relu,
            "bn_momentum": self.bn_momentum, "bn_epsilon": self.bn_epsilon,
            "depthwise_max_taps": self.depthwise_max_taps}


def large_separable(op: str, max_taps: int) -> bool:
  """A separable edge op whose depthwise kernel has more than `max_taps` taps (dilated ones stay
  whole: XNNPACK has no split form for them)."""
  spec = parse_op(op)
  return spec.kind == "sep" and spec.dilation == 1 and spec.kernel_size ** 2 > max_taps


def path_name(path) -> str:
  return "edge_" + "_".join(map(str, path))


@keras.saving.register_keras_serializable(package="proxyless_tf")
class TreeCell(keras.layers.Layer):
  """A whole tree cell (`Node` as its dict): edges and branch BNs as sub-layers, named by the
  edge's path (`edge_0_1_0`: edge 0 of the root, its child's edge 1, that child's edge 0)."""

  def __init__(self, cell: dict, bn_momentum: float = 0.9, bn_epsilon: float = 1e-5,
               depthwise_max_taps: int | None = None, **kwargs):
    super().__init__(**kwargs)
    self.cell = cell
    self.depthwise_max_taps = depthwise_max_taps
    self.node = node_from_dict(cell, "cell")
    self.bn_momentum, self.bn_epsilon = bn_momentum, bn_epsilon
    self.paths = [path for path, _ in self.node.edge_list()]
    self.edge_index = {path: i for i, path in enumerate(self.paths)}
    self.edge_layers = [self.make_edge(path, edge) for path, edge in self.node.edge_list()]
    self.branch_bn_index: dict = {}
    self.branch_bns = []
    for prefix, node in self._nodes(self.node, ()):
      if node.branch_bn:
        for i in range(len(node.edges)):
          self.branch_bn_index[prefix + (i,)] = len(self.branch_bns)
          self.branch_bns.append(keras.layers.BatchNormalization(
              momentum=bn_momentum, epsilon=bn_epsilon,
              name="branch_bn_" + "_".join(map(str, prefix + (i,)))))

  def _nodes(self, node: Node, prefix):
    yield prefix, node
    for i, edge in enumerate(node.edges):
      if edge.child is not None:
        yield from self._nodes(edge.child, prefix + (i,))

  def make_edge(self, path, edge):
    """The layer of one edge (the search's cell makes some of them mixed ops)."""
    return PreActOp(edge.op, edge.filters, edge.stride, bn_momentum=self.bn_momentum,
                    bn_epsilon=self.bn_epsilon, depthwise_max_taps=self.depthwise_max_taps,
                    name=path_name(path))

  def build(self, input_shape):
    self._build_node(self.node, (), input_shape)
    self.built = True

  def _build_node(self, node: Node, prefix, shape):
    outs = []
    for i, (edge, c_in) in enumerate(zip(node.edges, edge_inputs(node, int(shape[-1])))):
      path = prefix + (i,)
      layer = self.edge_layers[self.edge_index[path]]
      edge_shape = (*shape[:3], c_in)
      layer.build(edge_shape)
      out = layer.compute_output_shape(edge_shape)
      if edge.child is not None:
        out = self._build_node(edge.child, path, out)
      if path in self.branch_bn_index:
        self.branch_bns[self.branch_bn_index[path]].build(out)
      outs.append(out)
    channels = (sum(int(o[-1]) for o in outs) if node.merge == "concat" else int(outs[0][-1]))
    return (*outs[0][:3], channels)

  def call_edge(self, index: int, x, training, mode):
    return self.edge_layers[index](x, training=training)

  def _call_node(self, node: Node, prefix, x, training, mode):
    if node.split == "split":
      sizes = edge_inputs(node, int(x.shape[-1]))
      starts = [sum(sizes[:i]) for i in range(len(sizes))]
      inputs = [x[..., s:s + n] for s, n in zip(starts, sizes)]
    else:
      inputs = [x] * len(node.edges)
    outs = []
    for i, (edge, branch_in) in enumerate(zip(node.edges, inputs)):
      path = prefix + (i,)
      e = self.call_edge(self.edge_index[path], branch_in, training, mode)
      out = e if edge.child is None else self._call_node(edge.child, path, e, training, mode)
      if path in self.branch_bn_index:
        out = batch_norm(self.branch_bns[self.branch_bn_index[path]], out, training) + e
      outs.append(out)
    if node.merge == "concat":
      return keras.ops.concatenate(outs, axis=-1)
    total = outs[0]
    for out in outs[1:]:
      total = total + out
    return total

  def call(self, inputs, training=None, mode: str | None = None):
    return self._call_node(self.node, (), inputs, training, mode)

  def compute_output_shape(self, input_shape):
    from proxyless_tf.families.pyramid_tree.config import walk
    channels, res, _ = walk(self.node, int(input_shape[-1]), int(input_shape[1]), "cell")
    return (input_shape[0], res, res, channels)

  def get_config(self):
    return {**super().get_config(), "cell": self.cell, "bn_momentum": self.bn_momentum,
            "bn_epsilon": self.bn_epsilon, "depthwise_max_taps": self.depthwise_max_taps}


@keras.saving.register_keras_serializable(package="proxyless_tf")
class ResidualTreeBlock(keras.layers.Layer):
  """shortcut(x) [+ zero channels] + final_bn(out_bottle(cell(in_bottle(x))))."""

  cell_class = TreeCell

  def __init__(self, width: int, filters: int, strides: int, cell: dict, final_bn: bool = True,
               bn_momentum: float = 0.9, bn_epsilon: float = 1e-5,
               depthwise_max_taps: int | None = None, **kwargs):
    super().__init__(**kwargs)
    self.depthwise_max_taps = depthwise_max_taps
    self.width, self.filters, self.strides, self.cell_config = width, filters, strides, cell
    self.final_bn_on = final_bn
    self.bn_momentum, self.bn_epsilon = bn_momentum, bn_epsilon
    bn = dict(bn_momentum=bn_momentum, bn_epsilon=bn_epsilon)
    self.in_bottle = PreActOp("conv_1x1", width, relu=False, name="in_bottle", **bn)
    self.cell = self.make_cell(cell, bn)
    self.out_bottle = PreActOp("conv_1x1", filters, relu=True, name="out_bottle", **bn)
    self.final_bn = (keras.layers.BatchNormalization(momentum=bn_momentum, epsilon=bn_epsilon,
                                                     name="final_bn") if final_bn else None)
    self.shortcut = (keras.layers.AveragePooling2D(2, 2, name="shortcut") if strides == 2
                     else None)

  def make_cell(self, cell: dict, bn: dict):
    return TreeCell(cell, name="cell", depthwise_max_taps=self.depthwise_max_taps, **bn)

  def needs_depthwise_split(self, max_taps: int) -> bool:
    """Whether a separable edge of its cell is split by the export's XNNPACK rewrite."""
    return any(large_separable(edge.op, max_taps) for _, edge in self.cell.node.edge_list())

  def build(self, input_shape):
    self.in_bottle.build(input_shape)
    shape = self.in_bottle.compute_output_shape(input_shape)
    self.cell.build(shape)
    shape = self.cell.compute_output_shape(shape)
    self.out_bottle.build(shape)
    if self.final_bn is not None:
      self.final_bn.build(self.out_bottle.compute_output_shape(shape))
    self.built = True

  def call_layer(self, layer, x, training):
    """A bottleneck (the search's block runs it through a shared compiled function)."""
    return layer(x, training=training)

  def call(self, inputs, training=None, mode: str | None = None):
    x = self.call_layer(self.in_bottle, inputs, training)
    x = self.cell(x, training=training, mode=mode)
    x = self.call_layer(self.out_bottle, x, training)
    if self.final_bn is not None:
      x = batch_norm(self.final_bn, x, training)
    skip = inputs if self.shortcut is None else self.shortcut(inputs)
    extra = self.filters - int(inputs.shape[-1])
    if extra:
      skip = keras.ops.pad(skip, [[0, 0], [0, 0], [0, 0], [0, extra]])
    return skip + x

  def compute_output_shape(self, input_shape):
    size = [None if d is None else d // self.strides for d in input_shape[1:3]]
    return (input_shape[0], *size, self.filters)

  def get_config(self):
    return {**super().get_config(), "width": self.width, "filters": self.filters,
            "strides": self.strides, "cell": self.cell_config, "final_bn": self.final_bn_on,
            "bn_momentum": self.bn_momentum, "bn_epsilon": self.bn_epsilon,
            "depthwise_max_taps": self.depthwise_max_taps}
