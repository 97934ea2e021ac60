"""The ops of a tree-cell net, for latency tables and the FLOPs stand-in (see `latency/ops.py`).

  tree_stem-input:32x32x3-output:32x32x16                                  (3x3 conv + BN)
  tree_block-input:32x32x72-output:32x32x72-width:18-stride:1              (in / out bottleneck,
                                                                            final BN, shortcut)
  tree_edge-input:32x32x18-output:32x32x18-op:sep_5x5-stride:1             (one cell edge)
  tree_head-input:8x8x400-output:10                                        (BN, ReLU, pool, dense)

Every edge, the root's grouped conv too, is its own op, so a table prices any tree config, not
only the search space's cell shape; what the parts cost together (branch BNs, adds, the split) is
left to the table's correction, fitted on whole nets as for the MobileNetV2 family.
"""

from __future__ import annotations

import dataclasses

from proxyless_tf.families.pyramid_tree.config import parse_op, walk
from proxyless_tf.latency.ops import OpSpec


@dataclasses.dataclass(frozen=True)
class TreeOpSpec(OpSpec):
  """An `OpSpec` with what a tree op adds: a block's bottleneck width, an edge's op name."""

  width: int = 0
  edge: str = ""


def stem_op(config_or_space):
  s = config_or_space
  return TreeOpSpec("tree_stem", s.input_size, s.input_channels, s.stem_filters, 3)


def head_op(resolution: int, channels: int, num_classes: int):
  return TreeOpSpec("tree_head", resolution, channels, num_classes)


def block_op(resolution: int, in_channels: int, width: int, filters: int, stride: int,
             position: int | None = None):
  return TreeOpSpec("tree_block", resolution, in_channels, filters, 1, 1, stride,
                    position=position, width=width)


def edge_op(resolution: int, in_channels: int, out_channels: int, op: str, stride: int,
            position: int | None = None):
  return TreeOpSpec("tree_edge", resolution, in_channels, out_channels, parse_op(op).kernel_size,
                    1, stride, position=position, edge=op)


def _cell_edge_ops(node, channels: int, resolution: int, position: int):
  shapes = walk(node, channels, resolution, "cell")[2]
  ops = []

  def visit(node, where, res):
    shape = shapes[where]
    for i, (edge, (c_in, c_out, out_res)) in enumerate(zip(node.edges, shape.edges)):
      ops.append(edge_op(res, c_in, c_out, edge.op, edge.stride, position))
      if edge.child is not None:
        visit(edge.child, f"{where}.{i}", out_res)

  visit(node, "cell", resolution)
  return ops


def tree_arch_ops(config) -> list:
  ops = [stem_op(config)]
  for i, (block, (res, channels)) in enumerate(zip(config.blocks, config.block_inputs())):
    ops.append(block_op(res, channels, block.width, block.filters, block.stride, i))
    ops.extend(_cell_edge_ops(block.cell, block.width, res, i))
  ops.append(head_op(config.final_resolution, config.head_filters, config.num_classes))
  return ops


def tree_space_ops(space):
  """(fixed ops, per mixed op the op of each candidate): the space's blocks with the first
  candidate in every searchable edge give the fixed ops (everything but those edges)."""
  fixed, candidates, position = [stem_op(space)], [], 0
  arch = space.derive([0] * len(space.mixed_ops()))
  specs = iter(space.mixed_ops())
  for i, (block, (res, channels)) in enumerate(zip(arch.blocks, arch.block_inputs())):
    fixed.append(block_op(res, channels, block.width, block.filters, block.stride, i))
    edges = _cell_edge_ops(block.cell, block.width, res, i)
    fixed.append(edges[0])  # the root's grouped conv
    for op in edges[1:]:
      spec = next(specs)
      candidates.append([edge_op(op.resolution, op.in_channels, op.out_channels, c.op, 1, i)
                         for c in spec.candidates])
    position += 1
  fixed.append(head_op(arch.final_resolution, arch.head_filters, arch.num_classes))
  return fixed, candidates


def tree_op_key(op) -> str:
  inp = f"input:{op.resolution}x{op.resolution}x{op.in_channels}"
  if op.kind == "tree_head":
    return f"tree_head-{inp}-output:{op.out_channels}"
  res = op.resolution if op.kind == "tree_stem" else _out_res(op)
  out = f"output:{res}x{res}x{op.out_channels}"
  if op.kind == "tree_block":
    return f"tree_block-{inp}-{out}-width:{op.width}-stride:{op.stride}"
  if op.kind == "tree_edge":
    return f"tree_edge-{inp}-{out}-op:{op.edge}-stride:{op.stride}"
  return f"{op.kind}-{inp}-{out}"


