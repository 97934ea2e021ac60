"""The ops of a MobileNetV3-style net, for latency tables, the FLOPs stand-in and the phone
estimate (see `latency/ops.py`):

  v3_stem-input:224x224x3-output:112x112x16                                  (3x3 conv, BN, h-swish)
  v3_block-input:56x56x24-output:28x28x40-expand:3-kernel:5-stride:2-se:1-act:relu-idskip:0
  v3_head-input:7x7x160-output:1000-head:960-feature:1280     (1x1 conv, pool, feature, classifier)

A block is one op with everything it chose (kernel, expansion, SE, activation) in its key, so a
table measured for a space prices every net derived from it; what the parts cost together is
left to the table's correction, fitted on whole nets as for the other families.
"""

from __future__ import annotations

import dataclasses
import types

import keras

from proxyless_tf.arch.config import conv_output_size
from proxyless_tf.families.mobilenet_v3.config import V3Block, expanded_channels, has_residual
from proxyless_tf.families.mobilenet_v3.stats import block_counts, conv_bn, head_counts
from proxyless_tf.latency.ops import OpSpec
from proxyless_tf.space.space import MixedOpSpec

OP_KINDS = ("v3_stem", "v3_block", "v3_head")


@dataclasses.dataclass(frozen=True)
class V3OpSpec(OpSpec):
  """An `OpSpec` with what a V3 block chooses beyond an MBConv's kernel and expansion."""

  se: bool = False
  activation: str = ""
  se_ratio: float = 0.25
  head_filters: int = 0  # v3_head: its 1x1 conv's width
  feature_filters: int = 0  # v3_head: the pooled feature layer's width


def stem_op(net) -> V3OpSpec:
  return V3OpSpec("v3_stem", net.input_size, net.input_channels, net.stem_filters, 3, 1,
                  net.stem_stride)


def head_op(net, resolution: int, channels: int) -> V3OpSpec:
  return V3OpSpec("v3_head", resolution, channels, net.num_classes,
                  head_filters=net.head_filters, feature_filters=net.feature_filters)


def block_op(resolution: int, in_channels: int, block: V3Block, se_ratio: float,
             position: int | None = None) -> V3OpSpec | None:
  """The op of one block, or None for `zero` (a skipped block costs nothing)."""
  if block.is_zero:
    return None
  return V3OpSpec("v3_block", resolution, in_channels, block.filters, block.kernel_size,
                  block.expand_ratio, block.stride, has_residual(in_channels, block), position,
                  se=block.se, activation=block.activation, se_ratio=se_ratio)


def v3_arch_ops(config) -> list:
  blocks = [block_op(res, channels, block, config.se_ratio, i)
            for i, (block, (res, channels)) in enumerate(zip(config.blocks,
                                                             config.block_inputs()))]
  return ([stem_op(config)] + [op for op in blocks if op is not None]
          + [head_op(config, config.final_resolution, config.blocks[-1].filters)])


def v3_space_ops(space):
  """(fixed ops, per mixed op the op of each candidate or None for zero)."""
  fixed, candidates = [stem_op(space)], []
  res, channels = conv_output_size(space.input_size, space.stem_stride), space.stem_filters
  for i, slot in enumerate(space.plan()):
    if isinstance(slot, MixedOpSpec):
      candidates.append([None if c.is_zero else block_op(
          slot.resolution, slot.in_channels, c.block(slot.filters, slot.stride), space.se_ratio, i)
          for c in slot.candidates])
      stride, filters = slot.stride, slot.filters
    else:
      fixed.append(block_op(res, channels, slot, space.se_ratio, i))
      stride, filters = slot.stride, slot.filters
    res, channels = conv_output_size(res, stride), filters
  fixed.append(head_op(space, res, channels))
  return fixed, candidates


def _as_block(op) -> V3Block:
  return V3Block(op.out_channels, op.stride, op.kernel_size, op.expand_ratio, op.se,
                 op.activation)


def _head_net(op):
  return types.SimpleNamespace(head_filters=op.head_filters, feature_filters=op.feature_filters,
                               num_classes=op.out_channels)


def v3_op_key(op) -> str:
  inp = f"input:{op.resolution}x{op.resolution}x{op.in_channels}"
  if op.kind == "v3_head":
    return f"v3_head-{inp}-output:{op.out_channels}-head:{op.head_filters}-feature:" \
        f"{op.feature_filters}"
  o = op.out_resolution
  out = f"output:{o}x{o}x{op.out_channels}"
  if op.kind == "v3_stem":
    return f"v3_stem-{inp}-{out}"
  ratio = f"-se_ratio:{op.se_ratio:g}" if op.se and op.se_ratio != 0.25 else ""
  return (f"v3_block-{inp}-{out}-expand:{op.expand_ratio:g}-kernel:{op.kernel_size}"
          f"-stride:{op.stride}-se:{int(op.se)}{ratio}-act:{op.activation}"
          f"-idskip:{int(op.idskip)}")


def v3_op_macs(op) -> int:
  if op.kind == "v3_stem":
    return conv_bn(op.out_resolution, 3, op.in_channels, op.out_channels)[2]
  if op.kind == "v3_head":
    return head_counts(op.resolution, op.in_channels, _head_net(op))[2]
  return block_counts(op.resolution, op.in_channels, _as_block(op), op.se_ratio)[2]


def v3_op_model(op) -> keras.Model:
  """One op alone as a Keras model (what a latency table times)."""
  from proxyless_tf.families.mobilenet_v3.builder import head_layers
  from proxyless_tf.families.mobilenet_v3.layers import ConvBNAct, InvertedResidualV3
  x = inputs = keras.Input((op.resolution, op.resolution, op.in_channels))
  if op.kind == "v3_stem":
    layers = [ConvBNAct(op.out_channels, 3, op.stride, "hswish", name="stem")]
  elif op.kind == "v3_head":
    net = _head_net(op)
    net.dropout, net.bn_momentum, net.bn_epsilon = 0.0, 0.99, 1e-3
    layers = head_layers(net)
  else:
    layers = [InvertedResidualV3(op.out_channels, op.kernel_size, op.stride, op.expand_ratio,
                                 op.se, op.activation, residual=op.idskip, se_ratio=op.se_ratio,
                                 name="block")]
  for layer in layers:
    x = layer(x)
  return keras.Model(inputs, x, name=v3_op_key(op).split("-")[0])


def v3_op_features(op) -> tuple[int, int, int]:
  """(MACs, values moved, TFLite layers) of one op, for the phone estimate: what it reads,
  writes and holds as weights, and the layers the converter makes of it (BNs fold into the
  convs; h-swish is one HARD_SWISH; the SE is MEAN, two CONV_2D, the gate's ADD, RELU6, MUL and
  the scaling MUL)."""
  r, c_in, c_out = op.resolution, op.in_channels, op.out_channels
  hswish = 1 if op.activation == "hswish" else 0
  if op.kind == "v3_stem":
    o = op.out_resolution
    return v3_op_macs(op), r * r * c_in + 3 * o * o * c_out + 9 * c_in * c_out, 2
  if op.kind == "v3_head":
    values = r * r * c_in + 3 * r * r * op.head_filters + c_in * op.head_filters \
        + op.head_filters * op.feature_filters + op.feature_filters * c_out
    return v3_op_macs(op), values, 5
  o = op.out_resolution
  mid = expanded_channels(c_in, op.expand_ratio)
  expand = op.expand_ratio != 1
  values = r * r * c_in + o * o * c_out + block_counts(r, c_in, _as_block(op), op.se_ratio)[0]
  values += (1 + 2 * hswish) * (r * r * mid if expand else 0)  # the expand conv's output
  values += (2 + 2 * hswish) * o * o * mid  # the depthwise output, read by the project conv
  layers = 2 + (1 if expand else 0) + hswish * (2 if expand else 1)
  if op.se:
    values += 2 * o * o * mid  # pooled, then scaled
    layers += 7
  if op.idskip:
    values += o * o * c_out
    layers += 1
  return v3_op_macs(op), values, layers