def _out_res(op) -> int:
  if op.kind == "tree_edge":
    return parse_op(op.edge).output_resolution(op.resolution, op.stride)
  return op.resolution // op.stride


def tree_op_macs(op) -> int:
  r = op.resolution
  if op.kind == "tree_stem":
    return r * r * 9 * op.in_channels * op.out_channels
  if op.kind == "tree_head":
    return op.in_channels * op.out_channels
  if op.kind == "tree_block":
    o = r // op.stride
    return r * r * op.in_channels * op.width + o * o * op.width * op.out_channels
  return parse_op(op.edge).macs(_out_res(op), op.in_channels, op.out_channels)


def tree_op_features(op) -> tuple[int, int, int]:
  """(MACs, values moved, TFLite layers) of one op, for the phone estimate (`latency/estimate.py`):
  what each op reads, writes and holds as weights, and the layers the converter makes of it (a
  pre-activation BN cannot fold into the conv after it: a MUL and an ADD, with the ReLU fused)."""
  r, c_in, c_out = op.resolution, op.in_channels, op.out_channels
  if op.kind == "tree_stem":  # conv + BN, folded
    return op.macs, r * r * (c_in + c_out) + 9 * c_in * c_out, 1
  if op.kind == "tree_head":  # BN (MUL, ADD + ReLU), MEAN, FULLY_CONNECTED
    return op.macs, 2 * r * r * c_in + c_in * c_out + c_out, 4
  o = _out_res(op)
  if op.kind == "tree_block":  # BN, 1x1 conv; BN + ReLU, 1x1 conv (final BN folded); ADD
    values = (3 * r * r * c_in + o * o * (3 * op.width + 2 * c_out) + c_in * op.width
              + op.width * c_out)
    extra = (2 if op.stride > 1 else 0) + (1 if c_out > c_in else 0)  # slice + pool, pad
    return op.macs, values, 6 + extra
  spec = parse_op(op.edge)
  values = r * r * c_in + o * o * c_out  # read the input, write the output
  layers = {"identity": 1, "pool": 1, "conv": 1, "sep": 2}[spec.kind]
  if spec.has_weights:
    values += 2 * r * r * c_in + spec.params(c_in, c_out)[0]  # the BN's output, weights
    layers += 2 + (1 if op.stride > 1 else 0) + (3 if spec.groups > 1 else 0)  # pad, shuffle
  if spec.kind == "sep":
    values += 2 * o * o * c_in  # the depthwise output, written and read
  if spec.kind == "pool":  # no MACs, but a compare or add per window tap
    return o * o * c_out * spec.kernel_size ** 2, values, layers
  return op.macs, values, layers


def tree_op_model(op):
  """A Keras model of one op, to time (`latency/measure.py`)."""
  import keras
  from proxyless_tf.families.pyramid_tree.layers import PreActOp
  inputs = keras.Input((op.resolution, op.resolution, op.in_channels))
  if op.kind == "tree_stem":
    x = keras.layers.Conv2D(op.out_channels, 3, padding="same", use_bias=False)(inputs)
    x = keras.layers.BatchNormalization()(x)
  elif op.kind == "tree_head":
    x = keras.layers.GlobalAveragePooling2D()(
        keras.ops.relu(keras.layers.BatchNormalization()(inputs)))
    x = keras.layers.Dense(op.out_channels)(x)
  elif op.kind == "tree_block":
    x = PreActOp("conv_1x1", op.width, relu=False)(inputs)
    if op.stride > 1:  # the cell's downsampling, as a strided slice (the cell's own is an edge)
      x = x[:, ::op.stride, ::op.stride, :]
    x = keras.layers.BatchNormalization()(PreActOp("conv_1x1", op.out_channels, relu=True)(x))
    skip = inputs if op.stride == 1 else keras.layers.AveragePooling2D(2, 2)(inputs)
    if op.out_channels > op.in_channels:
      skip = keras.ops.pad(skip, [[0, 0], [0, 0], [0, 0], [0, op.out_channels - op.in_channels]])
    x = x + skip
  else:
    spec = parse_op(op.edge)
    x = PreActOp(op.edge, op.out_channels if spec.has_weights else None, op.stride)(inputs)
    if spec.kind == "identity":
      x = x + 0.0  # an identity has no op: time the copy a branch makes
  return keras.Model(inputs, x)
